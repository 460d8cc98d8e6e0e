package gate

import (
	"fmt"
	"math"

	"golang.org/x/perf/benchmath"

	"github.com/atlasbench/atlasbench/internal/stats"
)

// ciString writes a Stat's interval as benchstat does: "± 3%" of the center for relative
// metrics, "± 0.4 pts" for ratios, "± ∞" when there are too few samples for an interval.
func ciString(s stats.Stat, k kind) string {
	if math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) || math.IsNaN(s.Lo) || math.IsNaN(s.Hi) {
		return "± ∞"
	}
	if k.absolute {
		return fmt.Sprintf("± %.1f pts", 100*max(s.Hi-s.Center, s.Center-s.Lo))
	}
	if s.Lo == s.Center && s.Hi == s.Center {
		return "± 0%"
	}
	return "± " + benchmath.Summary{Center: s.Center, Lo: s.Lo, Hi: s.Hi}.PctRangeString()
}
