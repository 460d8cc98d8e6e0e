package runner

import (
	"github.com/atlasbench/atlasbench/internal/ideal"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// steadyEfficiency sets f's cache efficiency over its steady phase: the phase's hit rate ÷
// the ideal cache's over the same seconds; nothing without a steady phase or a model.
func steadyEfficiency(f *summary.Figures, model *ideal.Model) {
	if model == nil {
		return
	}
	for _, p := range f.Phases {
		if p.Name == summary.PhaseSteady {
			e := ideal.Efficiency(p.HitRate, model.HitRateWithin(p.StartS, p.EndS))
			f.CacheEfficiencySteady = &e
			return
		}
	}
}
