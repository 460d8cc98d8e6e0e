package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/atlasbench/atlasbench/internal/merge"
	"github.com/atlasbench/atlasbench/internal/report"
)

const mergeUsage = `merge [-out DIR] SHARD_DIR...

Merges the run directories of a distributed run's shards (bench run -shard i/N, one per load
generator, all with the same scenario, rate and -start-at) into one run directory: summary.json
(the same schema, with "shards": N), report.md, report.html and the charts.

Nothing is averaged: percentiles come from the shards' merged latency histograms (each shard
writes them losslessly, in HdrHistogram's own encoding, to shard-<mode>.json), counts and
client-side hit rates from summed counts, the achieved rate is the shards' sum, the server's
counters (hit rates, DB queries) are taken once, from shard 1, and the scenario's thresholds are
evaluated on the merged figures.

Examples:
  bench merge shards/1/latest shards/2/latest shards/3/latest
  bench merge -out reports/distributed /results/shard-*/latest

Exit codes: 0 pass · 1 a threshold failed or a shard was interrupted · 2 the directories are not
the shards of one run (another scenario, seed, config, mode or shard count, a duplicate: the
message names the odd one out) · 3 a shard is missing or did not finish.`

func runMerge(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merge", mergeUsage, stdout)
	out := fs.String("out", "", "merged run directory to write (default reports/<UTC timestamp>-<scenario>-merged)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("merge: want the shards' run directories, e.g. bench merge shards/1/latest shards/2/latest")
	}
	res, err := merge.Merge(fs.Args(), *out)
	var mis *merge.MismatchError
	var miss *merge.MissingError
	switch {
	case errors.As(err, &mis):
		return usageError{err}
	case errors.As(err, &miss):
		return envError{err}
	case err != nil:
		return envError{err}
	}
	fmt.Fprintln(stdout)
	report.WriteText(stdout, res.Summary)
	fmt.Fprintf(stdout, "\nmerged %d shards: %s/report.md\n", res.Summary.Shards, res.Dir)
	switch {
	case res.Summary.Interrupted:
		return failError{"a shard was interrupted; the merged report holds what was measured"}
	case !res.Summary.Pass:
		return failError{"thresholds failed"}
	}
	return nil
}
