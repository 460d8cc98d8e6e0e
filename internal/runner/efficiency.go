package runner

import (
	"github.com/atlasbench/atlasbench/internal/ideal"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// steadyEfficiency is the cache's efficiency over the steady phase of the recorded figures:
// the phase's hit rate ÷ the ideal cache's over the same seconds; nil without a steady phase
// or a model. In a fault scenario the whole window's efficiency mostly measures the fault
// (the ideal cache has none); this one measures the cache.
func steadyEfficiency(recorded summary.Figures, model *ideal.Model) *summary.HitRate {
	if model == nil {
		return nil
	}
	for _, p := range recorded.Phases {
		if p.Name == summary.PhaseSteady {
			e := ideal.Efficiency(p.HitRate, model.HitRateWithin(p.StartS, p.EndS))
			return &e
		}
	}
	return nil
}
