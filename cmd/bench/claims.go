package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/claims"
	"github.com/atlasbench/atlasbench/internal/runner"
	"github.com/atlasbench/atlasbench/internal/threshold"
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
Redis Cluster, replica reads and AOF. The default takes about 15 minutes on 2 cores; -quick
runs seconds-long versions of the same runs (a smoke test of the scorecard, not a measurement).

Examples:
  bench claims                               # the whole scorecard, about 15 minutes
  bench claims -quick                        # seconds-long runs, for make test
  bench claims -claims fallback,tier-invalidation -config ./my-cache.yaml
  bench claims -junit claims-junit.xml

Exit codes: 0 every measured claim holds · 1 a claim fails (or the run was interrupted) ·
2 bad usage or config · 3 the environment failed (a run could not produce its figures).`

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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("claims: unexpected argument %q", fs.Arg(0))
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
	x := &claimsRun{ctx: ctx, o: o, binary: getenv("ATLAS_BENCH_BIN"), progress: progress, parallel: *parallel,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	sc, err := x.execute()
	if sc == nil {
		os.RemoveAll(dir) // nothing measured: leave no directory behind
		if ctx.Err() != nil {
			return failError{"claims: interrupted before anything was measured"}
		}
		return err
	}
	if werr := claims.Write(dir, sc); werr != nil {
		return envError{werr}
	}
	linkLatestClaims(*out, dir)
	fmt.Fprintln(stdout)
	claims.WriteText(stdout, sc)
	fmt.Fprintf(stdout, "\nclaims: %s\n", filepath.Join(dir, claims.FileMD))
	if *junit != "" {
		if jerr := writeClaimsJUnit(*junit, sc); jerr != nil {
			return envError{jerr}
		}
	}
	switch {
	case ctx.Err() != nil:
		return failError{"claims: interrupted; the scorecard holds what was measured"}
	case err != nil:
		return err
	case len(sc.Unmeasured()) > 0:
		return envError{fmt.Errorf("claims: not measured because a run failed: %s", strings.Join(sc.Unmeasured(), ", "))}
	case !sc.Pass:
		return failError{fmt.Sprintf("claims: %d of the write-up's claims fail", sc.Fails)}
	}
	return nil
}

// claimsRun is one bench claims: calibration, the plan's runs, the scorecard.
type claimsRun struct {
	ctx      context.Context
	o        claims.Options
	binary   string
	progress io.Writer
	parallel int
	log      *slog.Logger

	mu      sync.Mutex
	results []claims.Result // the plan's runs, as they finish (the probe is not one)
	done    time.Duration   // estimated time of the runs finished
}

// execute runs the calibration probe and the plan's runs (the world waits for the
// calibration) and evaluates them; a nil scorecard means nothing was measured.
func (x *claimsRun) execute() (*claims.Scorecard, error) {
	runs, err := claims.Plan(x.o)
	if err != nil {
		return nil, usageError{err}
	}
	var probe *claims.Run
	if slices.ContainsFunc(runs, func(r claims.Run) bool { return r.Name == claims.RunWorld }) {
		p, err := claims.ProbeRun(x.o)
		if err != nil {
			return nil, usageError{err}
		}
		probe = &p
	}
	cal, calErr := x.runAll(probe, runs)
	if !slices.ContainsFunc(x.results, func(r claims.Result) bool { return r.Summary != nil }) {
		switch {
		case x.ctx.Err() != nil:
			return nil, nil
		case calErr != nil:
			return nil, calErr
		case len(x.results) > 0:
			return nil, classify(x.results[0].Err)
		}
	}
	// Results in plan order, whatever order they finished in.
	order := func(name string) int {
		return slices.IndexFunc(runs, func(r claims.Run) bool { return r.Name == name })
	}
	slices.SortFunc(x.results, func(a, b claims.Result) int { return order(a.Run.Name) - order(b.Run.Name) })
	sc, err := claims.Evaluate(x.o, x.results)
	if err != nil {
		return nil, usageError{err}
	}
	if cal != nil {
		for _, r := range x.results {
			if r.Run.Name == claims.RunWorld && r.Summary != nil && r.Summary.NoCache != nil {
				cal.WorldP50MS = r.Summary.NoCache.Latency.P50
			}
		}
		sc.Calibration = cal
	}
	for _, r := range x.results {
		var u *runner.UsageError
		if errors.As(r.Err, &u) {
			return sc, usageError{fmt.Errorf("claims: run %s: %w", r.Run.Name, r.Err)}
		}
	}
	return sc, calErr
}

// classify maps a run's error to the CLI's errors.
func classify(err error) error {
	var u *runner.UsageError
	if errors.As(err, &u) {
		return usageError{err}
	}
	if err == nil {
		err = errors.New("claims: the run produced no summary")
	}
	return envError{err}
}

// runAll runs the calibration probe (when given) and the plan, x.parallel at a time, printing
// which claims each run serves and the ETA. The world run waits for the calibration and is
// skipped when it failed.
func (x *claimsRun) runAll(probe *claims.Run, runs []claims.Run) (*claims.Calibration, error) {
	sel, _ := claims.Select(claims.Table(), x.o.Only)
	serves := func(name string) string {
		var ids []string
		for _, c := range sel {
			if slices.Contains(c.Runs(), name) || strings.HasPrefix(name, claims.SweepPrefix) && c.Sweep != nil {
				ids = append(ids, c.ID)
			}
		}
		if name == "calibration" {
			return "the world's DB round trip"
		}
		return strings.Join(ids, ", ")
	}
	all := runs
	if probe != nil {
		all = append([]claims.Run{*probe}, runs...)
	}
	var total time.Duration
	for _, r := range all {
		total += r.Estimate()
	}
	fmt.Fprintf(x.progress, "claims: %d runs, about %s\n", len(all), (total / time.Duration(x.parallel)).Round(time.Second))
	var (
		cal        *claims.Calibration
		calErr     error
		calibrated = make(chan struct{})
	)
	if probe == nil {
		close(calibrated)
	}
	start := time.Now()
	jobs := make(chan claims.Run)
	var wg sync.WaitGroup
	for range x.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				if r.Name == claims.RunWorld {
					<-calibrated
					if cal == nil {
						x.mu.Lock()
						x.results = append(x.results, claims.Result{Run: r, Err: fmt.Errorf("not run: the calibration failed: %w", calErr)})
						x.mu.Unlock()
						continue
					}
					r.Calibrated(*cal)
				}
				x.mu.Lock()
				left := (total - x.done) / time.Duration(x.parallel)
				fmt.Fprintf(x.progress, "claims: %s (%s): %s — about %s, ETA %s\n", r.Name, serves(r.Name),
					r.Describe, r.Estimate().Round(time.Second), left.Round(time.Second))
				x.mu.Unlock()
				res := x.runOne(r)
				x.mu.Lock()
				x.done += r.Estimate()
				if res.Err != nil {
					fmt.Fprintf(x.progress, "claims: run %s failed: %v\n", r.Name, res.Err)
				}
				if probe != nil && r.Name == probe.Name {
					calErr = res.Err
					if res.Summary != nil {
						var c claims.Calibration
						if c, calErr = claims.Calibrate(res.Summary.Latency.P50); calErr == nil {
							cal = &c
							fmt.Fprintf(x.progress, "claims: calibration: %s\n", c)
						}
					}
					if calErr == nil && cal == nil {
						calErr = errors.New("claims: calibration: the probe produced no summary")
					}
					if calErr != nil {
						calErr = classify(calErr)
					}
					close(calibrated)
				} else {
					x.results = append(x.results, res)
				}
				x.mu.Unlock()
			}
		}()
	}
	for _, r := range all {
		if x.ctx.Err() != nil {
			break
		}
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	fmt.Fprintf(x.progress, "claims: runs done in %s\n", time.Since(start).Round(time.Second))
	return cal, calErr
}

// runOne runs one run of the plan into its own directory under the scorecard's.
func (x *claimsRun) runOne(r claims.Run) claims.Result {
	res, err := runner.Run(x.ctx, runner.Options{Scenario: r.Scenario, Config: r.Config, Mode: r.Mode,
		Out: filepath.Join(x.o.Dir, r.Name), Redis: r.Redis, Count: r.Count, Binary: x.binary, Log: x.log})
	out := claims.Result{Run: r, Err: err}
	if res != nil {
		out.Dir, out.Summary = res.Dir, res.Summary
	}
	return out
}

// linkLatestClaims points out/latest-claims at dir.
func linkLatestClaims(out, dir string) {
	link := filepath.Join(out, "latest-claims")
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(filepath.Base(dir), tmp); err == nil {
		os.Rename(tmp, link)
	}
}

// writeClaimsJUnit writes the claims' checks as JUnit XML.
func writeClaimsJUnit(path string, sc *claims.Scorecard) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := threshold.JUnit(f, "claims", sc.Thresholds()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
