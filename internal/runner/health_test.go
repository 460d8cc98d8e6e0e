package runner

import (
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/loadhealth"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// healthOf is a fixture window of three samples, saturated or calm by the default rule.
func healthOf(t *testing.T, saturated bool) *summary.GeneratorHealth {
	t.Helper()
	p := summary.HealthPoint{LagP99MS: 2, PSISome: 0.1}
	if saturated {
		p.LagP99MS, p.PSISome = 180, 0.62
	}
	h := &summary.GeneratorHealth{EveryS: 1, CPUs: 2, Rule: loadhealth.DefaultRule(), Timeline: []summary.HealthPoint{p, p, p}}
	h.Aggregates = loadhealth.Aggregate(h.Timeline)
	loadhealth.Judge(h)
	return h
}

// TestSummariseSaturation: a saturated generator in any mode or repeat — not only the
// median one the headline figures come from — makes the run's latency thresholds
// INCONCLUSIVE and names where; counts are judged; a calm run judges latency as always.
func TestSummariseSaturation(t *testing.T) {
	fig := func(mode summary.Mode, p50 float64, saturated bool) summary.Figures {
		return summary.Figures{Mode: mode, Requests: 100, Latency: summary.Latency{P50: p50, P99: 2 * p50},
			DBQueries: summary.DBQueries{PerRequest: 1}, GeneratorHealth: healthOf(t, saturated)}
	}
	exprs := []string{"latency.p99 <= 50ms", "errors == 0", "speedup.p50 >= 1"}
	for _, tc := range []struct {
		name  string
		figs  map[summary.Mode][]summary.Figures
		where string // "" when not saturated
	}{
		{"calm", map[summary.Mode][]summary.Figures{
			summary.ModeNoCache: {fig(summary.ModeNoCache, 20, false)},
			summary.ModeCache:   {fig(summary.ModeCache, 5, false)}}, ""},
		// The second no-cache repeat was saturated; the headline no-cache figures are the
		// median repeat's (p50 20, the first), whose generator was calm.
		{"a repeat that is not the median", map[summary.Mode][]summary.Figures{
			summary.ModeNoCache: {fig(summary.ModeNoCache, 20, false), fig(summary.ModeNoCache, 30, true)},
			summary.ModeCache:   {fig(summary.ModeCache, 5, false), fig(summary.ModeCache, 6, false)}}, "saturated in nocache repeat 2"},
		{"one mode", map[summary.Mode][]summary.Figures{summary.ModeCache: {fig(summary.ModeCache, 5, true)}}, "the machine was saturated ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &summary.Summary{Mode: summary.ModeBoth}
			if len(tc.figs[summary.ModeNoCache]) == 0 {
				s.Mode = summary.ModeCache
			}
			Summarise(s, tc.figs, exprs)
			if (s.Inconclusive != "") != (tc.where != "") || !strings.Contains(s.Inconclusive, tc.where) {
				t.Fatalf("inconclusive %q, want it to say %q", s.Inconclusive, tc.where)
			}
			lat, errs := s.Thresholds[0], s.Thresholds[1]
			if tc.where == "" {
				if !lat.Pass || lat.Inconclusive != "" || !s.Pass {
					t.Errorf("calm run: %+v, pass %v", s.Thresholds, s.Pass)
				}
				return
			}
			if lat.Pass || lat.Inconclusive == "" || !errs.Pass || errs.Inconclusive != "" || s.Pass {
				t.Errorf("saturated run: %+v, pass %v", s.Thresholds, s.Pass)
			}
			if sp := s.Thresholds[2]; s.Mode == summary.ModeBoth && sp.Inconclusive == "" {
				t.Errorf("speedup threshold %+v, want INCONCLUSIVE", sp)
			}
		})
	}
}
