package gate

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/atlasbench/atlasbench/internal/stats"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

// Pair is one A/B pair: a run of the old code and a run of the new code, of the same
// scenario, back to back on one machine (bench gate -against).
type Pair struct {
	Old, New *summary.Summary
}

// ComparePairs judges the new code against the old from pairs run alternately (A B B A …)
// on one machine, so that the machine's load falls on both sides of each pair.
//
// What drifts with the machine (latency, service time, speed-up, achieved rate) is judged
// pair by pair: stats.Paired's t-test of the log ratios new/old, its p-values adjusted for
// the number of such metrics (Holm–Bonferroni, so that the chance of any false regression
// in one gate stays below alpha), and a regression must be significant after that AND its
// geometric mean change beyond the tolerance. What does not drift (hit rates, DB queries
// per request, errors, isolation, staleness) is judged as Compare judges it, all old runs'
// values against all new runs'. It returns an error wrapping ErrNoBaseline without pairs,
// ErrIncompatible when two runs measured different things, and a plain error for bad Options.
func ComparePairs(pairs []Pair, o Options) (*Result, error) {
	if len(pairs) == 0 {
		return nil, ErrNoBaseline
	}
	opts, err := o.resolve()
	if err != nil {
		return nil, err
	}
	metrics := map[string]bool{}
	for i, p := range pairs {
		if p.Old == nil || p.New == nil {
			return nil, fmt.Errorf("gate: pair %d lacks a run", i+1)
		}
		if err := compatible(pairs[0].Old, p.Old); err != nil {
			return nil, fmt.Errorf("gate: pair %d: old run unlike pair 1's: %w", i+1, err)
		}
		if err := compatible(p.Old, p.New); err != nil {
			return nil, fmt.Errorf("gate: pair %d: %w", i+1, err)
		}
		for _, s := range []*summary.Summary{p.Old, p.New} {
			for k := range s.Samples {
				metrics[k] = true
			}
		}
	}
	if len(metrics) == 0 {
		for _, m := range fallbackMetrics() {
			metrics[m] = true
		}
	}
	names := make([]string, 0, len(metrics))
	for m := range metrics {
		names = append(names, m)
	}
	sortMetrics(names)
	first := pairs[0]
	res := &Result{
		Scenario: first.New.Scenario, Config: first.New.Config,
		Baseline:   RunInfo{Count: len(pairs), Git: first.Old.Env.Git},
		Current:    RunInfo{Count: len(pairs), Git: first.New.Env.Git},
		Alpha:      opts.alpha,
		Confidence: opts.confidence,
		Pairs:      len(pairs),
	}
	var paired []int // indices into res.Rows
	for _, m := range names {
		var old, cur, oldAll, curAll []float64
		for _, p := range pairs {
			o, c := threshold.Values(p.Old, m), threshold.Values(p.New, m)
			oldAll, curAll = append(oldAll, o...), append(curAll, c...)
			old, cur = append(old, median(o)), append(cur, median(c))
		}
		if len(oldAll) == 0 && len(curAll) == 0 {
			continue
		}
		k := classify(m)
		if k.strict || k.deterministic || k.absolute || slices.ContainsFunc(append(old, cur...), func(v float64) bool { return !(v > 0) }) {
			res.Rows = append(res.Rows, judge(m, oldAll, curAll, opts))
			continue
		}
		paired = append(paired, len(res.Rows))
		res.Rows = append(res.Rows, judgePaired(m, k, old, cur, opts))
	}
	holm(res.Rows, paired, opts.alpha)
	for _, i := range paired {
		verdictPaired(&res.Rows[i])
	}
	res.Notes = pairNotes(pairs, res)
	return res, nil
}

// median of values; NaN when there are none.
func median(values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	return stats.Summarize(values, stats.DefaultConfidence).Center
}

// judgePaired fills a row of a paired metric; its verdict waits for holm.
func judgePaired(metric string, k kind, old, cur []float64, o resolved) Row {
	t := stats.Paired(old, cur, o.alpha, o.confidence)
	return Row{
		Metric: metric, Direction: k.dir, Unit: k.unit, Paired: true,
		Tolerance: o.tolerance(metric, k.family),
		Baseline:  stats.Summarize(old, o.confidence),
		Current:   stats.Summarize(cur, o.confidence),
		Delta:     t.Ratio,
		Test:      t.Test,
		Up:        t.Up,
	}
}

// holm adjusts the p-values of rows[idx] for their number (Holm–Bonferroni step-down) and
// marks them significant at alpha after the adjustment.
func holm(rows []Row, idx []int, alpha float64) {
	var tested []int
	for _, i := range idx {
		if !rows[i].Test.TooFew {
			tested = append(tested, i)
		}
	}
	slices.SortStableFunc(tested, func(a, b int) int {
		return cmp.Compare(rows[a].Test.P, rows[b].Test.P)
	})
	running := 0.0
	for j, i := range tested {
		running = max(running, min(1, float64(len(tested)-j)*rows[i].Test.P))
		rows[i].Test.P = running
		rows[i].Test.Significant = running < alpha
	}
}

// verdictPaired decides a paired row from its adjusted test and its change.
func verdictPaired(r *Row) {
	worse := r.Direction == LowerBetter && r.Delta > 0 || r.Direction == HigherBetter && r.Delta < 0
	beyond := math.Abs(r.Delta) > r.Tolerance
	switch {
	case r.Test.TooFew:
		r.Verdict = TooFewSamples
		r.Note = fmt.Sprintf("%d pairs; need %d", r.Test.N1, stats.MinPairs)
	case !r.Test.Significant:
		r.Verdict = NotSignificant
	case r.Direction == Neutral:
		r.Verdict = Changed
	case worse && beyond:
		r.Verdict, r.Note = Regression, "beyond "+formatTolerance(*r)
	case !beyond:
		r.Verdict, r.Note = WithinTolerance, formatTolerance(*r)
	default:
		r.Verdict = Improved
	}
	if r.Verdict != TooFewSamples {
		r.Note = joinNote(r.Note, fmt.Sprintf("%d of %d pairs up", r.Up, r.Test.N1))
	}
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// pairNotes are the caveats of an A/B comparison.
func pairNotes(pairs []Pair, res *Result) []string {
	var out []string
	for i, p := range pairs {
		if p.Old.Interrupted || p.New.Interrupted {
			out = append(out, fmt.Sprintf("pair %d: a run was interrupted; its figures cover only part of the scenario", i+1))
		}
	}
	if len(pairs) < stats.MinPairs {
		out = append(out, fmt.Sprintf("%d pairs are too few to judge latency (need %d: bench gate -against -pairs %d)", len(pairs), stats.MinPairs, stats.MinPairs))
	}
	return out
}
