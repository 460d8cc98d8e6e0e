package stats

import (
	"math"

	moremath "github.com/aclements/go-moremath/stats"
)

// MinPairs is the fewest pairs Paired tests: with fewer, a t-test's one or zero degrees of
// freedom make its p-value mean nothing.
const MinPairs = 3

// PairedTest is the outcome of Paired: a change measured pair by pair.
type PairedTest struct {
	Test
	// Ratio is the geometric mean of the pairs' ratios new/old, minus 1: +0.25 is 25% more.
	Ratio float64
	// Lo and Hi bound Ratio at the confidence level Paired was given (NaN when untested).
	Lo, Hi float64
	// Up is how many pairs rose (new > old).
	Up int
}

// Paired compares new with old pair by pair (old[i] and new[i] were measured back to back
// on one machine): a two-sided one-sample t-test (github.com/aclements/go-moremath/stats,
// the library benchstat's first version used) of the log ratios ln(new[i]/old[i]) against
// 0, at level alpha, and the geometric mean ratio with its interval at confidence. The
// machine's slow drift and load fall on both sides of every pair and cancel in its ratio;
// what is left is the change and the pair-to-pair noise the test weighs it against. All
// values must be > 0; with a pair that is not, or fewer than MinPairs pairs, the result is
// TooFew. The slices are not modified.
func Paired(old, new []float64, alpha, confidence float64) PairedTest {
	n := min(len(old), len(new))
	r := PairedTest{Test: Test{P: 1, N1: n, N2: n, Alpha: alpha}, Ratio: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	logs := make([]float64, 0, n)
	for i := range n {
		if !(old[i] > 0 && new[i] > 0) || math.IsInf(old[i], 0) || math.IsInf(new[i], 0) {
			r.TooFew = true
			return r
		}
		logs = append(logs, math.Log(new[i]/old[i]))
		if new[i] > old[i] {
			r.Up++
		}
	}
	if n < MinPairs || len(old) != len(new) {
		r.TooFew = true
		return r
	}
	mean := moremath.Mean(logs)
	r.Ratio = math.Expm1(mean)
	sd := moremath.StdDev(logs)
	if sd == 0 {
		// Every pair moved by exactly the same factor: a certain change, or none.
		r.Lo, r.Hi = r.Ratio, r.Ratio
		if mean != 0 {
			r.P, r.Significant = 0, true
		}
		return r
	}
	t, err := moremath.OneSampleTTest(moremath.Sample{Xs: logs}, 0, moremath.LocationDiffers)
	if err != nil {
		r.TooFew = true
		return r
	}
	r.P = t.P
	r.Significant = t.P < alpha
	half := moremath.InvCDF(moremath.TDist{V: float64(n - 1)})(1-(1-confidence)/2) * sd / math.Sqrt(float64(n))
	r.Lo, r.Hi = math.Expm1(mean-half), math.Expm1(mean+half)
	return r
}
