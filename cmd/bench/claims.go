package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/claims"
	"github.com/atlasbench/atlasbench/internal/loadhealth"
	"github.com/atlasbench/atlasbench/internal/runner"
)

const claimsUsage = `claims [flags]

Measures every claim of the Atlas write-up ("Redis caching complete") and writes a scorecard:
reports/<UTC timestamp>-claims/claims.md, claims.html (self-contained) and claims.json, beside
the run directories that produced each figure. Each claim is the write-up's words, the figure
that tests it, threshold expressions over the runs' summary.json files (the gate's language)
and a verdict computed from them: HOLDS, FAILS or NOT MEASURED (with the reason).

It first calibrates the simulated DB round trip so that the no-cache p50 of the write-up's
world lands in its 200-500 ms, then runs that world in both modes, a sweep of requests per
user per TTL (where the hit-rate and reduction claims hold), Redis killed/slowed/partitioned,
tier changes, attacks, warming on and off, lost invalidations, the scale population on a
Redis Cluster, replica reads, AOF, devices' HTTP caches and a rolling deploy. The default takes about 15 minutes on 2 cores; -quick
runs seconds-long versions of the same runs (a smoke test of the scorecard, not a measurement).

Examples:
  bench claims                               # the whole scorecard, about 15 minutes
  bench claims -quick                        # seconds-long runs, for make test
  bench claims -claims fallback,tier-invalidation -config production
  bench claims -junit claims-junit.xml

Exit codes: 0 every measured claim holds · 1 a claim fails (or the run was interrupted) ·
2 bad usage or config · 3 the environment failed (a run could not run: no summary) · 4 no claim
fails but one is INCONCLUSIVE (its latency was measured on a saturated load generator). A figure a run
measured none of (no answer wholly from the cache) is NOT MEASURED, with that reason, and no exit 3.`

func runClaims(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("claims", claimsUsage, stdout)
	var o claims.Options
	fs.BoolVar(&o.Quick, "quick", false, "seconds-long versions of every run (a smoke test of the scorecard)")
	fs.StringVar(&o.Layer, "config", "default", "the cache config under test (built-in or YAML file) for the runs that judge the layer")
	fs.StringVar(&o.Redis, "redis", "auto", "Redis of the single-Redis runs: auto, process, docker, embedded (cluster runs start their own cluster)")
	only := fs.String("claims", "", "comma-separated claim IDs to measure (default: every claim); see claims.json's ids")
	out := fs.String("out", "reports", "reports root directory")
	parallel := fs.Int("parallel", 0, "runs at a time (default 1, with -quick 4); more than 1 disturbs latency figures")
	junit := fs.String("junit", "", "also write the claims' checks as JUnit XML to this file")
	quiet := fs.Bool("quiet", false, "no live progress")
	saturationFlag := fs.String("saturation", "auto", "as bench run -saturation: when a run's load generator counts as saturated, making its latency claims INCONCLUSIVE (auto, off, or lag=50ms,sched=50ms,psi=50%,steal=10%,share=20%)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("claims: unexpected argument %q", fs.Arg(0))
	}
	saturation, err := loadhealth.ParseRule(*saturationFlag)
	if err != nil {
		return usagef("claims: -saturation %s: %v", *saturationFlag, err)
	}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	if _, err := claims.Select(claims.Table(), o.Only); err != nil {
		return usagef("claims: -claims: %v", err)
	}
	if *parallel == 0 {
		*parallel = 1
		if o.Quick {
			*parallel = 4
		}
	}
	if *parallel < 1 {
		return usagef("claims: -parallel %d: want 1 or more", *parallel)
	}
	if _, err := cache.LoadConfig(o.Layer); err != nil {
		return usagef("claims: -config: %v", err)
	}
	for _, t := range []struct {
		name string
		ttl  *map[string]map[string]float64
	}{{"default", &o.TTL}, {"production", &o.ProductionTTL}} {
		c, err := cache.LoadConfig(t.name)
		if err != nil {
			return envError{fmt.Errorf("claims: built-in config %s: %w", t.name, err)}
		}
		_, *t.ttl = c.Effective()
	}
	progress := io.Discard
	if !*quiet {
		progress = stderr
	}
	suffix := "-claims"
	if o.Quick {
		suffix = "-claims-quick"
	}
	dir := filepath.Join(*out, time.Now().UTC().Format("20060102T150405Z")+suffix)
	o.Dir = dir
	binary := getenv("ATLAS_BENCH_BIN") // tests point this at a built bench; default os.Executable()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	runOne := func(ctx context.Context, r claims.Run) claims.Result {
		res, err := runner.Run(ctx, runner.Options{Scenario: r.Scenario, Config: r.Config, Mode: r.Mode,
			Out: filepath.Join(dir, r.Name), Redis: r.Redis, Count: r.Count, Binary: binary, Log: log, Saturation: saturation})
		out := claims.Result{Run: r, Err: err}
		if res != nil {
			out.Dir, out.Summary = res.Dir, res.Summary
		}
		return out
	}
	sc, results, err := claims.Execute(ctx, o, runOne, progress, *parallel)
	var runErr error // the first run error, as the CLI's error: usage before environment
	for _, r := range results {
		var u *runner.UsageError
		switch {
		case r.Err == nil:
		case errors.As(r.Err, &u):
			runErr = usageError{fmt.Errorf("claims: run %s: %w", r.Run.Name, r.Err)}
		case runErr == nil && ctx.Err() == nil:
			runErr = envError{fmt.Errorf("claims: run %s: %w", r.Run.Name, r.Err)}
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return usageError{err}
	}
	if sc == nil {
		os.RemoveAll(dir) // nothing measured: leave no directory behind
		if runErr != nil {
			return runErr
		}
		return failError{"claims: interrupted before anything was measured"}
	}
	if werr := claims.Write(dir, sc); werr != nil {
		return envError{werr}
	}
	runner.LinkLatest(*out, dir, runner.LatestClaimsLink)
	fmt.Fprintln(stdout)
	claims.WriteText(stdout, sc)
	fmt.Fprintf(stdout, "\nclaims: %s\n", filepath.Join(dir, claims.FileMD))
	if *junit != "" {
		if jerr := writeThresholdsJUnit(*junit, "claims", sc.Thresholds()); jerr != nil {
			return envError{jerr}
		}
	}
	var u usageError
	switch {
	case ctx.Err() != nil:
		return failError{"claims: interrupted; the scorecard holds what was measured"}
	case errors.As(runErr, &u):
		return runErr
	case len(sc.RunFailed()) > 0:
		return envError{fmt.Errorf("claims: not measured because a run failed: %s (%v)", strings.Join(sc.RunFailed(), ", "), runErr)}
	case !sc.Pass:
		return failError{fmt.Sprintf("claims: %d of the write-up's claims fail", sc.Fails)}
	case sc.Inconclusive > 0:
		return inconclusiveError{fmt.Sprintf("claims: %d of the write-up's claims INCONCLUSIVE: their latency was measured on a saturated load generator", sc.Inconclusive)}
	}
	return nil
}
