package stats

import (
	"math"
	"math/rand/v2"

	moremath "github.com/aclements/go-moremath/stats"
)

// MinPairs is the fewest pairs Paired and MaxT test: with fewer, a t statistic's one or
// zero degrees of freedom mean nothing.
const MinPairs = 3

// PairsNeeded is the fewest pairs with which MaxT can reach p < alpha: its smallest p is
// 1/2^n (5 pairs for alpha 0.05).
func PairsNeeded(alpha float64) int {
	n := MinPairs
	for math.Pow(2, -float64(n)) >= alpha && n < 30 {
		n++
	}
	return n
}

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

// MaxT tests a family of paired metrics at once for a change in one direction, by flipping
// signs (Westfall and Young's single-step max-T, as permutation tests do it): under "no
// change" the old and new run of a pair could as well have been the other way round, so
// every pattern of swapped pairs is as likely as the one observed. d[m] are metric m's log
// ratios new/old, one per pair (every metric the same pairs; a metric with a NaN is left
// out: its p is NaN), dir[m] is +1 to test for an increase of m and −1 for a decrease. For
// each pattern the largest of the metrics' t statistics is taken; metric m's p is the share
// of patterns whose largest t reaches m's observed t. Those p-values hold the chance of any
// false finding in the whole family below alpha, however the metrics are correlated (a busy
// second slows all of them at once), and they do not assume normal noise: a single disturbed
// pair cannot make a finding. With n pairs the smallest p is 1/2^n (n ≤ 12: every pattern;
// beyond, 4096 patterns drawn with a fixed seed).
func MaxT(d [][]float64, dir []float64) []float64 {
	p := make([]float64, len(d))
	var use []int
	n := 0
	for m := range d {
		p[m] = math.NaN()
		ok := len(d[m]) >= MinPairs
		for _, v := range d[m] {
			ok = ok && !math.IsNaN(v) && !math.IsInf(v, 0)
		}
		if ok && (n == 0 || len(d[m]) == n) {
			n = len(d[m])
			use = append(use, m)
		}
	}
	if len(use) == 0 {
		return p
	}
	observed := make([]float64, len(d))
	for _, m := range use {
		observed[m] = tStat(d[m], dir[m], nil)
	}
	patterns, random := 1<<n, false
	if n > 12 {
		patterns, random = 4096, true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	flip := make([]bool, n)
	reach := make([]int, len(d))
	for k := range patterns {
		for i := range n {
			if random {
				flip[i] = k > 0 && rng.IntN(2) == 1 // pattern 0 is the observed one
			} else {
				flip[i] = k>>i&1 == 1
			}
		}
		best := math.Inf(-1)
		for _, m := range use {
			best = max(best, tStat(d[m], dir[m], flip))
		}
		for _, m := range use {
			if best >= observed[m]-1e-12 {
				reach[m]++
			}
		}
	}
	for _, m := range use {
		p[m] = float64(reach[m]) / float64(patterns)
	}
	return p
}

// tStat is the one-sample t statistic of sign·x with the pairs in flip swapped; ±Inf for
// a shift with no spread.
func tStat(x []float64, sign float64, flip []bool) float64 {
	var sum, sum2 float64
	for i, v := range x {
		v *= sign
		if flip != nil && flip[i] {
			v = -v
		}
		sum += v
		sum2 += v * v
	}
	n := float64(len(x))
	mean := sum / n
	variance := (sum2 - n*mean*mean) / (n - 1)
	if variance <= 1e-24 {
		switch {
		case mean > 0:
			return math.Inf(1)
		case mean < 0:
			return math.Inf(-1)
		}
		return 0
	}
	return mean / math.Sqrt(variance/n)
}
