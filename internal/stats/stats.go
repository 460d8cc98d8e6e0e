package stats

import (
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
)

// The default levels: a difference is significant at p < DefaultAlpha; a median's
// interval is at DefaultConfidence.
const (
	DefaultAlpha      = 0.05
	DefaultConfidence = 0.95
)

// Stat summarises one side's samples of a metric.
type Stat struct {
	N      int     // samples
	Center float64 // median
	Lo, Hi float64 // confidence interval of the median; ±Inf when N is too small for one
	Max    float64 // the worst repeat of a strict metric is its largest
}

// Summarize returns the median of values with its confidence interval at level confidence
// (benchmath.AssumeNothing), and the largest value. values is not modified.
func Summarize(values []float64, confidence float64) Stat {
	if len(values) == 0 {
		return Stat{Center: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Max: math.NaN()}
	}
	th := benchmath.Thresholds{CompareAlpha: DefaultAlpha}
	s := benchmath.NewSample(slices.Clone(values), &th)
	sum := benchmath.AssumeNothing.Summary(s, confidence)
	return Stat{N: len(values), Center: sum.Center, Lo: sum.Lo, Hi: sum.Hi, Max: s.Values[len(s.Values)-1]}
}

// Test is the outcome of comparing two sets of samples with the Mann-Whitney U test.
type Test struct {
	P           float64 // p-value of "same distribution"; 1 when the test cannot run
	N1, N2      int
	Alpha       float64
	Significant bool // P < Alpha
	// TooFew is true when N1 and N2 are too small for any outcome to reach P < Alpha
	// (with alpha 0.05: fewer than 4 on each side, or a single sample against fewer than 40).
	// The result is then "no evidence", not "no change".
	TooFew   bool
	Warnings []string // benchmath's, such as "all samples are equal"
}

// Significance tests whether base and cur come from different distributions at level alpha
// (benchmath.AssumeNothing: Mann-Whitney U, two-sided). The slices are not modified.
func Significance(base, cur []float64, alpha float64) Test {
	t := Test{P: 1, N1: len(base), N2: len(cur), Alpha: alpha}
	if len(base) == 0 || len(cur) == 0 {
		t.TooFew = true
		return t
	}
	th := benchmath.Thresholds{CompareAlpha: alpha}
	c := benchmath.AssumeNothing.Compare(benchmath.NewSample(slices.Clone(base), &th), benchmath.NewSample(slices.Clone(cur), &th))
	t.P = c.P
	t.Significant = c.P < alpha
	t.TooFew = MinP(len(base), len(cur)) >= alpha
	for _, w := range c.Warnings {
		t.Warnings = append(t.Warnings, w.Error())
	}
	return t
}

// MinP is the smallest two-sided p-value the exact U test can give for samples of n1 and
// n2 values: 2 / C(n1+n2, n1), when every value of one side is below every value of the other.
func MinP(n1, n2 int) float64 {
	c := 1.0
	for i := 1; i <= min(n1, n2); i++ {
		c = c * float64(max(n1, n2)+i) / float64(i)
		if c > 1e12 {
			break
		}
	}
	return min(1, 2/c)
}

// SamplesNeeded is the smallest n such that n samples on each side can reach p < alpha.
func SamplesNeeded(alpha float64) int {
	for n := 1; n < 1000; n++ {
		if MinP(n, n) < alpha {
			return n
		}
	}
	return 1000
}
