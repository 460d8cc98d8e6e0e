package render

import (
	"math"
	"strconv"
	"strings"
)

// Numbers in the house style, for every page, table and message: the one place the
// harness decides how many digits a figure gets.

// Sig formats v with n significant digits and no exponent: Sig(0.4234, 3) = "0.423",
// Sig(42.34, 3) = "42.3", Sig(4234, 3) = "4234" (integers are never rounded away); 0 (and
// what rounds to it) is "0", NaN and ±Inf are "NaN", "+Inf", "-Inf".
func Sig(v float64, n int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if v == 0 {
		return "0"
	}
	decimals := max(n-1-int(math.Floor(math.Log10(math.Abs(v)))), 0)
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Trim(s, "-0.") == "" {
		return "0"
	}
	return s
}

// Percent formats a ratio (0.912) as a percent with one decimal ("91.2%"), or more (up to
// four) when one would round a ratio that is not 0 or 1 to "0.0%" or "100.0%": 0.99983 is
// "99.98%", never "100.0%". NaN and ±Inf are "NaN", "+Inf", "-Inf".
func Percent(ratio float64) string {
	if math.IsNaN(ratio) || math.IsInf(ratio, 0) {
		return strconv.FormatFloat(ratio, 'f', -1, 64)
	}
	v := ratio * 100
	for d := 1; ; d++ {
		s := strconv.FormatFloat(v, 'f', d, 64)
		r, _ := strconv.ParseFloat(s, 64)
		if d == 4 || (r != 0 || v == 0) && (r != 100 || v == 100) {
			return s + "%"
		}
	}
}
