package scenarios

import (
	"strings"
	"testing"
)

func TestWritesFalse(t *testing.T) {
	base := "duration: 10s\nrate: {rps: 10}\npopulation: {users: 5, conversations: 1, messages: 1}\n"
	s, err := Parse("ro.yaml", []byte(base+"writes: false\nmix:\n  - {req: \"GET /api/me\", weight: 1}\n  - {req: \"PUT /api/me/tier\", weight: 1}\n"))
	if err != nil || !s.ReadOnly {
		t.Fatalf("writes: false: %v, read-only %v", err, s != nil && s.ReadOnly)
	}
	if s, err := Parse("rw.yaml", []byte(base+"writes: true\nmix: [{req: \"GET /api/me\", weight: 1}]\n")); err != nil || s.ReadOnly {
		t.Errorf("writes: true: %v, read-only %v", err, s != nil && s.ReadOnly)
	}
	for yaml, want := range map[string]string{
		base + "writes: no-thanks\nmix: [{req: \"GET /api/me\", weight: 1}]\n":         "bad.yaml:4: writes: \"no-thanks\" is not true or false",
		base + "writes: false\nmix: [{req: \"POST /api/conversations\", weight: 1}]\n": "bad.yaml:4: writes: false leaves the mix without a read",
	} {
		_, err := Parse("bad.yaml", []byte(yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}
