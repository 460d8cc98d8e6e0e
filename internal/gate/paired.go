package gate

import (
	"fmt"
	"math"
	"slices"
	"strings"

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
// pair by pair, on the log ratios new/old: the change is their mean (the geometric mean
// ratio), and its significance comes from stats.MaxT over all those metrics at once (sign
// flips of whole pairs, max-T), which keeps the chance of any false regression in one gate
// below alpha however correlated the metrics and whatever the shape of the noise. A
// regression is significant AND its change beyond the tolerance. What does not drift (hit
// rates, DB queries per request, errors, isolation, staleness) is judged as Compare judges
// it, all old runs' values against all new runs'. It returns an error wrapping
// ErrNoBaseline without pairs, ErrIncompatible when two runs measured different things, and
// a plain error for bad Options.
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
	var paired []int     // indices into res.Rows
	var logs [][]float64 // the paired rows' log ratios new/old
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
		lr := make([]float64, len(old))
		for i := range old {
			lr[i] = math.Log(cur[i] / old[i])
		}
		logs = append(logs, lr)
	}
	familyTest(res.Rows, paired, logs, opts.alpha)
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
		Lo:        t.Lo,
		Hi:        t.Hi,
	}
}

// familyTest replaces the paired rows' t-test p-values by stats.MaxT's over the whole family,
// in the direction each row moved (worse or better), and marks them significant at alpha.
// With fewer pairs than stats.PairsNeeded(alpha) no p can reach alpha: the rows are TooFew.
func familyTest(rows []Row, idx []int, logs [][]float64, alpha float64) {
	var d [][]float64
	var up []float64
	var which []int
	for j, i := range idx {
		if rows[i].Test.TooFew || rows[i].Direction == Neutral {
			continue // a neutral metric keeps its own t-test: it is reported, never judged
		}
		if rows[i].Test.N1 < stats.PairsNeeded(alpha) {
			rows[i].Test.TooFew, rows[i].Test.Significant = true, false
			continue
		}
		d, up, which = append(d, logs[j]), append(up, 1), append(which, i)
	}
	pUp := stats.MaxT(d, up)
	for k := range up {
		up[k] = -1
	}
	pDown := stats.MaxT(d, up)
	for k, i := range which {
		p := pUp[k]
		if rows[i].Delta < 0 {
			p = pDown[k]
		}
		rows[i].Test.P, rows[i].Test.Significant = p, p < alpha
	}
}

// verdictPaired decides a paired row from its adjusted test and its change.
func verdictPaired(r *Row) {
	worse := r.Direction == LowerBetter && r.Delta > 0 || r.Direction == HigherBetter && r.Delta < 0
	beyond := math.Abs(r.Delta) > r.Tolerance
	switch {
	case r.Test.TooFew:
		r.Verdict = TooFewSamples
		r.Note = fmt.Sprintf("%d pairs; need %d", r.Test.N1, stats.PairsNeeded(r.Test.Alpha))
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
	// Noise wider than the tolerance: the pairs' interval of a timing that did not move
	// significantly still holds changes beyond its tolerance both ways.
	var blind []string
	for _, r := range res.Rows {
		if r.Paired && r.Verdict == NotSignificant && r.Direction != Neutral && r.Lo < -r.Tolerance && r.Hi > r.Tolerance {
			blind = append(blind, fmt.Sprintf("%s (%+.0f%% to %+.0f%%)", r.Metric, 100*r.Lo, 100*r.Hi))
		}
	}
	if len(blind) > 0 {
		shown := strings.Join(blind[:min(len(blind), 3)], ", ")
		if len(blind) > 3 {
			shown += ", …"
		}
		out = append(out, fmt.Sprintf("%d timings vary between the pairs more than their tolerance: a change of that size could hide in the noise "+
			"(95%% interval of the change: %s); rerun with more -pairs or on a quieter machine to judge them", len(blind), shown))
	}
	if need := stats.PairsNeeded(res.Alpha); len(pairs) < need {
		out = append(out, fmt.Sprintf("%d pairs are too few to judge timings: no outcome can reach p < %v (need -pairs %d or more)", len(pairs), res.Alpha, need))
	}
	return out
}
