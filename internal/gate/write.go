package gate

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/atlasbench/atlasbench/internal/stats"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

// Write prints the comparison as a benchstat-like aligned table (metric, baseline and
// current median ± confidence interval, delta, p-value and sample sizes, verdict), the
// notes, and a last line that says PASS or FAIL and why.
func (r *Result) Write(w io.Writer) error {
	head := fmt.Sprintf("gate: scenario %s, config %s; baseline n=%d%s vs this run n=%d%s; median ± %.0f%% CI, Mann-Whitney U, alpha %v\n\n",
		r.Scenario, r.Config, r.Baseline.Count, gitSuffix(r.Baseline.Git), r.Current.Count, gitSuffix(r.Current.Git),
		100*r.Confidence, r.Alpha)
	cols := "metric\tbaseline\tthis run\tdelta\tp\tverdict"
	if r.Pairs > 0 {
		head = fmt.Sprintf("gate: scenario %s, config %s; A/B: %d pairs of old%s and new%s runs, alternated on this machine; "+
			"medians ± %.0f%% CI; timings judged pair by pair: delta is the geometric mean of the pairs' ratios new/old, p a sign-flip "+
			"max-T test over all the timing metrics (a false regression anywhere in the table < alpha); counts and ratios as the baseline gate "+
			"judges them (all old runs against all new); alpha %v\n\n",
			r.Scenario, r.Config, r.Pairs, gitSuffix(r.Baseline.Git), gitSuffix(r.Current.Git), 100*r.Confidence, r.Alpha)
		cols = "metric\told\tnew\tdelta\tp\tverdict"
	}
	if _, err := io.WriteString(w, head); err != nil {
		return fmt.Errorf("gate: write: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, cols)
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.Metric, statString(row, row.Baseline), statString(row, row.Current),
			deltaString(row), pString(row), verdictString(row))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("gate: write: %w", err)
	}
	var b strings.Builder
	notes := r.Notes
	for _, row := range r.Rows {
		if !row.Strict && (row.Baseline.N > 1 && !hasInterval(row.Baseline) || row.Current.N > 1 && !hasInterval(row.Current)) {
			notes = append([]string{noIntervalNote}, notes...)
			break
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n")
	}
	for _, n := range notes {
		b.WriteString("note: " + n + "\n")
	}
	b.WriteString("\n" + r.Conclusion() + "\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("gate: write: %w", err)
	}
	return nil
}

// Conclusion is the one-line verdict: "FAIL: …" naming every regression with its change,
// p-value and tolerance, "INCONCLUSIVE: …" when none regressed but latency metrics went
// unjudged (a saturated generator), or "PASS: …" with how many metrics were compared and
// how they came out.
func (r *Result) Conclusion() string {
	var fails []string
	counts := map[Verdict]int{}
	for _, row := range r.Rows {
		counts[row.Verdict]++
		if row.Verdict != Regression {
			continue
		}
		switch {
		case row.Strict:
			fails = append(fails, fmt.Sprintf("%s %s → %s (strict: any increase fails)", row.Metric,
				threshold.FormatValue(row.Unit, row.Baseline.Max), threshold.FormatValue(row.Unit, row.Current.Max)))
		case row.Paired:
			fails = append(fails, fmt.Sprintf("%s %s (paired, %d of %d pairs up, max-T p=%.3f < %v; tolerance %s)", row.Metric, deltaString(row),
				row.Up, row.Test.N1, row.Test.P, r.Alpha, formatTolerance(row)))
		case row.Test.TooFew:
			fails = append(fails, fmt.Sprintf("%s %s (n=%d+%d, judged on value; tolerance %s)", row.Metric, deltaString(row),
				row.Test.N1, row.Test.N2, formatTolerance(row)))
		default:
			fails = append(fails, fmt.Sprintf("%s %s (p=%.3f < %v; tolerance %s)", row.Metric, deltaString(row),
				row.Test.P, r.Alpha, formatTolerance(row)))
		}
	}
	if len(fails) > 0 {
		noun := "regressions"
		if len(fails) == 1 {
			noun = "regression"
		}
		return fmt.Sprintf("FAIL: %d %s: %s", len(fails), noun, strings.Join(fails, "; "))
	}
	var parts []string
	for _, v := range []Verdict{Improved, NotSignificant, WithinTolerance, Changed, TooFewSamples, Missing, Inconclusive, NotJudged} {
		if n := counts[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	if n := counts[Inconclusive]; n > 0 {
		return fmt.Sprintf("INCONCLUSIVE: no metric regressed, but %d latency metrics were not judged: the load generator was saturated (%d compared: %s)",
			n, len(r.Rows), strings.Join(parts, ", "))
	}
	return fmt.Sprintf("PASS: no metric regressed beyond its tolerance (%d compared: %s)", len(r.Rows), strings.Join(parts, ", "))
}

func gitSuffix(git string) string {
	if git == "" {
		return ""
	}
	if len(git) > 12 && strings.Trim(git, "0123456789abcdef") == "" {
		git = git[:12] // a commit hash; a label such as a binary's name stays whole
	}
	return " (" + git + ")"
}

// statString is a side's median ± CI, or the worst repeat of a strict metric.
func statString(row Row, s stats.Stat) string {
	switch {
	case s.N == 0:
		return "-"
	case row.Strict && s.Max != s.Center:
		return "max " + threshold.FormatValue(row.Unit, s.Max)
	case row.Strict || s.N == 1: // one sample has no interval
		return threshold.FormatValue(row.Unit, s.Center)
	}
	return threshold.FormatValue(row.Unit, s.Center) + " " + ciString(s, kind{absolute: row.Absolute})
}

// deltaString is the change: "+12.3%", "-1.5 pts", "+1".
func deltaString(row Row) string {
	d := row.Delta
	switch {
	case math.IsNaN(d):
		return "-"
	case d == 0:
		return "0"
	case row.Strict:
		return fmt.Sprintf("%+g", d)
	case row.Absolute:
		return fmt.Sprintf("%+.1f pts", 100*d)
	case math.IsInf(d, 0):
		return fmt.Sprintf("%+v%%", d)
	}
	return fmt.Sprintf("%+.1f%%", 100*d)
}

// pString is the test's p-value and sample sizes, as benchstat prints them.
func pString(row Row) string {
	n := fmt.Sprintf("n=%d+%d", row.Test.N1, row.Test.N2)
	switch {
	case row.Paired:
		n = fmt.Sprintf("%d pairs", row.Test.N1)
	case row.Test.N1 == row.Test.N2:
		n = fmt.Sprintf("n=%d", row.Test.N1)
	}
	if math.IsNaN(row.Test.P) || row.Test.TooFew {
		return n // untested, or a p-value that cannot mean anything
	}
	return fmt.Sprintf("p=%.3f %s", row.Test.P, n)
}

// verdictString is the verdict with its note: "REGRESSION (beyond 10%)", "~".
func verdictString(row Row) string {
	v := string(row.Verdict)
	if row.Verdict == Regression {
		v = "REGRESSION"
	}
	if row.Note != "" {
		v += " (" + row.Note + ")"
	}
	return v
}
