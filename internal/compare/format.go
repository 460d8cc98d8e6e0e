package compare

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

// minus is the typographic minus sign the table and the recommendation use.
const minus = "−"

// unitOf is what a row's numbers measure.
func unitOf(metric string) threshold.Unit {
	if p, err := threshold.ParsePath(metric); err == nil {
		return p.Unit()
	}
	return threshold.UnitNone
}

// isCount reports whether metric is a count of events (errors, violations).
func isCount(metric string) bool {
	return strings.HasSuffix(metric, "errors") || metric == "isolation_violations" || strings.HasSuffix(metric, "stale_reads")
}

// formatValue writes a figure for the table: "82.1%", "12.3ms", "0.410", "5.10×", "3".
func formatValue(metric string, v float64) string {
	switch {
	case strings.HasPrefix(metric, "speedup"):
		return sig3(v) + "×"
	case isCount(metric):
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	u := unitOf(metric)
	if u == threshold.UnitNone {
		return sig3(v)
	}
	return threshold.FormatValue(u, v)
}

// formatDelta writes the change from the reference: points for ratios ("+6.1 pts"), a
// difference for counts ("+3"), a factor past 2× ("2.4×"), else a percentage ("−18%").
func formatDelta(metric string, ref, v float64) string {
	switch {
	case unitOf(metric) == threshold.UnitRatio:
		return signed(100*(v-ref), 1) + " pts"
	case isCount(metric):
		return signed(v-ref, -1)
	case ref == v:
		return "0%"
	case ref == 0:
		return "new"
	case v/ref >= 2:
		return sig2(v/ref) + "×"
	}
	return signed(100*(v/ref-1), 0) + "%"
}

// signed writes v with an explicit sign and the typographic minus; decimals -1 means as few
// as needed.
func signed(v float64, decimals int) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	if strings.Trim(s, "0.") == "" {
		return "±0"
	}
	if v < 0 {
		return minus + s
	}
	return "+" + s
}

// sig3 writes v with three significant digits and no exponent (render.Sig).
func sig3(v float64) string { return render.Sig(v, 3) }

// sig2 writes a factor with at most two significant digits: 2.4, 3, 12, 150.
func sig2(v float64) string {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	scale := math.Pow10(1 - int(math.Floor(math.Log10(v))))
	return strconv.FormatFloat(math.Round(v*scale)/scale, 'f', -1, 64)
}

// trim0 drops a needless ".0" from a formatted number: "+6.0" → "+6".
func trim0(s string) string {
	return strings.Replace(s, ".0", "", 1)
}

// pct writes a ratio as a percentage in the house style (render.Percent): 0.821 → "82.1%",
// 0.99983 → "99.98%".
func pct(v float64) string { return render.Percent(v) }
