package driver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// laneServer answers like echoServer but with a fixed capacity: k lanes, each busy for
// service per request, so it completes at most k/service requests a second. A request takes
// the lane that frees first, in virtual time: a late wake-up of the sleeping handler delays
// that answer but not the lane, so the capacity is k/service however busy the machine is.
func laneServer(t *testing.T, k int, service time.Duration) *httptest.Server {
	var mu sync.Mutex
	free := make([]time.Time, k)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		mu.Lock()
		best := 0
		for i := range free {
			if free[i].Before(free[best]) {
				best = i
			}
		}
		done := free[best]
		if done.Before(now) {
			done = now
		}
		done = done.Add(service)
		free[best] = done
		mu.Unlock()
		time.Sleep(time.Until(done))
		id := r.Header.Get("X-Request-Id")
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"requestId":%q}`, id)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const searchYAML = `
name: search-test
seed: 5
warmup: %s
duration: 60s
rate: {shape: search, slo: "latency.p99 <= 150ms", from: 40, to: 1000, factor: 2, resolution: 0.1, step_duration: 1500ms, settle: 500ms}
population: {users: 50, conversations: 2, messages: 5}
mix:
  - {req: "GET /api/me/tier", weight: 1}
`

// TestSearchFindsTheKnee runs a seconds-long capacity search against a server that holds
// 2 lanes × 20 ms = 100 rps: the rate the search reports held must be within one step of
// that, every step below it held, every step well above it missed, and the steps are the
// state machine's (climb by the factor, then halve the bracket).
func TestSearchFindsTheKnee(t *testing.T) {
	const capacity = 100.0
	srv := laneServer(t, 2, 20*time.Millisecond)
	// A warm-up at the from rate first, whose last answers may come after the first step's first.
	sc := scenario(t, fmt.Sprintf(searchYAML, "1s"))
	out, err := Run(context.Background(), Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Mode: "cache", MaxWorkers: 2000})
	if err != nil {
		t.Fatal(err)
	}
	s := out.Search
	if s == nil {
		t.Fatal("no search outcome")
	}
	var table strings.Builder
	for _, st := range s.Steps {
		fmt.Fprintf(&table, "  %7.2f rps: achieved %7.2f, p50 %s, p99 %s, %d answers, %d errors, lag p99 %s, held %v %s\n",
			st.Offered, st.Achieved, st.P50, st.P99, st.Requests, st.Errors, st.LagP99, st.Held, st.Why)
	}
	t.Logf("held %g, missed %g (%s)\n%s", s.Held, s.Missed, s.Why, table.String())
	// Within one step: below the capacity by at most the climb's factor at its worst
	// (a noisy step exactly at the capacity), above it by at most the resolution.
	if s.Held < capacity*0.75 || s.Held > capacity*1.1 {
		t.Errorf("held %g rps, want within one step of the server's capacity %g", s.Held, capacity)
	}
	if !strings.Contains(s.Why, "narrowed") {
		t.Errorf("stopped because %q, want narrowed down", s.Why)
	}
	if len(s.Steps) < 5 || s.Steps[0].Offered != 40 || s.Steps[1].Offered != 80 || s.Steps[2].Offered != 160 {
		t.Fatalf("steps %+v: want a climb 40, 80, 160 then a bisection", s.Steps)
	}
	for _, st := range s.Steps {
		switch {
		case st.Offered <= 0.8*capacity && !st.Held:
			t.Errorf("step at %g rps (capacity %g) missed: %s", st.Offered, capacity, st.Why)
		case st.Offered >= 1.2*capacity && st.Held:
			t.Errorf("step at %g rps (capacity %g) held", st.Offered, capacity)
		}
		if st.Errors != 0 {
			t.Errorf("step at %g rps: %d errors", st.Offered, st.Errors)
		}
		// Below the capacity the server keeps up: what it achieved is what was offered
		// (a ratio measured in the same step, not a wall-clock bound).
		if st.Offered <= 0.8*capacity && st.Achieved < 0.9*st.Offered {
			t.Errorf("step at %g rps achieved %g", st.Offered, st.Achieved)
		}
		// Above it the server cannot: it completes about its capacity.
		if st.Offered >= 1.5*capacity && st.Achieved > 1.2*capacity {
			t.Errorf("step at %g rps achieved %g, above the capacity %g", st.Offered, st.Achieved, capacity)
		}
		if want := int64(st.Offered * 1.5); st.Requests < want*9/10 || st.Requests > want+1 {
			t.Errorf("step at %g rps judged %d answers, want about %d (1.5 s of it)", st.Offered, st.Requests, want)
		}
	}
	if out.Interrupted || out.CutOff || out.Unmatched != 0 {
		t.Errorf("outcome %+v", out)
	}
}

// TestSearchInterrupted: an interrupt keeps the steps judged so far.
func TestSearchInterrupted(t *testing.T) {
	srv := laneServer(t, 4, time.Millisecond)
	// An SLO no step misses, even on a starved machine (a first step that missed 150 ms there
	// ended the search before the interrupt): the search is still climbing when it comes.
	sc := scenario(t, strings.Replace(fmt.Sprintf(searchYAML, "0s"), `"latency.p99 <= 150ms"`, `"latency.p99 <= 5000ms"`, 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var steps int
	out, err := Run(ctx, Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Mode: "cache",
		OnTick: func(p Progress) {
			if p.Done > int64(40*2+80*2) { // into the third step
				cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Search != nil {
		steps = len(out.Search.Steps)
	}
	if !out.Interrupted || steps < 1 || steps > 3 {
		t.Fatalf("interrupted %v with %d steps judged, want interrupted with the first steps kept", out.Interrupted, steps)
	}
	if !strings.Contains(out.Search.Why, "interrupted") {
		t.Errorf("why %q", out.Search.Why)
	}
}
