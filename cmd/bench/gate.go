package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/atlasbench/atlasbench/internal/gate"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

const gateUsage = `gate [-baseline FILE] [-tolerance METRIC=VALUE]... [-update] [-junit FILE] SUMMARY

Judges a run (a summary.json or its directory): its thresholds, then, with -baseline, a
regression test against a baseline run's samples. Deterministic figures (hit rate, DB queries
per request, errors, isolation, staleness) are judged strictly; latency is judged only when the
change is significant (Mann-Whitney U over the -count repeats) AND beyond its tolerance, and
with too few samples the gate warns instead of judging. The table marks "~" what is not significant.

Tolerances (defaults): latency 10%, hit_rate 2 points, db_queries 5%, errors/isolation/stale 0.

Examples:
  bench gate reports/latest
  bench gate -baseline reports/baseline/smoke.json reports/latest/summary.json
  bench gate -baseline reports/baseline/smoke.json -tolerance latency=50% reports/latest
  bench gate -update -baseline reports/baseline/smoke.json reports/latest   # accept as the new baseline

Exit codes: 0 pass · 1 a threshold failed or a regression · 2 bad input · 3 no or incompatible
baseline · 4 INCONCLUSIVE: nothing failed, but a run's load generator was saturated, so its latency
thresholds and latency regressions were not judged.`

// toleranceFlags collects repeated -tolerance METRIC=VALUE flags.
type toleranceFlags map[string]float64

func (t toleranceFlags) String() string { return fmt.Sprint(map[string]float64(t)) }
func (t toleranceFlags) Set(s string) error {
	k, v, err := gate.ParseTolerance(s)
	if err != nil {
		return err
	}
	t[k] = v
	return nil
}

func runGate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gate", gateUsage, stdout)
	baselinePath := fs.String("baseline", "", "baseline summary.json to test for regressions against")
	update := fs.Bool("update", false, "write SUMMARY as the new baseline (to -baseline, default reports/baseline/<scenario>.json) and exit")
	junit := fs.String("junit", "", "also write the thresholds as JUnit XML to this file")
	tolerances := toleranceFlags{}
	fs.Var(tolerances, "tolerance", "override a tolerance, e.g. latency=50% or hit_rate=3pts (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("gate: want exactly one SUMMARY (a summary.json or a run directory)")
	}
	current, err := summary.Read(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	if *update {
		return updateBaseline(stdout, current, *baselinePath)
	}

	exprs := make([]string, 0, len(current.Thresholds))
	for _, t := range current.Thresholds {
		exprs = append(exprs, t.Expr)
	}
	current.Thresholds = threshold.EvalAll(exprs, current)
	var failed, inconclusive []string
	switch {
	case current.Interrupted:
		// An interrupted run has no verdict of its own, and cannot pass a gate either.
		threshold.NotJudged(current.Thresholds, "the run was interrupted before its end")
		failed = append(failed, "the run was interrupted: its thresholds are not judged and it cannot pass")
	case current.Inconclusive != "":
		// A saturated generator: latency thresholds are neither passed nor failed.
		threshold.Inconclusive(current.Thresholds, current.Inconclusive)
	}
	if len(current.Thresholds) > 0 {
		fmt.Fprintf(stdout, "thresholds of %s (%s):\n", current.Scenario, fs.Arg(0))
		threshold.WriteTable(stdout, current.Thresholds)
		switch {
		case current.Interrupted:
		case threshold.Failed(current.Thresholds) > 0:
			failed = append(failed, "thresholds failed")
		case threshold.OnlyInconclusive(current.Thresholds):
			inconclusive = append(inconclusive, "latency thresholds INCONCLUSIVE ("+current.Inconclusive+")")
		}
	}
	if *junit != "" {
		if err := writeJUnit(*junit, current); err != nil {
			return envError{err}
		}
	}
	if *baselinePath != "" {
		baseline, err := summary.Read(*baselinePath)
		if errors.Is(err, os.ErrNotExist) {
			return envError{fmt.Errorf("gate: no baseline at %s (create one with bench gate -update -baseline %s RUN)", *baselinePath, *baselinePath)}
		}
		if err != nil {
			return envError{fmt.Errorf("gate: baseline: %w", err)}
		}
		res, err := gate.Compare(baseline, current, gate.Options{Tolerances: tolerances})
		switch {
		case errors.Is(err, gate.ErrIncompatible), errors.Is(err, gate.ErrNoBaseline):
			return envError{err}
		case err != nil:
			return usageError{err}
		}
		fmt.Fprintf(stdout, "\nregression test against %s:\n", *baselinePath)
		res.Write(stdout)
		if res.Regressed() {
			failed = append(failed, "regression against the baseline")
		} else if res.Inconclusive() {
			inconclusive = append(inconclusive, "latency regressions INCONCLUSIVE: the load generator was saturated")
		}
	}
	if len(failed) > 0 {
		return failError{"gate: " + strings.Join(failed, "; ")}
	}
	if len(inconclusive) > 0 {
		return inconclusiveError{"gate: INCONCLUSIVE: " + strings.Join(inconclusive, "; ")}
	}
	fmt.Fprintln(stdout, "gate: PASS")
	return nil
}

// updateBaseline stores current as the baseline.
func updateBaseline(stdout io.Writer, current *summary.Summary, path string) error {
	if path == "" {
		path = filepath.Join("reports", "baseline", current.Scenario+".json")
	}
	if current.Interrupted {
		return usagef("gate: an interrupted run cannot become a baseline")
	}
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return envError{err}
	}
	// summary.Write names the file summary.json; write there, then move it into place.
	tmp, err := os.MkdirTemp(dir, ".baseline-")
	if err != nil {
		return envError{err}
	}
	defer os.RemoveAll(tmp)
	if err := summary.Write(tmp, current); err != nil {
		return envError{err}
	}
	if err := os.Rename(filepath.Join(tmp, summary.FileName), filepath.Join(dir, name)); err != nil {
		return envError{err}
	}
	fmt.Fprintf(stdout, "gate: wrote baseline %s (%s, config %s, %d repeats)\n", path, current.Scenario, current.Config, max(current.Count, 1))
	return nil
}
