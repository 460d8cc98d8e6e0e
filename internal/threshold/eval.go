package threshold

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// ErrNotApplicable is wrapped by Eval's error when the summary lacks the figure because of
// the run's mode: db_query_reduction, speedup and nocache figures exist only when both modes
// ran. Such a threshold is neither passed nor failed.
var ErrNotApplicable = errors.New("not applicable")

// Eval reads the expression's figure from s and compares it with the limit. A figure s does
// not have (an endpoint that was not requested) is an error wrapping ErrMissing; the caller
// counts it as a failed threshold. A figure the run's mode cannot produce is an error
// wrapping ErrNotApplicable that gives the reason.
func (e Expr) Eval(s *summary.Summary) (value float64, pass bool, err error) {
	if e.Path.IsZero() {
		return 0, false, fmt.Errorf("threshold %q: not parsed", e.Raw)
	}
	if s != nil && s.IsolationNA != "" && len(e.Path.fields) > 0 && e.Path.fields[0] == "isolation_violations" {
		return 0, false, fmt.Errorf("%w: isolation: %s", ErrNotApplicable, s.IsolationNA)
	}
	v, err := e.Path.Resolve(s)
	if err != nil {
		if why := e.Path.notApplicable(s); why != "" && errors.Is(err, ErrMissing) {
			return 0, false, fmt.Errorf("%w: %s", ErrNotApplicable, why)
		}
		return 0, false, fmt.Errorf("threshold %q: %w", e.Raw, err)
	}
	return v, e.Op.Holds(v, e.Value), nil
}

// notApplicable says why s cannot have p's figure: p reads a figure that exists only when
// both modes ran and s is not such a run, or a fault phase of a -target run (which injects
// no faults); "" otherwise.
func (p Path) notApplicable(s *summary.Summary) string {
	if s == nil || len(p.fields) == 0 || s.Mode == summary.ModeBoth {
		return ""
	}
	if p.fields[0] == "phases" && s.Mode == summary.ModeTarget && (s.Series == nil || len(s.Series.Faults) == 0) && len(p.steps) > 1 {
		return fmt.Sprintf("phase %q comes from the scenario's faults, which a -target run does not inject", p.steps[1].key)
	}
	switch p.fields[0] {
	case "db_query_reduction", "speedup", "nocache":
	default:
		return ""
	}
	if s.Mode == summary.ModeTarget {
		return p.fields[0] + " needs both modes (-mode both); -target drives one server in one mode"
	}
	return fmt.Sprintf("%s needs both modes (-mode both); this run was -mode %s", p.fields[0], s.Mode)
}

// EvalAll evaluates every expression over s, in order. An expression that does not parse or
// whose figure s lacks is a failed threshold with Error set (and Value 0); one whose figure
// the run's mode cannot produce has NotApplicable set and Pass true.
func EvalAll(exprs []string, s *summary.Summary) []summary.Threshold {
	out := make([]summary.Threshold, 0, len(exprs))
	for _, x := range exprs {
		t := summary.Threshold{Expr: x}
		e, err := Parse(x)
		if err == nil {
			t.Value, t.Pass, err = e.Eval(s)
		}
		switch {
		case errors.Is(err, ErrNotApplicable):
			t.Value, t.Pass, t.NotApplicable = 0, true, strings.TrimPrefix(err.Error(), ErrNotApplicable.Error()+": ")
		case err != nil:
			t.Value, t.Pass, t.Error = 0, false, err.Error()
		}
		out = append(out, t)
	}
	return out
}

// NotJudged marks the thresholds of an interrupted run as not judged, for why: each keeps
// the value measured until the interrupt, with neither a pass nor a fail (Pass false,
// NotJudged set); one not applicable to the run's mode stays so.
func NotJudged(ts []summary.Threshold, why string) {
	for i := range ts {
		if ts[i].NotApplicable == "" {
			ts[i].Pass, ts[i].Error, ts[i].NotJudged = false, "", why
		}
	}
}

// Passed reports whether every threshold passed (true for none).
func Passed(ts []summary.Threshold) bool {
	for _, t := range ts {
		if !t.Pass {
			return false
		}
	}
	return true
}

// formatMeasured writes a threshold's measured value in its path's unit, or as a bare
// number when the expression does not parse.
func formatMeasured(t summary.Threshold) string {
	if e, err := Parse(t.Expr); err == nil {
		return e.Path.Format(t.Value)
	}
	return FormatValue(UnitNone, t.Value)
}

// WriteTable prints the verdicts for a terminal, one line each (ok, FAIL, ERROR, INCONCLUSIVE or n/a, the
// expression, the measured value, the error or why it does not apply), then a count.
func WriteTable(w io.Writer, ts []summary.Threshold) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	failed, na, unjudged, inconclusive := 0, 0, 0, 0
	for _, t := range ts {
		verdict, value := "ok", formatMeasured(t)
		switch {
		case t.Inconclusive != "":
			verdict, value = "INCONCLUSIVE", value+" (inconclusive: "+t.Inconclusive+")"
			inconclusive++
		case t.NotJudged != "":
			verdict, value = "not judged", value+" (not judged: "+t.NotJudged+")"
			unjudged++
		case t.NotApplicable != "":
			verdict, value = "n/a", "not applicable: "+t.NotApplicable
			na++
		case t.Error != "":
			verdict, value = "ERROR", t.Error
			failed++
		case !t.Pass:
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", verdict, oneLine(t.Expr), oneLine(value))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("threshold: table: %w", err)
	}
	var err error
	switch {
	case len(ts) == 0:
		_, err = fmt.Fprintln(w, "no thresholds")
	case unjudged > 0:
		_, err = fmt.Fprintf(w, "%d of %d thresholds not judged: the run was interrupted\n", unjudged, len(ts)-na)
	case failed == 0 && inconclusive > 0:
		_, err = fmt.Fprintf(w, "%d of %d thresholds passed, %d INCONCLUSIVE: the load generator was saturated%s\n", len(ts)-na-inconclusive, len(ts)-na, inconclusive, notApplicableNote(na))
	case failed == 0:
		_, err = fmt.Fprintf(w, "%d of %d thresholds passed%s\n", len(ts)-na, len(ts)-na, notApplicableNote(na))
	case inconclusive > 0:
		_, err = fmt.Fprintf(w, "%d of %d thresholds failed, %d INCONCLUSIVE%s\n", failed, len(ts)-na, inconclusive, notApplicableNote(na))
	default:
		_, err = fmt.Fprintf(w, "%d of %d thresholds failed%s\n", failed, len(ts)-na, notApplicableNote(na))
	}
	if err != nil {
		return fmt.Errorf("threshold: table: %w", err)
	}
	return nil
}

// oneLine keeps a table row on one line whatever an expression contains.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", " ").Replace(s)
}

// notApplicableNote is the tail of a count line: ", 1 not applicable" or "".
func notApplicableNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d not applicable to this run)", n)
}
