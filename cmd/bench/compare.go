package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/atlasbench/atlasbench/internal/compare"
	"github.com/atlasbench/atlasbench/internal/runner"
	"github.com/atlasbench/atlasbench/internal/summary"
)

const compareUsage = `compare -scenario S -config A -config B [...] [flags]

Runs one scenario under several cache configurations (built-ins default, production, none, or
YAML files), repeats interleaved across configs (A, B, A, B, …) so machine drift hits all alike,
and writes a side-by-side table (terminal, compare.md, compare.html) with grouped bar charts:
hit rate per class, p50/p99, DB queries per request, and fallback-phase latency and errors.
Differences from the first config are marked * when significant (Mann-Whitney U over the
repeats) and ~ when not; a one-line recommendation names the trade-off.

With -client-caches it compares the scenario with the users' devices keeping and revalidating
their answers (clients: {devices: 2, cache: true}) against the same devices without caches, for
each -config (one is enough); the two variants run one after the other.

Examples:
  bench compare -scenario smoke -config default -config none
  bench compare -scenario core -config default -config production -count 5
  bench compare -scenario core -config default -client-caches`

// listFlag collects a repeated string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func runCompare(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", compareUsage, stdout)
	var o runner.Options
	var configs listFlag
	loadScenario := scenarioFlags(fs)
	fs.Var(&configs, "config", "a cache config to compare (repeat: at least two; the first is the reference)")
	mode := fs.String("mode", string(summary.ModeCache), "cache, nocache or both for every config (both adds db_query_reduction and speedup)")
	o.Out = "reports"
	out := &outFlag{root: &o.Out}
	fs.Var(out, "out", "reports root `directory`; or jsonl=FILE: stream one JSON line of progress per second to FILE (give -out twice for both)")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "serve the run's live figures for Prometheus at http://`host:port`/metrics while it runs")
	fs.StringVar(&o.Redis, "redis", "auto", "Redis: auto, process, docker, embedded, cluster (3 masters x 1 replica of child redis-servers), a redis:// or redis+cluster:// URL, or comma-separated host:port of a Cluster")
	fs.StringVar(&o.DB, "db", "sqlite", "database: sqlite or a postgres:// server URL")
	fs.IntVar(&o.Count, "count", 1, "repeats per config (interleaved); 4 or more lets latency differences be tested for significance")
	quiet := fs.Bool("quiet", false, "no live progress: one line per mode")
	clientCaches := fs.Bool("client-caches", false, "compare client caches off against on (scenario clients, at least 2 devices) for each -config")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("compare: unexpected argument %q", fs.Arg(0))
	}
	o.Mode = summary.Mode(*mode)
	if *clientCaches && len(configs) == 0 {
		return usagef("compare: -client-caches needs a -config to run with client caches off and on, e.g. -config default")
	}
	sc, err := loadScenario(false)
	if err != nil {
		return err
	}
	if o.Count < 1 {
		return usagef("compare: -count %d: want 1 or more", o.Count)
	}
	if out.jsonl != "" {
		f, err := os.Create(out.jsonl)
		if err != nil {
			return envError{fmt.Errorf("-out jsonl=%s: %w", out.jsonl, err)}
		}
		defer f.Close()
		o.JSONL = f
	}
	o.Scenario = sc
	o.Binary = getenv("ATLAS_BENCH_BIN")
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o.Progress, o.TTY, o.Quiet = stderr, isTerminal(stderr), *quiet
	if *clientCaches {
		return compareClientCaches(ctx, o, configs, stdout)
	}
	root, results, err := runner.Compare(ctx, o, configs)
	if len(results) >= 2 {
		runs := make([]compare.Run, 0, len(results))
		for _, r := range results {
			runs = append(runs, compare.Run{Config: r.Summary.Config, Summary: r.Summary})
		}
		tbl, rerr := compare.Render(root, runs)
		if rerr != nil {
			return envError{rerr}
		}
		fmt.Fprintln(stdout)
		tbl.Write(stdout)
		fmt.Fprintf(stdout, "\ncompare: %s\n", filepath.Join(root, "compare.md"))
	}
	if err != nil {
		return runExit(ctx, err, nil)
	}
	if len(results) < 2 {
		return interruptedError{"compare: interrupted before every config was measured: no recommendation"}
	}
	for _, r := range results {
		if r.Summary.Interrupted {
			return interruptedError{"compare: interrupted: " + r.Summary.Config + " was not measured to its end; its figures are partial"}
		}
	}
	return nil
}
