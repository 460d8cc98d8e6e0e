package threshold

import (
	"slices"
	"strings"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// Values returns a summary's samples of metric (a Samples key or any summary path): the
// run's Samples[metric] when it kept some; nil for a gated metric (summary.GatedPaths) of a
// run that kept samples but none of this one (it did not measure it); else the figure
// itself as a single sample; else nil (the summary does not have it, or it is a hit rate
// of a no-cache run, which makes no lookups). bench gate and bench compare read every run
// through it.
func Values(s *summary.Summary, metric string) []float64 {
	if v := s.Samples[metric]; len(v) > 0 {
		return slices.Clone(v)
	}
	if len(s.Samples) > 0 && slices.Contains(summary.GatedPaths(), metric) {
		return nil
	}
	if strings.HasPrefix(metric, "hit_rate") && s.Figures.Mode == summary.ModeNoCache {
		return nil
	}
	p, err := ParsePath(metric)
	if err != nil {
		return nil
	}
	v, err := p.Resolve(s)
	if err != nil {
		return nil
	}
	return []float64{v}
}
