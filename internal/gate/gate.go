package gate

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/atlasbench/atlasbench/internal/stats"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

// ErrIncompatible is wrapped by Compare's error when the baseline was recorded for another
// scenario, cache config, mode or environment class; bench gate exits 3 on it.
var ErrIncompatible = errors.New("gate: incompatible baseline")

// ErrNoBaseline is returned by Compare without a baseline; bench gate exits 3 on it.
var ErrNoBaseline = errors.New("gate: no baseline")

// FieldDiff is one field in which a baseline and the current run differ.
type FieldDiff struct {
	Field             string // "scenario", "config", "mode", "env.redis_backend", "env.db", "env.cpus"
	Baseline, Current string
}

// IncompatibleError lists every field that makes a baseline incomparable. It wraps
// ErrIncompatible.
type IncompatibleError struct {
	Diffs []FieldDiff
}

// Error implements error.
func (e *IncompatibleError) Error() string {
	parts := make([]string, len(e.Diffs))
	for i, d := range e.Diffs {
		parts[i] = fmt.Sprintf("%s is %q in the baseline but %q in this run", d.Field, d.Baseline, d.Current)
	}
	return ErrIncompatible.Error() + ": " + strings.Join(parts, "; ") +
		" (compare like with like, or record a baseline for this setup with bench gate -update)"
}

// Unwrap returns ErrIncompatible.
func (e *IncompatibleError) Unwrap() error { return ErrIncompatible }

// compatible checks that the two runs measured the same thing on the same class of machine.
func compatible(base, cur *summary.Summary) error {
	var diffs []FieldDiff
	check := func(field, b, c string) {
		if b != c {
			diffs = append(diffs, FieldDiff{field, b, c})
		}
	}
	check("scenario", base.Scenario, cur.Scenario)
	check("config", base.Config, cur.Config)
	check("mode", string(base.Figures.Mode), string(cur.Figures.Mode))
	check("env.redis_backend", base.Env.RedisBackend, cur.Env.RedisBackend)
	check("env.db", base.Env.DB, cur.Env.DB)
	check("env.cpus", strconv.Itoa(base.Env.CPUs), strconv.Itoa(cur.Env.CPUs))
	if len(diffs) > 0 {
		return &IncompatibleError{Diffs: diffs}
	}
	return nil
}

// Verdict is the gate's decision on one metric.
type Verdict string

// The verdicts. Only Regression fails the gate.
const (
	Regression      Verdict = "regression"            // worse, significant and beyond tolerance (or strict)
	WithinTolerance Verdict = "within tolerance"      // worse and significant, but by less than the tolerance
	NotSignificant  Verdict = "~"                     // no difference the test can tell from noise
	Improved        Verdict = "improved"              // better and significant
	Changed         Verdict = "changed"               // a neutral metric moved significantly
	TooFewSamples   Verdict = "warn: too few samples" // no test can reach significance with these sample sizes
	Missing         Verdict = "missing"               // only one of the runs has the metric
	// Inconclusive is a latency metric (threshold.Path.Latency) the gate would judge when
	// the load generator was saturated in either run (summary.Summary.Inconclusive):
	// neither a regression nor not.
	Inconclusive Verdict = "INCONCLUSIVE"
	NotJudged    Verdict = "not judged" // Options.CountsOnly: a metric that drifts with the machine
)

// Row is the comparison of one metric.
type Row struct {
	Metric    string
	Direction Direction
	// Strict metrics are judged on their worst repeat with no test; Absolute ones have their
	// tolerance and Delta in their own units (points for ratios) instead of relative.
	Strict, Absolute bool
	Unit             threshold.Unit
	Tolerance        float64
	Baseline         stats.Stat
	Current          stats.Stat
	// Delta is Current − Baseline (Absolute) or Current/Baseline − 1, of the centers (the
	// worst repeats for Strict metrics); NaN when one side is missing.
	Delta   float64
	Test    stats.Test
	Verdict Verdict
	// Note explains the verdict in a few words: "beyond 10%", "strict", "judged on value".
	Note string
	// Paired rows (ComparePairs) were judged pair by pair: Delta is the geometric mean of the
	// pairs' ratios new/old − 1, Test.P the paired t-test's p adjusted for the number of paired
	// metrics, Up how many pairs rose, Lo and Hi the 95% interval of Delta (the pairs' t interval).
	Paired bool
	Up     int
	Lo, Hi float64
}

// Result is the comparison of a run with its baseline.
type Result struct {
	Scenario, Config string
	Baseline         RunInfo
	Current          RunInfo
	Alpha            float64
	Confidence       float64
	Rows             []Row
	// Notes are caveats worth printing: embedded Redis, interrupted runs, too few samples.
	Notes []string
	// Pairs is the number of A/B pairs of a ComparePairs result (0 for Compare).
	Pairs int
}

// RunInfo identifies one side of the comparison.
type RunInfo struct {
	Count int    // repeats (at least 1)
	Git   string // the commit it ran, if known
}

// Regressed reports whether any metric regressed.
func (r *Result) Regressed() bool {
	for _, row := range r.Rows {
		if row.Verdict == Regression {
			return true
		}
	}
	return false
}

// Inconclusive reports whether a latency metric went unjudged because a run's generator
// was saturated.
func (r *Result) Inconclusive() bool {
	for _, row := range r.Rows {
		if row.Verdict == Inconclusive {
			return true
		}
	}
	return false
}

// Compare judges current against baseline, metric by metric: the union of both summaries'
// Samples keys (a summary without Samples contributes its figures as single samples). It
// returns an error wrapping ErrNoBaseline or ErrIncompatible when the two cannot be
// compared, and a plain error for bad Options.
func Compare(baseline, current *summary.Summary, o Options) (*Result, error) {
	if baseline == nil {
		return nil, ErrNoBaseline
	}
	if current == nil {
		return nil, errors.New("gate: no current summary")
	}
	opts, err := o.resolve()
	if err != nil {
		return nil, err
	}
	if err := compatible(baseline, current); err != nil {
		return nil, err
	}
	res := &Result{
		Scenario: current.Scenario, Config: current.Config,
		Baseline:   RunInfo{Count: max(baseline.Count, 1), Git: baseline.Env.Git},
		Current:    RunInfo{Count: max(current.Count, 1), Git: current.Env.Git},
		Alpha:      opts.alpha,
		Confidence: opts.confidence,
	}
	metrics := map[string]bool{}
	for k := range baseline.Samples {
		metrics[k] = true
	}
	for k := range current.Samples {
		metrics[k] = true
	}
	if len(metrics) == 0 {
		for _, m := range fallbackMetrics() {
			metrics[m] = true
		}
	}
	var names []string
	for m := range metrics {
		names = append(names, m)
	}
	sortMetrics(names)
	for _, m := range names {
		b, c := threshold.Values(baseline, m), threshold.Values(current, m)
		if len(b) == 0 && len(c) == 0 {
			continue
		}
		row := judge(m, b, c, opts)
		// A verdict on a latency metric is not one when a generator was saturated; rows the
		// gate does not judge anyway (missing, too few samples, not judged) stay as they are.
		if why := saturated(baseline, current); why != "" && row.Verdict != Missing && row.Verdict != TooFewSamples && row.Verdict != NotJudged {
			if p, err := threshold.ParsePath(m); err == nil && p.Latency() {
				row.Verdict, row.Note = Inconclusive, why
			}
		}
		res.Rows = append(res.Rows, row)
	}
	res.Notes = notes(baseline, current, res)
	return res, nil
}

// saturated names the run(s) whose load generator was saturated; "" when neither was.
func saturated(base, cur *summary.Summary) string {
	switch {
	case base.Inconclusive != "" && cur.Inconclusive != "":
		return "generator saturated in both runs"
	case base.Inconclusive != "":
		return "generator saturated in the baseline"
	case cur.Inconclusive != "":
		return "generator saturated in this run"
	}
	return ""
}

// judge compares one metric's samples.
func judge(metric string, base, cur []float64, o resolved) Row {
	k := classify(metric)
	r := Row{
		Metric: metric, Direction: k.dir, Strict: k.strict, Absolute: k.absolute, Unit: k.unit,
		Tolerance: o.tolerance(metric, k.family),
		Baseline:  stats.Summarize(base, o.confidence),
		Current:   stats.Summarize(cur, o.confidence),
		Delta:     math.NaN(),
		Test:      stats.Test{P: math.NaN(), N1: len(base), N2: len(cur), Alpha: o.alpha},
	}
	switch {
	case len(base) == 0:
		r.Verdict, r.Note = Missing, "only in this run"
		return r
	case len(cur) == 0:
		r.Verdict, r.Note = Missing, "only in the baseline"
		return r
	}
	if k.strict {
		// Deterministic: any increase of the worst repeat beyond the tolerance fails.
		r.Delta = r.Current.Max - r.Baseline.Max
		switch {
		case r.Delta > r.Tolerance:
			r.Verdict, r.Note = Regression, "strict"
			if r.Tolerance > 0 {
				r.Note = "strict, beyond " + formatTolerance(r)
			}
		case r.Delta < -r.Tolerance:
			r.Verdict = Improved
		case r.Delta < 0:
			r.Verdict, r.Note = WithinTolerance, "strict, "+formatTolerance(r)
		case r.Delta > 0:
			r.Verdict, r.Note = WithinTolerance, "strict, "+formatTolerance(r)
		default:
			r.Verdict = NotSignificant
		}
		return r
	}
	r.Delta = delta(r.Baseline.Center, r.Current.Center, k.absolute)
	if o.countsOnly && !k.deterministic {
		r.Verdict, r.Note = NotJudged, "drifts with the machine: judged by bench gate -against"
		return r
	}
	r.Test = stats.Significance(base, cur, o.alpha)
	worse := k.dir == LowerBetter && r.Delta > 0 || k.dir == HigherBetter && r.Delta < 0
	beyond := math.Abs(r.Delta) > r.Tolerance
	switch {
	case r.Test.TooFew && k.deterministic && k.dir != Neutral:
		// Nearly deterministic for a seeded run: the tolerance is its noise allowance.
		switch {
		case worse && beyond:
			r.Verdict, r.Note = Regression, "judged on value, beyond "+formatTolerance(r)
		case !worse && beyond:
			r.Verdict, r.Note = Improved, "judged on value"
		default:
			r.Verdict, r.Note = NotSignificant, "too few samples to test; within "+formatTolerance(r)
		}
	case r.Test.TooFew:
		r.Verdict = TooFewSamples
		r.Note = fmt.Sprintf("n=%d+%d", len(base), len(cur))
	case !r.Test.Significant:
		r.Verdict = NotSignificant
	case k.dir == Neutral:
		r.Verdict = Changed
	case worse && beyond:
		r.Verdict, r.Note = Regression, "beyond "+formatTolerance(r)
	case !beyond:
		// Significant but smaller than the tolerance, either way: neither a regression
		// nor an improvement.
		r.Verdict, r.Note = WithinTolerance, formatTolerance(r)
	default:
		r.Verdict = Improved
	}
	return r
}

// delta is cur − base (absolute) or cur/base − 1; ±Inf when a relative change starts at 0.
func delta(base, cur float64, absolute bool) float64 {
	switch {
	case absolute:
		return cur - base
	case base == cur:
		return 0
	case base == 0:
		return math.Copysign(math.Inf(1), cur)
	}
	return cur/base - 1
}

// formatTolerance writes a row's tolerance in its terms: "10%", "2 pts", "0".
func formatTolerance(r Row) string {
	switch {
	case r.Strict:
		return strconv.FormatFloat(r.Tolerance, 'g', -1, 64)
	case r.Absolute:
		return strconv.FormatFloat(100*r.Tolerance, 'g', 3, 64) + " pts"
	}
	return strconv.FormatFloat(100*r.Tolerance, 'g', 3, 64) + "%"
}

// notes collects the caveats of a comparison.
func notes(base, cur *summary.Summary, res *Result) []string {
	var out []string
	for _, n := range base.Notes {
		out = append(out, "baseline: "+n.String())
	}
	for _, n := range cur.Notes {
		out = append(out, "this run: "+n.String())
	}
	if base.Interrupted {
		out = append(out, "baseline: the run was interrupted; its figures cover only part of the scenario")
	}
	if cur.Interrupted {
		out = append(out, "this run: the run was interrupted; its figures cover only part of the scenario")
	}
	if base.Inconclusive != "" {
		out = append(out, "baseline: "+base.Inconclusive)
	}
	if cur.Inconclusive != "" {
		out = append(out, "this run: "+cur.Inconclusive)
	}
	var few []string
	for _, r := range res.Rows {
		if r.Test.TooFew && !r.Strict && r.Verdict != Missing {
			few = append(few, r.Metric)
		}
	}
	if len(few) > 0 {
		need := stats.SamplesNeeded(res.Alpha)
		out = append(out, fmt.Sprintf("%d metrics have too few samples for the U test to reach p < %v (need -count %d or more on both sides); "+
			"latency and other noisy metrics are reported, not judged; hit rates and DB queries are judged on their values",
			len(few), res.Alpha, need))
	}
	return out
}
