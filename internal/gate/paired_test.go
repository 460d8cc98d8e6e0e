package gate

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// abPairs makes n A/B pairs of one-repeat runs. Each pair runs on a machine whose speed
// changes by up to 2x from pair to pair (the shared-machine drift the A/B design cancels);
// every timing has its own noise of about ±sd (log scale); the new side's timings are
// shift slower. Counts and ratios are the same on both sides unless newCounts changes them.
func abPairs(rng *rand.Rand, n int, shift, sd float64, newCounts func(map[string][]float64)) []Pair {
	timings := map[string]float64{"latency.p50": 1.4, "latency.p99": 25, "service_time.p50": 0.6, "nocache.latency.p50": 17}
	var pairs []Pair
	for range n {
		machine := math.Exp(rng.Float64() * math.Ln2)
		side := func(f float64, isNew bool) *summary.Summary {
			s := map[string][]float64{"hit_rate.tier": {0.985}, "db_queries.per_request": {0.643}, "errors": {0}, "stale_reads": {0}}
			for _, m := range slices.Sorted(maps.Keys(timings)) { // in order: the same draws every time
				s[m] = []float64{timings[m] * machine * f * math.Exp(rng.NormFloat64()*sd)}
			}
			if isNew && newCounts != nil {
				newCounts(s)
			}
			return run(s)
		}
		pairs = append(pairs, Pair{Old: side(1, false), New: side(1+shift, true)})
	}
	return pairs
}

func verdictOf(t *testing.T, res *Result, metric string) Verdict {
	t.Helper()
	for _, r := range res.Rows {
		if r.Metric == metric {
			return r.Verdict
		}
	}
	t.Fatalf("no row for %s", metric)
	return ""
}

// TestComparePairsPower: over 200 trials of 5 noisy pairs (8% noise, 2x drift between
// pairs), a 30% slowdown is a regression in nearly every trial and the same code on both
// sides fails in nearly none, whatever the drift.
func TestComparePairsPower(t *testing.T) {
	rng := rand.New(rand.NewPCG(26, 2))
	const trials = 200
	caught, falseAlarms := 0, 0
	for range trials {
		res, err := ComparePairs(abPairs(rng, 5, 0.30, 0.08, nil), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Regressed() {
			caught++
		}
		if res, _ = ComparePairs(abPairs(rng, 5, 0, 0.08, nil), Options{}); res.Regressed() {
			falseAlarms++
		}
	}
	if caught < trials*90/100 {
		t.Errorf("+30%% caught in %d of %d trials, want 90%%+", caught, trials)
	}
	if falseAlarms > trials*3/100 {
		t.Errorf("no change failed the gate in %d of %d trials, want at most 3%% (alpha 5%% over the whole table, and the tolerance)", falseAlarms, trials)
	}
}

func TestComparePairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	tests := []struct {
		name   string
		pairs  []Pair
		metric string
		want   Verdict
	}{
		// A 30% slowdown of every timing over 3% noise: a regression.
		{"slower", abPairs(rng, 5, 0.30, 0.03, nil), "latency.p50", Regression},
		// The same code on both sides: no difference.
		{"same", abPairs(rng, 5, 0, 0.03, nil), "latency.p50", NotSignificant},
		// 30% faster: an improvement, never a failure.
		{"faster", abPairs(rng, 5, -0.3, 0.03, nil), "service_time.p50", Improved},
		// +4% and nearly noiseless: significant, within the 10% tolerance.
		{"tiny", abPairs(rng, 5, 0.04, 0.002, nil), "latency.p50", WithinTolerance},
		// Two pairs: no test, a warning.
		{"two pairs", abPairs(rng, 2, 0.30, 0.03, nil), "latency.p50", TooFewSamples},
		// Counts stay strict: one error in one new run fails, with no test.
		{"errors", abPairs(rng, 5, 0, 0.03, func(s map[string][]float64) { s["errors"] = []float64{1} }), "errors", Regression},
		// Hit rates stay judged as the baseline gate judges them: 5 points lower fails.
		{"hit rate", abPairs(rng, 5, 0, 0.03, func(s map[string][]float64) { s["hit_rate.tier"] = []float64{0.935} }), "hit_rate.tier", Regression},
	}
	for _, tc := range tests {
		res, err := ComparePairs(tc.pairs, Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := verdictOf(t, res, tc.metric); got != tc.want {
			var b bytes.Buffer
			res.Write(&b)
			t.Errorf("%s: %s is %q, want %q\n%s", tc.name, tc.metric, got, tc.want, b.String())
		}
	}
}

func TestComparePairsErrors(t *testing.T) {
	if _, err := ComparePairs(nil, Options{}); !errors.Is(err, ErrNoBaseline) {
		t.Errorf("no pairs: %v, want ErrNoBaseline", err)
	}
	pairs := abPairs(rand.New(rand.NewPCG(1, 1)), 3, 0, 0.03, nil)
	pairs[1].New.Scenario = "mixed"
	if _, err := ComparePairs(pairs, Options{}); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "pair 2") {
		t.Errorf("another scenario in pair 2: %v, want ErrIncompatible naming pair 2", err)
	}
}

// TestCountsOnly: with CountsOnly a doubled latency is shown, not judged; a lost hit rate still fails.
func TestCountsOnly(t *testing.T) {
	base := run(map[string][]float64{"latency.p50": tight10, "hit_rate.tier": hit90})
	cur := run(map[string][]float64{"latency.p50": {20, 20.4, 19.8, 20.2, 20.1, 19.9, 20.3, 20}, "hit_rate.tier": hit85})
	res, err := Compare(base, cur, Options{CountsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if v := verdictOf(t, res, "latency.p50"); v != NotJudged {
		t.Errorf("latency.p50: %q, want %q", v, NotJudged)
	}
	if v := verdictOf(t, res, "hit_rate.tier"); v != Regression {
		t.Errorf("hit_rate.tier: %q, want a regression", v)
	}
}

func TestWritePairsGolden(t *testing.T) {
	res, err := ComparePairs(abPairs(rand.New(rand.NewPCG(3, 4)), 5, 0.30, 0.05, nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Baseline.Git, res.Current.Git = "0123456789abcdef", "fedcba9876543210"
	var b bytes.Buffer
	if err := res.Write(&b); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "pairs.golden", b.Bytes())
}

// TestComparePairsTooNoisy: pairs whose timings scatter far more than the tolerance pass (no
// finding) but say that a change of the tolerance's size could hide in them.
func TestComparePairsTooNoisy(t *testing.T) {
	res, err := ComparePairs(abPairs(rand.New(rand.NewPCG(9, 9)), 6, 0, 0.6, nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Regressed() || !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "could hide in the noise") }) {
		t.Errorf("regressed %v, notes %q: want a pass with the noise note", res.Regressed(), res.Notes)
	}
}
