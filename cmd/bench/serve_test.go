package main

import (
	"context"
	"flag"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeFromScenario: -scenario seeds what the scenario expects; a -seed* or -db-* flag
// given as well wins. The flags are bench serve's own (serveFlags), so a renamed flag
// would fail here.
func TestServeFromScenario(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want func(o serveOptions) bool
	}{
		// core.yaml: seed 12, 1000 core users, 5 conversations of 40 messages, 5 ms ± 1 ms.
		{[]string{"-scenario", "core"}, func(o serveOptions) bool {
			return o.seed == 12 && o.seedUsers == 1000 && o.seedTiers == "free=0,core=1,studio=0" &&
				o.seedConversations == 5 && o.seedMessages == 40 && o.dbLatency == 5*time.Millisecond && o.dbJitter == time.Millisecond
		}},
		{[]string{"-scenario", "core", "-seed", "3", "-seed-users", "7", "-seed-conversations", "2", "-seed-messages", "9",
			"-seed-tiers", "free=1", "-db-latency", "2ms", "-db-jitter", "0s"}, func(o serveOptions) bool {
			return o.seed == 3 && o.seedUsers == 7 && o.seedTiers == "free=1" && o.seedConversations == 2 &&
				o.seedMessages == 9 && o.dbLatency == 2*time.Millisecond && o.dbJitter == 0
		}},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var o serveOptions
		serveFlags(fs, &o, func(string) string { return "" })
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := o.fromScenario(fs); err != nil {
			t.Fatal(err)
		}
		if !tc.want(o) {
			t.Errorf("%v: %+v", tc.args, o)
		}
	}
}

// TestServeBindsBeforeSeeding: on a busy address bench serve fails (exit 3) before it seeds
// anything, however many users it was asked for.
func TestServeBindsBeforeSeeding(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The bound only keeps a broken serve from hanging the test; nothing is timed.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, code := runBench(t, ctx, nil, "serve", "-listen", ln.Addr().String(), "-mode", "nocache",
		"-db", "sqlite:"+filepath.Join(t.TempDir(), "atlas.db"), "-seed-users", "200000")
	if code != exitEnv || !strings.Contains(stderr, "listen") {
		t.Fatalf("exit %d (want %d), stderr %q", code, exitEnv, stderr)
	}
	if strings.Contains(stdout, "seeded") {
		t.Errorf("bench serve seeded before failing to bind:\n%s", stdout)
	}
}
