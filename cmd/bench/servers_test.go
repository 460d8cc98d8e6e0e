package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestServersKill runs two instances over one Redis and one SQLite file, kills instance 2
// and starts it again: only instance 2's requests fail, and only while it is down.
func TestServersKill(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	stdout, stderr, code := runBench(t, context.Background(), nil, "run", "-scenario", filepath.Join("testdata", "servers-kill.yaml"),
		"-mode", "cache", "-redis", "process", "-out", out, "-quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	s, err := summary.Read(filepath.Join(out, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Servers) != 2 {
		t.Fatalf("servers %+v, want 2 entries", s.Servers)
	}
	one, two := s.Servers[0], s.Servers[1]
	if one.Errors != 0 || two.Errors == 0 || two.Errors >= two.Requests {
		t.Errorf("instance 1: %d errors of %d; instance 2: %d of %d; want none on 1, some but not all on 2",
			one.Errors, one.Requests, two.Errors, two.Requests)
	}
	if d := one.Requests - two.Requests; d < -1 || d > 1 {
		t.Errorf("requests %d and %d: not round-robin", one.Requests, two.Requests)
	}
	if one.RSSMiB <= 0 || two.RSSMiB <= 0 || s.HarnessRSSMiB <= 0 {
		t.Errorf("RSS: servers %.1f, %.1f MiB, harness %.1f MiB; want all measured", one.RSSMiB, two.RSSMiB, s.HarnessRSSMiB)
	}
	names := map[string]summary.Phase{}
	for _, p := range s.Phases {
		names[p.Name] = p
	}
	if down, ok := names["server-down"]; !ok || down.Errors == 0 {
		t.Errorf("phases %+v: want a server-down phase with errors", s.Phases)
	}
	// (A request in flight at the kill may fail and count in the phase it was sent in.)
	if rec, ok := names["recovery"]; !ok || rec.Requests == 0 || rec.Errors != 0 {
		t.Errorf("phases %+v: want no errors after start-server", s.Phases)
	}
	if s.Population == nil || s.Population.Users != 40 {
		t.Errorf("population %+v", s.Population)
	}
}
