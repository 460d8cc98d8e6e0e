package metrics

import (
	"math"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// Histogram bounds: microseconds from 1 µs to 60 s.
const (
	histMin    = 1
	histMax    = 60_000_000
	histDigits = 3 // whole-run, endpoint and phase histograms
	// secondDigits is the precision of the per-second histograms (1%): they only feed the
	// p50/p99 series of the charts and are many.
	secondDigits = 2
)

// hist is an HDR histogram of latencies with the exact maximum kept beside it.
type hist struct {
	h   *hdrhistogram.Histogram
	max int64 // µs, exact
}

func newHist(digits int) *hist { return &hist{h: hdrhistogram.New(histMin, histMax, digits)} }

// record adds d, clamped to the histogram's range.
func (x *hist) record(d time.Duration) {
	us := d.Microseconds()
	if us > x.max {
		x.max = us
	}
	_ = x.h.RecordValue(min(max(us, histMin), histMax))
}

func (x *hist) count() int64 { return x.h.TotalCount() }

// quantileMS is the latency at percentile q (0-100) in milliseconds.
func (x *hist) quantileMS(q float64) float64 {
	if x.h.TotalCount() == 0 {
		return 0
	}
	return float64(x.h.ValueAtQuantile(q)) / 1000
}

func (x *hist) maxMS() float64 { return float64(x.max) / 1000 }

// latency summarises x in milliseconds.
func (x *hist) latency() summary.Latency {
	if x == nil || x.h.TotalCount() == 0 {
		return summary.Latency{}
	}
	return summary.Latency{
		Mean: x.h.Mean() / 1000,
		P50:  x.quantileMS(50),
		P90:  x.quantileMS(90),
		P95:  x.quantileMS(95),
		P99:  x.quantileMS(99),
		P999: x.quantileMS(99.9),
		Max:  x.maxMS(),
	}
}

// percentileCurve is the HDR-style latency-by-percentile curve: ticks at
// 100·(1 − 10^(−k/4)) for k = 0 … 20 (0%, 43.8%, 68.4%, … 99.999%) and the usual round
// percentiles, in increasing order.
func (x *hist) percentileCurve() []summary.PercentilePoint {
	if x.h.TotalCount() == 0 {
		return nil
	}
	ps := []float64{}
	for k := 0; k <= 20; k++ {
		ps = append(ps, 100*(1-math.Pow(10, -float64(k)/4)))
	}
	ps = append(ps, 50, 75, 90, 95, 99, 99.9, 99.99)
	slices.Sort(ps)
	var out []summary.PercentilePoint
	last := -1.0
	for _, p := range ps {
		p = math.Round(p*1000) / 1000
		if p <= last {
			continue
		}
		last = p
		out = append(out, summary.PercentilePoint{Percentile: p, LatencyMS: x.quantileMS(p)})
	}
	return out
}
