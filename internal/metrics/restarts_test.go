package metrics

import (
	"net/http"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
)

// restartVerdict is a measured record to instance server (0-based), sent at sent, answered after
// lat, with an X-Cache outcome and an error kind ("" for none).
func restartVerdict(server int, sent, lat time.Duration, xcache, errKind string) check.Verdict {
	h := http.Header{}
	if xcache != "" {
		h.Set("X-Cache", xcache)
	}
	return check.Verdict{Record: driver.Record{Res: &vegeta.Result{Latency: lat, Headers: h}, Sent: sent, Intended: sent,
		Latency: lat, Server: server}, Error: errKind}
}

// TestRestartFigures: per restart, the instance's requests in flight at the SIGTERM, the
// errors (any instance) from then until it answered again, and its first window.
func TestRestartFigures(t *testing.T) {
	s := time.Second
	ms := time.Millisecond
	r := NewRestarts()
	for _, v := range []check.Verdict{
		restartVerdict(0, 900*ms, 200*ms, "HIT", ""),                                      // instance 1, in flight at its SIGTERM (1 s)
		restartVerdict(1, 900*ms, 200*ms, "HIT", ""),                                      // instance 2: in flight, but not its restart
		restartVerdict(0, 800*ms, 100*ms, "HIT", ""),                                      // instance 1, answered before the SIGTERM
		restartVerdict(1, 1500*ms, 10*ms, "", "transport"),                                // an error during the restart, on instance 2
		restartVerdict(0, 3*s+100*ms, 10*ms, "HIT", ""),                                   // instance 1's first window: a hit…
		restartVerdict(0, 3*s+200*ms, 30*ms, "MISS", ""),                                  // … a miss
		restartVerdict(0, 3*s+300*ms, 20*ms, "HIT", ""),                                   // … a hit
		restartVerdict(0, 5*s, 10*ms, "MISS", ""),                                         // after its first window
		restartVerdict(0, 6*s, 10*ms, "", "5xx"),                                          // an error long after
		{Record: driver.Record{Res: &vegeta.Result{}, Warmup: true, Server: 0, Sent: -s}}, // warm-up: ignored
	} {
		r.Add(v)
	}
	got := r.Figures([]RestartEvent{
		{Server: 1, Term: s, Exited: 2 * s, Ready: 3 * s, Restarted: true},
		{Server: 2, Term: 7 * s, Exited: 8 * s}, // stopped, not started again
	}, 2*s)
	if len(got) != 2 {
		t.Fatalf("figures %+v", got)
	}
	one := got[0]
	if one.InFlight != 1 || one.Errors != 1 || one.ReadyS == nil || *one.ReadyS != 2 || one.ExitS != 1 {
		t.Errorf("restart of instance 1: %+v; want 1 in flight, 1 error, ready 2 s and exited 1 s after the SIGTERM", one)
	}
	if f := one.First; f == nil || f.Requests != 3 || f.Errors != 0 || f.HitRate != 2.0/3 || f.P99 < 29 || f.P99 > 31 || f.Seconds != 2 {
		t.Errorf("first window of instance 1: %+v; want 3 requests, hit rate 2/3, p99 30 ms over 2 s", one.First)
	}
	two := got[1]
	if two.InFlight != 0 || two.Errors != 0 || two.ReadyS != nil || two.First != nil {
		t.Errorf("stop of instance 2: %+v; want nothing in flight, no errors, no readiness or first window", two)
	}
}
