package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/loadhealth"
	"github.com/atlasbench/atlasbench/internal/report"
	"github.com/atlasbench/atlasbench/internal/runner"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
	"github.com/atlasbench/atlasbench/scenarios"
)

const runUsage = `run [flags]

Runs a load scenario and writes reports/<UTC timestamp>-<scenario>/ (summary.json, report.md,
report.html, charts, vegeta results) and reports/latest. It starts Redis, the database and the
reference server itself (or drives -target), sends the scenario's seeded requests with vegeta,
injects its faults, checks every response for isolation and staleness, and measures hit rates,
latency from the intended send time, and DB queries per request.

With -mode both (the default) the same seeded requests run without, then with the cache: that is
how db_query_reduction and speedup are measured. The scenario's thresholds gate the exit code.

Examples:
  bench run                                   # the mixed scenario, both modes, a Redis kill mid-run
  bench run -scenario smoke -mode cache       # the 15-second CI scenario, cache only
  bench run -scenario ./my.yaml -db postgres://postgres@127.0.0.1:5432/postgres
  bench run -target http://127.0.0.1:8000 -scenario core -duration 30s
  bench run -target http://127.0.0.1:8000 -target-redis redis://127.0.0.1:6379 -target-db postgres://app@db/app
  bench run -target http://127.0.0.1:8000 -scenario core -rate max -workers 64 -duration 10s
                                              # as fast as the server answers: latency = service time
  bench run -scenario core -servers 3         # three instances over one Redis and one database
  bench run -scenario scale                   # 100,000 users, 2 instances, capacity figures
  bench run -target http://127.0.0.1:8000 -users users.csv -read-only -scenario core
                                              # your own users and tokens, nothing written
  bench run -scenario smoke -metrics-addr 127.0.0.1:9464 -out jsonl=live.jsonl
                                              # live figures for Prometheus, a JSON line a second

Distributed (one process per machine, the same scenario, rate and -start-at; then bench merge):
  bench run -scenario mixed -target http://atlas:8000 -shard 1/3 -start-at 2026-01-02T15:04:05Z -out shards/1
  bench run -scenario mixed -target http://atlas:8000 -shard 2/3 -start-at 2026-01-02T15:04:05Z -out shards/2
  …
A shard sends only its users' requests (user u is in shard ((u-1) mod N)+1), each at the time
the unsharded run would send it, so the shards' rates add up to the scenario's. Faults are
shard 1's job only: the others mark the fault times as phase boundaries.

Exit codes: 0 pass · 1 a threshold failed · 2 bad usage, scenario or config · 3 the environment
failed (Redis or DB could not start or answer its preflight, target unreachable) · 4 INCONCLUSIVE:
nothing failed, but the load generator or its machine was saturated, so the latency thresholds
were not judged (-saturation) · 130 interrupted (Ctrl-C or SIGTERM: no verdict, thresholds not
judged; a report only when something was measured).`

func runRun(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", runUsage, stdout)
	var o runner.Options
	loadScenario := scenarioFlags(fs)
	fs.StringVar(&o.Config, "config", "default", "cache config: default, production, none, or a YAML file")
	mode := fs.String("mode", string(summary.ModeBoth), "cache, nocache, or both (no-cache first, then cache, same seeded requests)")
	o.Out = "reports"
	out := &outFlag{root: &o.Out}
	fs.Var(out, "out", "reports root `directory`; or jsonl=FILE: stream one JSON line of progress per second to FILE (give -out twice for both)")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "serve the run's live figures for Prometheus at http://`host:port`/metrics while it runs")
	fs.StringVar(&o.Redis, "redis", "auto", "Redis: auto (redis-server child, else Docker, else embedded; a Redis Cluster when the scenario has redis.cluster), process, docker, embedded, cluster (3 masters x 1 replica of child redis-servers), a redis:// or redis+cluster:// URL, or comma-separated host:port of a Cluster")
	fs.StringVar(&o.RedisMemory.MaxMemory, "redis-maxmemory", stack.DefaultMemory.MaxMemory, "maxmemory of the Redis the run starts (a production-like limit; 0: none)")
	fs.StringVar(&o.RedisMemory.Policy, "redis-policy", stack.DefaultMemory.Policy, "maxmemory-policy of the Redis the run starts (allkeys-lru, volatile-lru, allkeys-lfu, noeviction, …)")
	fs.StringVar(&o.DB, "db", "sqlite", "database: sqlite, or a postgres:// server URL (a fresh database is created per mode and dropped)")
	fs.StringVar(&o.Target, "target", "", "drive an already running Atlas server at this URL instead of starting one (ATLAS_JWT_SECRET must match)")
	fs.StringVar(&o.TargetRedis, "target-redis", "", "with -target: the Redis behind it (redis:// or redis+cluster:// URL), read-only (INFO) as a second witness")
	usersFile := fs.String("users", "", "with -target: a users `FILE` (CSV with a header, or JSON Lines: id, token, optional tier and conversations) instead of the seeded u1…uN; what it lacks is learned from the target")
	owner := fs.String("owner", "", "with -target: JSON `pointer` of the owner field in the target's answers (e.g. /data/ownerId); default the Atlas model: /userId and every listed item's")
	readOnly := fs.Bool("read-only", false, "drop every write from the mix (as writes: false in the scenario): for a system whose data must not change")
	fs.StringVar(&o.TargetDB, "target-db", "", "with -target: its PostgreSQL database (postgres:// URL), read-only (pg_stat_database) as a second witness")
	fs.IntVar(&o.Count, "count", 1, "repeat the measured window N times (modes interleaved) and keep every sample")
	shard := fs.String("shard", "", "run only shard `i/N` of the scenario's users (each user's requests at the unsharded run's times); merge the shards with bench merge")
	startAt := fs.String("start-at", "", "start the measured window at this RFC 3339 `time` (the same for every shard; warm-up runs before it)")
	saturation := fs.String("saturation", "auto", "when the load generator counts as saturated, making latency verdicts INCONCLUSIVE (exit 4): auto, off, or auto with limits changed: lag=50ms,sched=50ms,psi=50%,steal=10%,share=20%")
	fs.DurationVar(&o.MaxLag, "max-lag", driver.DefaultMaxLag, "cut a scheduled run off once it sends this far behind its schedule (the rest counts as dropped; 0 or negative: never, send everything late like vegeta)")
	quiet := fs.Bool("quiet", false, "no live progress: one line per mode")
	junit := fs.String("junit", "", "also write the thresholds as JUnit XML to this file (for CI systems)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("run: unexpected argument %q", fs.Arg(0))
	}
	var err error
	o.Mode = summary.Mode(*mode)
	if o.Count < 1 {
		return usagef("run: -count %d: want 1 or more", o.Count)
	}
	if o.MaxLag <= 0 {
		o.MaxLag = -1 // never
	}
	if o.Saturation, err = loadhealth.ParseRule(*saturation); err != nil {
		return usagef("run: -saturation %s: %v", *saturation, err)
	}
	sc, err := loadScenario(o.Target != "")
	if err != nil {
		return err
	}
	if *shard != "" {
		if o.Shard, err = driver.ParseShard(*shard); err != nil {
			return usagef("run: -shard: %v", err)
		}
	}
	if *startAt != "" {
		if o.StartAt, err = time.Parse(time.RFC3339Nano, *startAt); err != nil {
			return usagef("run: -start-at %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", *startAt)
		}
	}
	if o.Target != "" {
		o.Secret, _ = jwtSecret(getenv)
	}
	if *owner != "" {
		if o.Target == "" {
			return usagef("run: -owner goes with -target (the reference server's answers carry /userId)")
		}
		if o.Owner, err = check.ParsePointer(*owner); err != nil {
			return usagef("run: -owner: %v", err)
		}
	}
	for i, m := range sc.Mix {
		if m.Own && o.Target == "" {
			return usagef("run: scenario %s: mix[%d]: %s is a route of your own service (outside /api/): it needs -target", sc.Name, i, m.Req)
		}
	}
	if *readOnly {
		sc.ReadOnly = true
		if err := sc.Validate(); err != nil {
			return usagef("run: -read-only: %v", err)
		}
	}
	if *usersFile != "" {
		if o.Target == "" {
			return usagef("run: -users goes with -target (a stack the harness starts seeds its own users)")
		}
		if o.Users, err = driver.LoadUsers(*usersFile); err != nil {
			return usagef("run: -users: %v", err)
		}
		sc.Population.Users = o.Users.Len()
		for i, m := range sc.Mix {
			if m.Attack != "" {
				return usagef("run: -users: scenario %s: mix[%d]: attack %s needs a seeded server (its cases use seeded IDs)", sc.Name, i, m.Attack)
			}
		}
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
	o.Binary = getenv("ATLAS_BENCH_BIN") // tests point this at a built bench; default os.Executable()
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o.Progress, o.TTY, o.Quiet = stderr, isTerminal(stderr), *quiet
	start := time.Now()
	res, err := runner.Run(ctx, o)
	if res != nil {
		fmt.Fprintln(stdout)
		report.WriteText(stdout, res.Summary)
		fmt.Fprintf(stdout, "\nreport: %s/report.md (%s)\n", res.Dir, time.Since(start).Round(time.Second))
	}
	if res != nil && *junit != "" {
		if jerr := writeJUnit(*junit, res.Summary); jerr != nil {
			return envError{jerr}
		}
	}
	return runExit(ctx, err, res)
}

// scenarioFlags adds -scenario, -duration, -rate and -workers to fs; the returned function
// loads the scenario with the overrides applied and validated. With ignoreFaults (-target:
// the harness cannot inject faults there), the faults need not fit -duration.
func scenarioFlags(fs *flag.FlagSet) func(ignoreFaults bool) (*scenarios.Scenario, error) {
	name := fs.String("scenario", "mixed", "built-in scenario name (see bench scenarios) or a YAML file")
	duration := fs.Duration("duration", 0, "override the scenario's measured duration (> 0; its faults must fit)")
	rate := fs.String("rate", "", "override the scenario's rate: requests per second (> 0), or max: a closed loop of -workers\nrequests in flight as fast as the server answers (latency is then the service time)")
	workers := fs.Int("workers", 0, fmt.Sprintf("concurrent requests of -rate max (default: the scenario's rate.workers, else %d)", scenarios.DefaultMaxWorkers))
	servers := fs.Int("servers", 0, "override the scenario's number of server instances (`N` bench serve children sharing one Redis and one database; requests round-robin over them)")
	return func(ignoreFaults bool) (*scenarios.Scenario, error) {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		// The flags are checked on their own first, so that their errors blame them and not
		// a line of the scenario file.
		if set["duration"] && *duration <= 0 {
			return nil, usagef("-duration %s: want a duration > 0, e.g. 30s", *duration)
		}
		if set["rate"] {
			if err := checkRate(*rate); err != nil {
				return nil, err
			}
		}
		if set["workers"] && (*workers < 1 || *workers > scenarios.MaxWorkers) {
			return nil, usagef("-workers %d: want 1 to %d concurrent requests", *workers, scenarios.MaxWorkers)
		}
		sc, err := scenarios.Load(*name)
		if err != nil {
			return nil, usageError{err}
		}
		var changed []string
		if set["duration"] {
			sc.Duration = *duration
			changed = append(changed, "-duration "+duration.String())
			var last time.Duration
			for _, f := range sc.Faults {
				last = max(last, f.At)
			}
			if last > *duration && !ignoreFaults {
				return nil, usagef("-duration %s: scenario %s injects faults until %s after its warm-up; use -duration %s or more",
					*duration, sc.Name, last, last)
			}
		}
		if set["rate"] || set["workers"] {
			if err := applyRate(sc, *rate, *workers); err != nil {
				return nil, err
			}
			if set["rate"] {
				changed = append(changed, "-rate "+strings.TrimSpace(*rate))
			}
			if set["workers"] {
				changed = append(changed, fmt.Sprintf("-workers %d", *workers))
			}
		}
		if set["servers"] {
			if *servers < 1 {
				return nil, usagef("-servers %d: want 1 or more", *servers)
			}
			sc.Servers = *servers
			changed = append(changed, fmt.Sprintf("-servers %d", *servers))
		}
		check := *sc
		if ignoreFaults {
			check.Faults = nil // kept in sc so that the run can say they were skipped
		}
		if err := check.Validate(); err != nil {
			if len(changed) > 0 {
				return nil, usagef("%s: scenario %s does not validate with this change:\n%w", strings.Join(changed, " and "), sc.Name, err)
			}
			return nil, usageError{err}
		}
		return sc, nil
	}
}

// checkRate checks the value of -rate: requests per second or max.
func checkRate(rate string) error {
	if rate == "max" {
		return nil
	}
	rps, err := strconv.ParseFloat(rate, 64)
	if err != nil || !(rps > 0 && rps <= scenarios.MaxRPS) {
		return usagef("-rate %s: want requests per second > 0 and <= %g, or max (a closed loop as fast as the server answers)", rate, scenarios.MaxRPS)
	}
	return nil
}

// applyRate applies -rate (checked by checkRate; empty when not given) and -workers (0 when
// not given) to sc.
func applyRate(sc *scenarios.Scenario, rate string, workers int) error {
	switch rate {
	case "max":
		if workers == 0 {
			workers = scenarios.DefaultMaxWorkers
			if sc.Rate.ClosedLoop() {
				workers = sc.Rate.Workers
			}
		}
		sc.Rate = scenarios.Rate{Shape: scenarios.ShapeMax, Workers: workers}
		return nil
	case "":
	default:
		rps, _ := strconv.ParseFloat(rate, 64)
		sc.Rate = scenarios.Rate{Shape: scenarios.ShapeConstant, RPS: rps}
	}
	if workers > 0 {
		if !sc.Rate.ClosedLoop() {
			return usagef("-workers applies to -rate max (scenario %s's rate is %s)", sc.Name, cmp.Or(sc.Rate.Shape, scenarios.ShapeConstant))
		}
		sc.Rate.Workers = workers
	}
	return nil
}

// writeJUnit writes a summary's thresholds as JUnit XML.
func writeJUnit(path string, s *summary.Summary) error {
	return writeThresholdsJUnit(path, s.Scenario, s.Thresholds)
}

// writeThresholdsJUnit writes thresholds as JUnit XML, one testsuite named suite.
func writeThresholdsJUnit(path, suite string, ts []summary.Threshold) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := threshold.JUnit(f, suite, ts); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runExit maps a run's outcome to the CLI's errors (and so its exit code).
func runExit(ctx context.Context, err error, res *runner.Result) error {
	var envErr *runner.EnvError
	var useErr *runner.UsageError
	switch {
	case errors.As(err, &useErr):
		return usageError{err}
	case errors.As(err, &envErr):
		return envError{err}
	case err != nil && res == nil && ctx.Err() == nil:
		return usageError{err}
	case err != nil:
		return err
	case res.Summary.Interrupted:
		return interruptedError{"run interrupted: no verdict; the report holds what was measured"}
	case !res.Summary.Pass && res.Summary.Aborted == "" && threshold.OnlyInconclusive(res.Summary.Thresholds):
		return inconclusiveError{"INCONCLUSIVE: " + res.Summary.Inconclusive}
	case !res.Summary.Pass:
		return failError{"thresholds failed"}
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal): live progress then
// rewrites one line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
