package claims

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// fakeRuns records the runs Execute asks for and answers each with a hand-made summary.
type fakeRuns struct {
	mu       sync.Mutex
	order    []string
	worldDB  time.Duration
	probeErr error
	// probeDone is set when the probe returned; worldAfterProbe when the world started after it.
	probeDone, worldAfterProbe bool
}

func (f *fakeRuns) run(_ context.Context, r Run) Result {
	f.mu.Lock()
	f.order = append(f.order, r.Name)
	if r.Name == RunWorld {
		f.worldDB, f.worldAfterProbe = r.Scenario.DB.Latency, f.probeDone
	}
	f.mu.Unlock()
	if r.Name == "calibration" {
		defer func() { f.mu.Lock(); f.probeDone = true; f.mu.Unlock() }()
		if f.probeErr != nil {
			return Result{Run: r, Err: f.probeErr}
		}
	}
	s := sum(r.Mode, func(s *summary.Summary) {
		s.Latency.P50 = 250 // the probe's no-cache p50
		if s.NoCache != nil {
			s.NoCache.Latency.P50 = 320
		}
		for _, p := range faultPhases {
			s.Phases = append(s.Phases, summary.Phase{Name: p, Latency: summary.Latency{P99: 40, Max: 60}})
		}
	})
	return Result{Run: r, Dir: "/r/" + r.Name, Summary: s}
}

func ttlTable() map[string]map[string]float64 {
	return map[string]map[string]float64{"free": {"tier": 300, "userProfile": 300, "conversations": 180, "apiResponses": 120}}
}

// TestExecute: the probe runs before the world, the world runs at the calibrated round
// trip, every planned run runs once, results come back in plan order whatever the
// parallelism, and the scorecard carries the calibration with the world's measured p50.
func TestExecute(t *testing.T) {
	for _, parallel := range []int{1, 4} {
		f := &fakeRuns{}
		var progress bytes.Buffer
		o := Options{Quick: true, TTL: ttlTable(), Dir: t.TempDir(), Only: []string{"db-reduction", "fallback"}}
		sc, results, err := Execute(context.Background(), o, f.run, &progress, parallel)
		if err != nil || sc == nil {
			t.Fatalf("parallel %d: %v %v", parallel, sc, err)
		}
		if !f.worldAfterProbe {
			t.Errorf("parallel %d: the world started before the calibration probe ended (runs started: %v)", parallel, f.order)
		}
		// 100 ms × 316 / 250 = 126 ms per query.
		if f.worldDB != 126*time.Millisecond {
			t.Errorf("parallel %d: world at %s per query, want 126ms", parallel, f.worldDB)
		}
		var names []string
		for _, r := range results {
			names = append(names, r.Run.Name)
		}
		if want := "calibration world sweep-1 sweep-2 faults"; strings.Join(names, " ") != want {
			t.Errorf("parallel %d: results %v, want %s", parallel, names, want)
		}
		if sc.Calibration == nil || sc.Calibration.LatencyMS != 126 || sc.Calibration.WorldP50MS != 320 {
			t.Errorf("parallel %d: calibration %+v", parallel, sc.Calibration)
		}
		if len(sc.Rows) != 2 || len(sc.Runs) != 4 {
			t.Errorf("parallel %d: %d rows, %d runs", parallel, len(sc.Rows), len(sc.Runs))
		}
		if !strings.Contains(progress.String(), "ETA") || !strings.Contains(progress.String(), "faults (fallback)") {
			t.Errorf("progress:\n%s", progress.String())
		}
	}
}

// TestExecuteProbeFails: without a calibration the world is not run and says why; the
// runs that do not need it still run and are judged.
func TestExecuteProbeFails(t *testing.T) {
	boom := errors.New("redis-server: no such file")
	f := &fakeRuns{probeErr: boom}
	sc, results, err := Execute(context.Background(), Options{Quick: true, TTL: ttlTable(), Dir: t.TempDir(), Only: []string{"db-reduction", "fallback"}}, f.run, &bytes.Buffer{}, 2)
	if err != nil || sc == nil {
		t.Fatal(sc, err)
	}
	for _, n := range f.order {
		if n == RunWorld {
			t.Error("the world ran without a calibration")
		}
	}
	var world *Result
	for i := range results {
		if results[i].Run.Name == RunWorld {
			world = &results[i]
		}
	}
	if world == nil || !errors.Is(world.Err, boom) {
		t.Fatalf("world result %+v: want the probe's error", world)
	}
	if r := row(t, sc, "db-reduction"); r.Verdict != NotMeasured || !strings.Contains(r.Reason, "calibration failed") {
		t.Errorf("db-reduction: %s %s", r.Verdict, r.Reason)
	}
	if r := row(t, sc, "fallback"); r.Verdict != Holds {
		t.Errorf("fallback: %s %s", r.Verdict, r.Reason)
	}
	if got := sc.RunFailed(); len(got) != 1 || got[0] != "db-reduction" {
		t.Errorf("unmeasured %v", got)
	}
}

// TestExecuteCancelled: a cancelled context runs nothing and measures nothing.
func TestExecuteCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &fakeRuns{}
	sc, _, err := Execute(ctx, Options{Quick: true, TTL: ttlTable(), Dir: t.TempDir()}, f.run, &bytes.Buffer{}, 3)
	if err != nil || sc != nil || len(f.order) != 0 {
		t.Fatalf("sc %v, err %v, ran %v", sc, err, f.order)
	}
}
