package runner

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/witness"
)

// Compose puts every source's part into the recorder's figures, leaves the recorder's
// figures as they were, and lets none of the parts overwrite what the recorder measured.
func TestCompose(t *testing.T) {
	recorded := summary.Figures{Mode: summary.ModeCache, Requests: 100,
		HitRate: summary.HitRate{Tier: 0.8, Overall: 0.6},
		Extra:   map[string]float64{"tier_violations": 1},
		Servers: []summary.Server{{Server: 1}, {Server: 2}},
		Phases:  []summary.Phase{{Name: summary.PhaseSteady}, {Name: "redis-down", Fault: "kill-redis"}},
		Series:  &summary.Series{RPS: []float64{50, 50}},
	}
	before, _ := json.Marshal(recorded)
	ideal := summary.HitRate{Tier: 1, Overall: 0.8}
	down := []summary.SlotRange{{Name: "slots-1", Lookups: 3}}
	f := Compose(recorded, Parts{
		HarnessRSSMiB: 42,
		ServerRSSMiB:  []float64{10, 20},
		Extra:         map[string]float64{"tier_violations": 9, "results_write_max_ms": 3},
		Ideal:         &ideal,
		Witnessed:     witness.Figures{CrossChecks: []summary.CrossCheck{{Figure: "x", Verdict: summary.Agree}}},
		Redis:         &summary.Redis{Topology: summary.Topology{Kind: summary.TopologyCluster, Masters: 1}},
		SlotRanges: &metrics.SlotRangeFigures{Whole: []summary.SlotRange{{Name: "slots-1", Lookups: 9}},
			Series: map[string][]float64{"slots-1": {0.5, 0.6}}, ByPhase: [][]summary.SlotRange{nil, down}},
		Capacity: &summary.Capacity{Keys: 7},
	})
	if after, _ := json.Marshal(recorded); string(after) != string(before) {
		t.Errorf("Compose changed the recorder's figures:\n%s\nwas\n%s", after, before)
	}
	if f.Extra["tier_violations"] != 1 || f.Extra["results_write_max_ms"] != 3 {
		t.Errorf("extra %v: the recorder's figure must win, the part's be added", f.Extra)
	}
	if f.HarnessRSSMiB != 42 || f.Servers[0].RSSMiB != 10 || f.Servers[1].RSSMiB != 20 {
		t.Errorf("memory: harness %v, servers %+v", f.HarnessRSSMiB, f.Servers)
	}
	if f.HitRateIdeal == nil || f.CacheEfficiency == nil || math.Abs(f.CacheEfficiency.Tier-0.8) > 1e-9 || math.Abs(f.CacheEfficiency.Overall-0.75) > 1e-9 {
		t.Errorf("ideal %+v, efficiency %+v", f.HitRateIdeal, f.CacheEfficiency)
	}
	if len(f.CrossChecks) != 1 || f.Redis == nil || len(f.Redis.SlotRanges) != 1 || f.Redis.SlotRanges[0].Lookups != 9 {
		t.Errorf("cross-checks %+v, redis %+v", f.CrossChecks, f.Redis)
	}
	if f.Phases[0].SlotRanges != nil || len(f.Phases[1].SlotRanges) != 1 || len(f.Series.HitRateBySlotRange["slots-1"]) != 2 {
		t.Errorf("slot ranges by phase %+v, series %+v", f.Phases, f.Series)
	}
	if f.Capacity == nil || f.Capacity.Keys != 7 || f.Capacity.HitRate != 0.6 {
		t.Errorf("capacity %+v: want the part's, at the recorder's overall hit rate", f.Capacity)
	}
}
