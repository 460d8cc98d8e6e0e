package claims

import (
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestPlan: every run of the plan validates, every config it writes loads as the layer
// would load it, the runs cover every claim's runs and sweep, and the default fits in about
// 15 minutes while -quick stays seconds-long per run.
func TestPlan(t *testing.T) {
	def, err := cache.LoadConfig("default")
	if err != nil {
		t.Fatal(err)
	}
	_, ttl := def.Effective()
	for _, quick := range []bool{true, false} {
		dir := t.TempDir()
		runs, err := Plan(Options{Quick: quick, TTL: ttl, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		var total time.Duration
		sweeps := 0
		for _, r := range runs {
			names[r.Name] = true
			total += r.Estimate()
			if strings.HasPrefix(r.Name, SweepPrefix) {
				sweeps++
				if r.Mode != summary.ModeBoth {
					t.Errorf("%s: mode %s, want both (the reduction needs the no-cache side)", r.Name, r.Mode)
				}
			}
			if r.Config != "default" {
				c, err := cache.LoadConfig(r.Config)
				if err != nil {
					t.Errorf("%s: config %s: %v", r.Name, r.Config, err)
				}
				if r.Name == RunWarmOff && c.Warm || r.Name == RunWarmOn && !c.Warm {
					t.Errorf("%s: warm %t", r.Name, c.Warm)
				}
				if r.Name == RunTTLNet && !c.Unsafe.DropFailedInvalidations {
					t.Errorf("%s: invalidations are not dropped: %+v", r.Name, c.Unsafe)
				}
			}
			// The longest -quick run is the faults run: seconds after the partition heals for a
			// client that a stalled Redis holds back.
			if quick && r.Scenario.Total() > 15*time.Second {
				t.Errorf("-quick %s lasts %s", r.Name, r.Scenario.Total())
			}
		}
		for _, c := range Table() {
			for _, n := range c.Runs() {
				if !names[n] {
					t.Errorf("quick=%t: claim %s reads %s, which the plan does not run", quick, c.ID, n)
				}
			}
		}
		if sweeps < 2 {
			t.Errorf("quick=%t: %d sweep points", quick, sweeps)
		}
		if !quick && (total < 10*time.Minute || total > 17*time.Minute) {
			t.Errorf("default plan estimated at %s, want about 15 minutes", total)
		}
		t.Logf("quick=%t: %d runs, estimated %s", quick, len(runs), total)
	}
	// Only the selected claims' runs.
	runs, err := Plan(Options{Quick: true, TTL: ttl, Dir: t.TempDir(), Only: []string{"fallback"}})
	if err != nil || len(runs) != 1 || runs[0].Name != RunFaults {
		t.Fatalf("%v %+v", err, runs)
	}
	if _, err := Plan(Options{Dir: t.TempDir()}); err == nil {
		t.Error("a plan without the TTL table")
	}
}

// TestCalibrate: the probe's p50 scales the round trip to the target, within bounds.
func TestCalibrate(t *testing.T) {
	for _, tc := range []struct {
		p50, want float64
	}{
		{316, 100}, // the probe already at the target
		{200, 158}, // faster than the target: longer round trips
		{5000, 10}, // clamped below
		{20, 1000}, // clamped above
	} {
		c, err := Calibrate(tc.p50)
		if err != nil || c.LatencyMS != tc.want || c.JitterMS != float64(int(tc.want/10+0.5)) {
			t.Errorf("Calibrate(%v) = %+v, %v; want %v ms", tc.p50, c, err, tc.want)
		}
	}
	if _, err := Calibrate(0); err == nil {
		t.Error("Calibrate(0): no error")
	}
}
