package threshold

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// Eval reads the expression's figure from s and compares it with the limit. A figure s does
// not have (speedup when only one mode ran, an endpoint that was not requested) is an error
// wrapping ErrMissing; the caller counts it as a failed threshold.
func (e Expr) Eval(s *summary.Summary) (value float64, pass bool, err error) {
	if e.Path.IsZero() {
		return 0, false, fmt.Errorf("threshold %q: not parsed", e.Raw)
	}
	v, err := e.Path.Resolve(s)
	if err != nil {
		return 0, false, fmt.Errorf("threshold %q: %w", e.Raw, err)
	}
	return v, e.Op.Holds(v, e.Value), nil
}

// EvalAll evaluates every expression over s, in order. An expression that does not parse or
// whose figure s lacks is a failed threshold with Error set (and Value 0).
func EvalAll(exprs []string, s *summary.Summary) []summary.Threshold {
	out := make([]summary.Threshold, 0, len(exprs))
	for _, x := range exprs {
		t := summary.Threshold{Expr: x}
		e, err := Parse(x)
		if err == nil {
			t.Value, t.Pass, err = e.Eval(s)
		}
		if err != nil {
			t.Value, t.Pass, t.Error = 0, false, err.Error()
		}
		out = append(out, t)
	}
	return out
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

// WriteTable prints the verdicts for a terminal, one line each (ok, FAIL or ERROR, the
// expression, the measured value or the error), then a count.
func WriteTable(w io.Writer, ts []summary.Threshold) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	failed := 0
	for _, t := range ts {
		verdict, value := "ok", formatMeasured(t)
		switch {
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
	case failed == 0:
		_, err = fmt.Fprintf(w, "%d of %d thresholds passed\n", len(ts), len(ts))
	default:
		_, err = fmt.Fprintf(w, "%d of %d thresholds failed\n", failed, len(ts))
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
