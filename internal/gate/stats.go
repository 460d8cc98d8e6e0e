package gate

import (
	"fmt"
	"math"

	"golang.org/x/perf/benchmath"

	"github.com/atlasbench/atlasbench/internal/stats"
)

// noInterval marks a median that has no confidence interval: too few samples for one.
const noInterval = "*"

// noIntervalNote explains noInterval below the table.
const noIntervalNote = noInterval + " too few samples for an interval: the median alone (-count 6 or more gives a 95% interval)"

// hasInterval reports whether s has a finite confidence interval.
func hasInterval(s stats.Stat) bool {
	return !(math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) || math.IsNaN(s.Lo) || math.IsNaN(s.Hi))
}

// ciString writes a Stat's interval as benchstat does: "± 3%" of the center for relative
// metrics, "± 0.4 pts" for ratios, noInterval when there are too few samples for an interval.
func ciString(s stats.Stat, k kind) string {
	if !hasInterval(s) {
		return noInterval
	}
	if k.absolute {
		return fmt.Sprintf("± %.1f pts", 100*max(s.Hi-s.Center, s.Center-s.Lo))
	}
	if s.Lo == s.Center && s.Hi == s.Center {
		return "± 0%"
	}
	return "± " + benchmath.Summary{Center: s.Center, Lo: s.Lo, Hi: s.Hi}.PctRangeString()
}
