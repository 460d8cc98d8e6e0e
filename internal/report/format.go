package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/atlasbench/atlasbench/internal/render"
)

// dash stands for a figure that does not exist or does not apply.
const dash = "—"

// sig is render.Sig, with a dash for a figure that is not a number.
func sig(v float64, n int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return dash
	}
	return render.Sig(v, n)
}

// ms formats a latency in milliseconds with 3 significant digits: "0.423", "4.27", "42.7", "427".
func ms(v float64) string { return sig(v, 3) }

// msUnit is ms with the unit: "4.27 ms".
func msUnit(v float64) string {
	if s := ms(v); s != dash {
		return s + " ms"
	}
	return dash
}

// pct is render.Percent (0.99983 → "99.98%"), with a dash for a figure that is not a number.
func pct(ratio float64) string {
	if math.IsNaN(ratio) || math.IsInf(ratio, 0) {
		return dash
	}
	return render.Percent(ratio)
}

// count formats an integer with thousands separators: 18000 → "18,000".
func count[T int64 | uint64 | int](n T) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// num formats a plain quantity: integers with separators, others with 3 significant digits.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return count(int64(v))
	}
	return sig(v, 3)
}

// rps formats a request rate: one decimal below 1000 rps, none above.
func rps(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return dash
	}
	if math.Abs(v) >= 1000 {
		return count(int64(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// efficiency formats a cache efficiency (hit rate over the ideal cache's, 0 to 1) with two
// decimals always, so that one table never shows 1.0 beside 0.97: "1.00", "0.97".
func efficiency(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return dash
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// times formats a speed-up factor: "3.42×".
func times(v float64) string {
	if s := sig(v, 3); s != dash {
		return s + "×"
	}
	return dash
}

// seconds formats an offset in seconds with at most one decimal: 20 → "20", 4.25 → "4.3".
func seconds(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return dash
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// thresholdValue formats a threshold's measured value in the unit its path implies:
// latency paths in ms, ratios as percents, speed-ups as factors, the rest as numbers.
func thresholdValue(expr string, v float64) string {
	path := expr
	if i := strings.IndexAny(expr, " <>=!"); i >= 0 {
		path = expr[:i]
	}
	switch {
	case strings.Contains(path, "latency") || strings.Contains(path, "service_time"):
		return msUnit(v)
	case strings.Contains(path, "hit_rate") || strings.Contains(path, "ratio") || strings.Contains(path, "reduction"):
		return pct(v)
	case strings.HasPrefix(path, "speedup"):
		return times(v)
	default:
		return num(v)
	}
}
