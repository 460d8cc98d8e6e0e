package render

import (
	"math"
	"testing"
)

func TestSig(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		n    int
		want string
	}{
		{0.4234, 3, "0.423"},
		{42.34, 3, "42.3"},
		{4234, 3, "4234"}, // integers are never rounded away
		{-0.0001, 1, "-0.0001"},
		{0, 3, "0"},
		{math.NaN(), 3, "NaN"},
		{math.Inf(1), 3, "+Inf"},
	} {
		if got := Sig(tc.v, tc.n); got != tc.want {
			t.Errorf("Sig(%v, %d) = %q, want %q", tc.v, tc.n, got, tc.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		ratio float64
		want  string
	}{
		{0.912, "91.2%"},
		{0.99983, "99.98%"}, // not "100.0%": only a ratio of 1 is 100%
		{0.0002, "0.02%"},   // not "0.0%"
		{1, "100.0%"},
		{0, "0.0%"},
		{0.9999999, "100.0000%"}, // four decimals at most, then it rounds
		{math.NaN(), "NaN"},
	} {
		if got := Percent(tc.ratio); got != tc.want {
			t.Errorf("Percent(%v) = %q, want %q", tc.ratio, got, tc.want)
		}
	}
}
