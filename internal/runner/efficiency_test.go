package runner

import (
	"net/http"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/ideal"
	"github.com/atlasbench/atlasbench/internal/summary"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// TestSteadyEfficiency: the steady phase's efficiency divides its own hit rate by the ideal
// cache's over its own seconds, so a fault later in the window does not lower it.
func TestSteadyEfficiency(t *testing.T) {
	m := ideal.New(func(string, string) time.Duration { return time.Hour }, time.Second)
	for sec := range 10 {
		h := http.Header{}
		h.Set("X-Atlas-Tier", "core")
		m.Add(driver.Record{Req: &driver.Request{UserID: "u1", Method: "GET", Class: atlas.QueryUserProfile, Tier: "core"},
			Res: &vegeta.Result{Code: 200, Headers: h}, Sent: time.Duration(sec) * time.Second})
	}
	// Steady [0, 5): the ideal misses once (second 0) of 5 per class; the cache reached 0.8.
	// The fault phase [5, 10) is the cache's trouble only.
	f := summary.Figures{Phases: []summary.Phase{
		{Name: summary.PhaseSteady, StartS: 0, EndS: 5, HitRate: summary.HitRate{Tier: 0.8, UserProfile: 0.8, Overall: 0.8}},
		{Name: summary.PhaseRedisDown, Fault: "kill-redis", StartS: 5, EndS: 10},
	}}
	eff := steadyEfficiency(f, m)
	if eff == nil || eff.Overall != 1 || eff.Tier != 1 {
		t.Fatalf("steady efficiency %+v, want 1 (0.8 of an ideal 0.8)", eff)
	}
	if eff := steadyEfficiency(summary.Figures{}, m); eff != nil { // no steady phase: nothing
		t.Errorf("without a steady phase: %+v", eff)
	}
	if eff := steadyEfficiency(f, nil); eff != nil { // no model: nothing
		t.Errorf("without a model: %+v", eff)
	}
}
