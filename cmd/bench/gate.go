package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/atlasbench/atlasbench/internal/gate"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

const gateUsage = `gate [-baseline FILE] [-tolerance METRIC=VALUE]... [-update] [-counts-only] [-junit FILE] SUMMARY
   or: gate -against REF [-pairs N] [-scenario S] [-mode M] [-new BIN] [-baseline FILE] [-out DIR] [-tolerance …] [-junit FILE] [-- RUN FLAGS]

Judges a run (a summary.json or its directory): its thresholds, then, with -baseline, a
regression test against a baseline run's samples. Deterministic figures (hit rate, DB queries
per request, errors, isolation, staleness) are judged strictly; latency is judged only when the
change is significant (Mann-Whitney U over the -count repeats) AND beyond its tolerance, and
with too few samples the gate warns instead of judging. The table marks "~" what is not significant.

Tolerances (defaults): latency 10%, hit_rate 2 points, db_queries 5%, errors/isolation/stale 0.
-counts-only judges only what does not drift with the machine (hit rates, DB queries, success
ratio, errors, isolation, staleness) and shows timings "not judged".

With -against REF (a git commit, branch or tag of this repository, built with go build, or the
path of another bench binary) the gate is an A/B test in one job: it runs the scenario -pairs
times with each side, alternately (old new, new old, old new, …), each run starting its own
Redis, database and server, so the machine's load falls on both sides. Timings are judged pair by
pair on the log ratios new/old (a sign-flip max-T test over all timing metrics at once; a
regression is significant AND its geometric mean change beyond the tolerance: latency 10%).
Among them is server_latency.hit_p50, the server's own median time of the answers it served
from the cache (its duration histogram, labelled cache="hit"): the cached path's cost, which the
client, the kernel and a busy machine's scheduler dilute in the end-to-end latency. Counts and
ratios are judged as above, all old runs against all new; the thresholds of the new run with
the median p50 latency must pass.
With -baseline too, the new runs' counts and ratios are also judged against that baseline
(-counts-only). Flags after -- go to every bench run of both sides. Ctrl-C stops with no verdict.

Examples:
  bench gate reports/latest
  bench gate -baseline reports/baseline/smoke.json reports/latest/summary.json
  bench gate -baseline reports/baseline/smoke.json -tolerance latency=50% reports/latest
  bench gate -update -baseline reports/baseline/smoke.json reports/latest   # accept as the new baseline
  bench gate -counts-only -baseline reports/baseline/smoke.json reports/latest
  bench gate -against origin/main                          # A/B: 10 pairs of smoke runs (about 9 minutes)
  bench gate -against /tmp/bench-old -pairs 8 -baseline reports/baseline/smoke.json   # another bench binary

Exit codes: 0 pass · 1 a threshold failed or a regression · 2 bad input · 3 no or incompatible
baseline, or REF cannot be built or run · 4 INCONCLUSIVE: nothing failed, but a run's load
generator was saturated, so its latency thresholds and latency regressions were not judged · 130
interrupted (no verdict).`

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
	countsOnly := fs.Bool("counts-only", false, "judge only counts and ratios against -baseline; timings are shown, not judged")
	against := fs.String("against", "", "A/B test against `REF`: a git commit, branch or tag (built with go build), or the path of another bench binary")
	newBin := fs.String("new", "", "with -against: the new side's bench `binary` (default this one)")
	pairs := fs.Int("pairs", 10, "with -against: pairs of runs, one of each side per pair (5 or more to judge timings)")
	scenario := fs.String("scenario", "smoke", "with -against: the scenario each run runs")
	mode := fs.String("mode", string(summary.ModeBoth), "with -against: the mode of each run (both, cache, nocache)")
	out := fs.String("out", "reports", "with -against: reports root; the runs go to DIR/<time>-ab-<scenario>/, linked as DIR/latest-ab")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *against != "" {
		if fs.NArg() > 0 && !slices.Contains(args, "--") {
			return usagef("gate: -against takes no SUMMARY (it makes its own runs); flags for those runs go after --")
		}
		if *update || *countsOnly {
			return usagef("gate: -against takes no -update or -counts-only (with -baseline it judges counts only against it)")
		}
		return runGateAgainst(ctx, abOptions{
			against: *against, newBin: *newBin, pairs: *pairs, scenario: *scenario, mode: *mode, out: *out,
			runArgs: fs.Args(), tolerances: tolerances, baseline: *baselinePath, junit: *junit,
		}, getenv, stdout)
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
		res, err := gate.Compare(baseline, current, gate.Options{Tolerances: tolerances, CountsOnly: *countsOnly})
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
