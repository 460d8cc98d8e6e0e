package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestSlotRanges feeds two slot ranges ten seconds of lookups: slots-1 bypasses from second
// 3 to 5 (its master was killed at 3.0 s), slots-2 keeps hitting. The phase figures and recovery
// times follow from the counts.
func TestSlotRanges(t *testing.T) {
	sh := NewSlotRanges([]string{"0-8191", "8192-16383"}, func(user string) int {
		if user == "a" {
			return 1
		}
		return 2
	})
	add := func(user string, at float64, xcache string) {
		v := verdict("GET /api/me", "userProfile", at, time.Millisecond, time.Millisecond, 200, "", "X-Cache: "+xcache)
		v.Req.UserID = user
		sh.Add(v)
	}
	for sec := range 10 {
		for k := range 10 {
			at := float64(sec) + float64(k)/10
			outcome := "HIT"
			if sec >= 3 && sec < 6 {
				outcome = "BYPASS"
			}
			if k == 9 {
				outcome = "MISS" // one miss a second: steady hit rate 0.9
			}
			add("a", at, outcome)
			add("b", at, map[bool]string{true: "MISS", false: "HIT"}[k == 9])
		}
	}
	// Ignored: warm-up, writes, attacks, errors, no X-Cache.
	w := verdict("GET /api/me", "userProfile", -1, 0, 0, 200, "", "X-Cache: BYPASS")
	w.Warmup, w.Req.UserID = true, "b"
	sh.Add(w)
	e := verdict("GET /api/me", "userProfile", 1, 0, 0, 500, "5xx", "X-Cache: BYPASS")
	e.Req.UserID = "b"
	sh.Add(e)
	n := verdict("GET /api/me", "userProfile", 1, 0, 0, 200, "")
	n.Req.UserID = "b"
	sh.Add(n)

	phases := []summary.Phase{
		{Name: summary.PhaseSteady, StartS: 0, EndS: 3},
		{Name: "redis-down", Fault: "kill-redis", StartS: 3, EndS: 7},
		{Name: summary.PhaseRecovery, Fault: "start-redis", StartS: 7, EndS: 10},
	}
	before := fmt.Sprint(phases)
	figs := sh.Finish(10, phases)
	whole, series := figs.Whole, figs.Series
	if after := fmt.Sprint(phases); after != before {
		t.Errorf("Finish changed the phases: %s, was %s", after, before)
	}
	if len(whole) != 2 || whole[0].Lookups != 100 || whole[1].Lookups != 100 {
		t.Fatalf("whole: %+v", whole)
	}
	if !near(whole[1].HitRate, 0.9, 1e-9) || whole[1].BypassShare != 0 {
		t.Errorf("slots-2: %+v", whole[1])
	}
	if !near(whole[0].BypassShare, 27.0/100, 1e-9) {
		t.Errorf("slots-1 bypass share %v, want 0.27", whole[0].BypassShare)
	}
	if got := series["slots-1"]; len(got) != 10 || got[4] != 0 || !near(got[7], 0.9, 1e-9) {
		t.Errorf("slots-1 series %v", got)
	}
	down := figs.ByPhase[1]
	if len(figs.ByPhase) != 3 || len(down) != 2 || figs.ByPhase[0] != nil || figs.ByPhase[2] != nil {
		t.Fatalf("phase slot ranges: %+v", figs.ByPhase)
	}
	if down[0].BackAfterS == nil || *down[0].BackAfterS != 3 {
		t.Errorf("slots-1 recovery %v, want 3 s (back in second 6)", deref(down[0].BackAfterS))
	}
	if down[1].BackAfterS == nil || *down[1].BackAfterS != 0 {
		t.Errorf("slots-2 recovery %v, want 0 (never fell)", deref(down[1].BackAfterS))
	}
	if !near(down[0].BypassShare, 27.0/40, 1e-9) || down[1].BypassShare != 0 {
		t.Errorf("bypass shares in the fault phase: %v, %v", down[0].BypassShare, down[1].BypassShare)
	}
}

// TestRangeRecovery covers the edges of the recovery time.
func TestRangeRecovery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hr     []float64
		steady float64
		want   any
	}{
		{"never fell", []float64{0.9, 0.9, 0.9, 0.9}, 0.9, 0.0},
		{"still down at the end", []float64{0.9, 0, 0, 0}, 0.9, nil},
		{"the first time back counts", []float64{0.9, 0, 0.9, 0, 0.9, 0.9}, 0.9, 1.0},
		{"seconds without lookups do not count", []float64{0.9, 0, -1, 0.9}, 0.9, 2.0},
		{"no steady level", []float64{0, 0}, 0, nil},
	} {
		got := rangeRecovery(tc.hr, tc.steady, 1, float64(len(tc.hr)))
		if deref(got) != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, deref(got), tc.want)
		}
	}
}
