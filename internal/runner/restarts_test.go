package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// TestDeploySettingsOfRuns: the harness balances on readiness, and the instances wait their
// shutdown delay, only with several instances and a deploy section or a graceful restart verb.
func TestDeploySettingsOfRuns(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sc        scenarios.Scenario
		period    time.Duration
		delay     time.Duration
		restarted bool
	}{
		// two instances, no deploy section, a crash: round-robin as before, no delay
		{"kill-server", scenarios.Scenario{Servers: 2, Faults: []scenarios.Fault{{Do: scenarios.FaultKillServer, Server: 2}, {Do: scenarios.FaultStartServer, Server: 2}}},
			0, 0, true},
		// a rolling restart without a deploy section: the defaults
		{"rolling-restart", scenarios.Scenario{Servers: 3, Faults: []scenarios.Fault{{Do: scenarios.FaultRollingRestart}}},
			100 * time.Millisecond, 500 * time.Millisecond, true},
		// a deploy section with one instance: nothing to balance, but it stops with its delay
		{"one instance", scenarios.Scenario{Servers: 1, Deploy: &scenarios.Deploy{ShutdownDelay: 2 * time.Second}},
			0, 2 * time.Second, false},
		// a stop without a start: balanced, not restarted
		{"stop-server", scenarios.Scenario{Servers: 2, Deploy: &scenarios.Deploy{ReadyPeriod: 20 * time.Millisecond}, Faults: []scenarios.Fault{{Do: scenarios.FaultStopServer, Server: 1}}},
			20 * time.Millisecond, 500 * time.Millisecond, false},
	} {
		if got := readyPeriod(&tc.sc); got != tc.period {
			t.Errorf("%s: ready period %s, want %s", tc.name, got, tc.period)
		}
		if got, _ := shutdownFlags(&tc.sc); got != tc.delay {
			t.Errorf("%s: shutdown delay %s, want %s", tc.name, got, tc.delay)
		}
		if got := restartsInstances(&tc.sc); got != tc.restarted {
			t.Errorf("%s: restarts instances %v, want %v", tc.name, got, tc.restarted)
		}
	}
}

// TestRestartNote: the note gives the drain and the first seconds' hit rate, or says that
// the server gave no account.
func TestRestartNote(t *testing.T) {
	ready := 1.1
	n := restartNote(summary.Restart{Server: 2, TermS: 10, ExitS: 1, ReadyS: &ready, InFlight: 1,
		Drain: &summary.Drain{DelayMS: 1000, AtClose: 2, DrainMS: 12, Pending: 1, HandedOver: 1},
		First: &summary.FirstWindow{Seconds: 3, Requests: 140, HitRate: 0.75, P99: 20}})
	for _, want := range []string{"server 2 SIGTERM at 10.0s: 1 request in flight", "drained them in 12 ms", "1 handed over, 0 lost",
		"ready again after 1.10s", "0 errors", "its first 3s: 140 requests, hit rate 75.0%, p99 20.0 ms"} {
		if !strings.Contains(n, want) {
			t.Errorf("note %q lacks %q", n, want)
		}
	}
	if n := restartNote(summary.Restart{Server: 1, Errors: 3}); !strings.Contains(n, "no account of a drain") || !strings.Contains(n, "3 errors") {
		t.Errorf("note without a drain: %q", n)
	}
}
