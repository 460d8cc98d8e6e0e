package redisproc

import "testing"

// ParseInfo keeps every field of every section, values whole (a cmdstat line's own colons
// and commas included), and skips headers and blank lines.
func TestParseInfo(t *testing.T) {
	text := "# Server\r\nredis_version:7.2.4\r\nrun_id:abc\r\n\r\n# Commandstats\r\n" +
		"cmdstat_get:calls=12,usec=30\r\n# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n"
	got := ParseInfo(text)
	want := map[string]string{"redis_version": "7.2.4", "run_id": "abc", "cmdstat_get": "calls=12,usec=30",
		"role": "slave", "master_host": "127.0.0.1"}
	if len(got) != len(want) {
		t.Errorf("ParseInfo = %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if InfoField(text, "role") != "slave" || InfoField(text, "missing") != "" {
		t.Errorf("InfoField: role %q, missing %q", InfoField(text, "role"), InfoField(text, "missing"))
	}
}
