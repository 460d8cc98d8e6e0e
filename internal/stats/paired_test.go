package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// noisyPairs returns n pairs of latency-like values: each pair shares a machine factor
// (the load when the pair ran, varying 2x between pairs), each value has its own noise of
// about ±sd (log scale), and new is shift more than old.
func noisyPairs(rng *rand.Rand, n int, shift, sd float64) (old, new []float64) {
	for range n {
		machine := math.Exp(rng.Float64()*math.Ln2) * 2.0 // 2 ms .. 4 ms
		old = append(old, machine*math.Exp(rng.NormFloat64()*sd))
		new = append(new, machine*(1+shift)*math.Exp(rng.NormFloat64()*sd))
	}
	return old, new
}

func TestPaired(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new []float64
		sig      bool
		tooFew   bool
		ratio    float64 // NaN: not checked
	}{
		// Every pair 30% slower on a machine whose speed halves between pairs: certain.
		{"same factor", []float64{1, 2, 4, 8}, []float64{1.3, 2.6, 5.2, 10.4}, true, false, 0.3},
		// Nothing changed at all.
		{"identical", []float64{1, 2, 4}, []float64{1, 2, 4}, false, false, 0},
		// Up and down by the same factors: no change.
		{"up and down", []float64{1, 2, 4, 8}, []float64{1.1, 1.8, 4.4, 7.2}, false, false, math.NaN()},
		// Two pairs: no test.
		{"two pairs", []float64{1, 2}, []float64{2, 4}, false, true, math.NaN()},
		// A zero has no log ratio: no test.
		{"zero", []float64{1, 0, 4}, []float64{1, 1, 4}, false, true, math.NaN()},
	} {
		r := Paired(tc.old, tc.new, DefaultAlpha, DefaultConfidence)
		if r.Significant != tc.sig || r.TooFew != tc.tooFew || !math.IsNaN(tc.ratio) && math.Abs(r.Ratio-tc.ratio) > 1e-9 {
			t.Errorf("%s: %+v, want significant %v, too few %v, ratio %v", tc.name, r, tc.sig, tc.tooFew, tc.ratio)
		}
	}
}

// TestPairedPower: over noisy pairs whose machine speed varies 2x between pairs (far more
// than the change), a 30% shift is found in nearly every trial of 5 pairs, and pairs from
// the same distribution are called significant at about the test's alpha, not more.
func TestPairedPower(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const trials = 2000
	found, false_ := 0, 0
	for range trials {
		old, new := noisyPairs(rng, 5, 0.30, 0.08)
		if r := Paired(old, new, DefaultAlpha, DefaultConfidence); r.Significant && r.Ratio > 0.10 {
			found++
		}
		old, new = noisyPairs(rng, 5, 0, 0.08)
		if r := Paired(old, new, DefaultAlpha, DefaultConfidence); r.Significant {
			false_++
		}
	}
	if found < trials*95/100 {
		t.Errorf("a 30%% shift over 8%% noise was found in %d of %d trials, want 95%%+", found, trials)
	}
	if false_ > trials*8/100 {
		t.Errorf("no change was called significant in %d of %d trials, want about alpha (5%%)", false_, trials)
	}
}

func TestMaxT(t *testing.T) {
	up := []float64{0.30, 0.25, 0.35, 0.28, 0.31, 0.27} // every pair up
	mixed := []float64{0.1, -0.2, 0.15, -0.05, 0.02, -0.1}
	// Every pair up: only the observed pattern reaches its t, p = 1/2^6.
	if p := MaxT([][]float64{up}, []float64{1}); p[0] != 1.0/64 {
		t.Errorf("all up: p = %v, want 1/64", p[0])
	}
	// Tested for a decrease, the same pairs are nowhere near.
	if p := MaxT([][]float64{up}, []float64{-1}); p[0] < 0.9 {
		t.Errorf("all up, tested down: p = %v, want near 1", p[0])
	}
	// A copy of the metric (two figures that move together) costs nothing: max-T, not Bonferroni.
	if p := MaxT([][]float64{up, up}, []float64{1, 1}); p[0] != 1.0/64 || p[1] != 1.0/64 {
		t.Errorf("two copies: p = %v, want 1/64 each", p)
	}
	// A noisy metric beside it raises the bar a little, never below the observed pattern's share.
	if p := MaxT([][]float64{up, mixed}, []float64{1, 1}); p[0] < 1.0/64 || p[0] > 0.05 || p[1] < 0.2 {
		t.Errorf("up and mixed: p = %v, want the first still < 0.05, the second not significant", p)
	}
	// One disturbed pair among unchanged ones is not a finding.
	spike := []float64{0.01, -0.02, 1.5, 0.0, -0.01, 0.02}
	if p := MaxT([][]float64{spike}, []float64{1}); p[0] < 0.05 {
		t.Errorf("one spike: p = %v, want not significant", p[0])
	}
	// Too few pairs or a NaN: untested.
	if p := MaxT([][]float64{{0.1, 0.2}, {0.1, math.NaN(), 0.3}}, []float64{1, 1}); !math.IsNaN(p[0]) || !math.IsNaN(p[1]) {
		t.Errorf("untestable: p = %v, want NaN", p)
	}
	if n := PairsNeeded(0.05); n != 5 {
		t.Errorf("PairsNeeded(0.05) = %d, want 5", n)
	}
}
