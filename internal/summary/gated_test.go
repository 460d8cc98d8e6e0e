package summary

import (
	"slices"
	"testing"
)

func TestGatedValuesCoverGatedPaths(t *testing.T) {
	c := &Figures{Mode: ModeCache, Latency: Latency{P50: 2, P99: 8, Mean: 3}, HitRate: HitRate{Tier: 0.9, Overall: 0.8},
		DBQueries: DBQueries{PerRequest: 0.25}, Errors: 1, ServerLatency: &ServerLatency{HitRequests: 40, HitP50: 0.4}}
	nc := &Figures{Mode: ModeNoCache, Latency: Latency{P50: 10, P99: 20, Mean: 12}, DBQueries: DBQueries{PerRequest: 1}}
	both := GatedValues(c, nc)
	for _, p := range GatedPaths() {
		if _, ok := both[p]; !ok {
			t.Errorf("a both-mode repeat has no value of gated path %s", p)
		}
	}
	if len(both) != len(GatedPaths()) {
		t.Errorf("%d values for %d gated paths", len(both), len(GatedPaths()))
	}
	for k, want := range map[string]float64{"hit_rate.tier": 0.9, "latency.p50": 2, "nocache.latency.p50": 10,
		"db_query_reduction": 0.75, "speedup.p50": 5, "errors": 1, "nocache.errors": 0, "server_latency.hit_p50": 0.4} {
		if both[k] != want {
			t.Errorf("%s = %v, want %v", k, both[k], want)
		}
	}
	only := GatedValues(nc, nil)
	for k := range only {
		if slices.Contains([]string{"hit_rate.tier", "db_query_reduction", "nocache.latency.p50"}, k) {
			t.Errorf("a no-cache-only repeat has %s", k)
		}
	}
	if _, ok := only["latency.p99"]; !ok {
		t.Error("a no-cache-only repeat has no latency.p99")
	}
	// A figure the run lacks (no server histogram, a server that labels no hits) is no sample.
	c.ServerLatency = &ServerLatency{Requests: 100, P50: 1}
	if v, ok := GatedValues(c, nil)["server_latency.hit_p50"]; ok {
		t.Errorf("a run without hits timed by the server has server_latency.hit_p50 = %v", v)
	}
}

func TestHitRateOfAndNewHitRateAgree(t *testing.T) {
	h := NewHitRate(func(class string) float64 { return float64(len(class)) })
	for _, class := range HitRateClasses() {
		if v, ok := h.Of(class); !ok || v != float64(len(class)) {
			t.Errorf("Of(%s) = %v, %v", class, v, ok)
		}
	}
	if _, ok := h.Of("writes"); ok {
		t.Error("writes is not a hit-rate class")
	}
}
