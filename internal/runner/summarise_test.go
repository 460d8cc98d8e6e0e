package runner

import (
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// The headline figures are the repeat with the median p50, and say which repeat that is.
func TestMedianRepeat(t *testing.T) {
	fig := func(p50 float64) summary.Figures { return summary.Figures{Latency: summary.Latency{P50: p50}} }
	for _, tc := range []struct {
		p50s []float64
		want int // Repeat of the pick
		p50  float64
	}{
		{[]float64{5, 3, 4}, 3, 4},    // the third repeat is the median
		{[]float64{2, 9, 1, 7}, 1, 2}, // even count: the lower middle
		{[]float64{6}, 0, 6},          // a single repeat has no number
	} {
		var fs []summary.Figures
		for _, v := range tc.p50s {
			fs = append(fs, fig(v))
		}
		got := median(fs)
		if got.Repeat != tc.want || got.Latency.P50 != tc.p50 {
			t.Errorf("%v: repeat %d p50 %v, want repeat %d p50 %v", tc.p50s, got.Repeat, got.Latency.P50, tc.want, tc.p50)
		}
	}
}
