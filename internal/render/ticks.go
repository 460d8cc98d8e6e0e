package render

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// NiceStep is the round step (1, 2, 2.5 or 5 × 10^k) that cuts span into about n intervals.
func NiceStep(span float64, n int) float64 {
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return mag * 10
}

// TickLabel is a tick value without float noise: 0.30000000000000004 → "0.3".
func TickLabel(v float64) string {
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}

// PercentTicks labels 0–100% every 20 points, with minor ticks between.
func PercentTicks() []plot.Tick {
	var ticks []plot.Tick
	for v := 0; v <= 100; v += 10 {
		t := plot.Tick{Value: float64(v)}
		if v%20 == 0 {
			t.Label = strconv.Itoa(v) + "%"
		}
		ticks = append(ticks, t)
	}
	return ticks
}
