// Package runner owns one `bench run`: for each repeat and mode it brings the stack up,
// drives it with the scenario, checks every response, measures, tears down; then it
// assembles summary.json, evaluates the thresholds and renders the report. Data flows one
// way: scenario → stack + driver → checkers → metrics → summary → report.
package runner

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/threshold"
	"github.com/atlasbench/atlasbench/internal/witness"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/ideal"
	"github.com/atlasbench/atlasbench/internal/live"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/report"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// Options configure a run. Zero values mean the documented defaults.
type Options struct {
	Scenario *scenarios.Scenario // required
	// Config is the cache config (built-in name or file) the cache-mode server runs with; default "default".
	Config string
	// Mode is cache, nocache or both (default): both runs the same seeded requests without,
	// then with the cache.
	Mode summary.Mode
	// Out is the reports root; the run writes Out/<UTC timestamp>-<scenario>/ and Out/latest. Default "reports".
	Out string
	// Redis is the -redis spec: auto (default), process, docker, embedded or a URL.
	Redis string
	// RedisMemory limits the memory of a Redis the run starts; zero: stack.DefaultMemory.
	RedisMemory stack.Memory
	// MaxLag is driver.Config.MaxLag: how far behind its schedule a scheduled run may send
	// before it is cut off; zero: driver.DefaultMaxLag, negative: never.
	MaxLag time.Duration
	// DB is sqlite (default) or a postgres:// server URL.
	DB string
	// Target drives an already running server instead of starting a stack.
	Target string
	// Secret signs tokens for Target (its ATLAS_JWT_SECRET); stacks get a fresh random one.
	Secret []byte
	// TargetRedis and TargetDB are the Redis (a redis:// or redis+cluster:// URL) and the
	// PostgreSQL database (a postgres:// URL) behind Target: second witnesses of its figures.
	TargetRedis, TargetDB string
	// Count repeats the measured window, modes interleaved; default 1.
	Count int
	// Shard limits the run to one shard's users (bench run -shard i/N); zero: every user.
	// Only shard 1 injects the scenario's faults; the others mark the fault times as phase
	// boundaries so that their phases line up with shard 1's.
	Shard driver.Shard
	// StartAt is when the measured window starts (bench run -start-at), the same for every
	// shard of a run; zero: as soon as the stack is up.
	StartAt time.Time
	// Binary is the bench executable the server runs from; default os.Executable().
	Binary string
	// Progress receives live progress; TTY rewrites one line, else a line every 5 s.
	Progress io.Writer
	TTY      bool
	// Quiet keeps Progress to one line per mode (which mode of which config and repeat starts).
	Quiet bool
	// MetricsAddr, when set, serves the run's live figures for Prometheus at
	// http://MetricsAddr/metrics (package live); JSONL, when not nil, gets one JSON line of
	// progress per second.
	MetricsAddr string
	JSONL       io.Writer
	Log         *slog.Logger

	attacks *plan      // the run's attacks, for the overall ETA of the progress
	lines   io.Writer  // where the one line per mode goes; Progress itself unless Quiet
	live    *live.View // the live view; nil without MetricsAddr and JSONL
}

// UsageError is a bad scenario, config or option: the run never started.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// EnvError is an environment failure (Redis or DB could not start, target unreachable).
type EnvError struct{ Err error }

func (e *EnvError) Error() string { return e.Err.Error() }
func (e *EnvError) Unwrap() error { return e.Err }

// Result is a finished (or interrupted) run.
type Result struct {
	Dir     string
	Summary *summary.Summary
}

// Run executes the run and writes its directory. An interrupted run (ctx cancelled) still
// writes what it measured and returns it with Summary.Interrupted set.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if err := o.check([]string{o.Config}); err != nil {
		return nil, err
	}
	dir := runDir(o.Out, o.Scenario.Name, "")
	results, err := o.execute(ctx, []string{o.Config}, func(string) string { return dir })
	if len(results) == 0 {
		return nil, err
	}
	linkLatest(o.Out, dir, LatestLink)
	return results[0], err
}

// Names of the links in Out to the newest results. LatestLink always names a single run
// directory (what bench report and bench gate read); a compare moves LatestCompareLink only.
const (
	LatestLink        = "latest"
	LatestCompareLink = "latest-compare"
)

// Compare runs the scenario once per cache config, repeats interleaved across configs
// (A, B, A, B, …) so drift on a shared machine hits all alike. It writes one run directory
// per config under Out/<timestamp>-<scenario>-compare/, points Out/latest-compare (never
// Out/latest) at it, and returns that directory.
func Compare(ctx context.Context, o Options, configs []string) (string, []*Result, error) {
	if err := o.defaults(); err != nil {
		return "", nil, err
	}
	if len(configs) < 2 {
		return "", nil, errors.New("runner: compare needs at least two configs")
	}
	if err := o.check(configs); err != nil {
		return "", nil, err
	}
	root := runDir(o.Out, o.Scenario.Name, "-compare")
	results, err := o.execute(ctx, configs, func(config string) string {
		return filepath.Join(root, safeName(config))
	})
	if len(results) > 0 {
		linkLatest(o.Out, root, LatestCompareLink)
	} else {
		os.Remove(root) // empty: every config's directory was removed
	}
	return root, results, err
}

func runDir(out, scenario, suffix string) string {
	return filepath.Join(out, time.Now().UTC().Format("20060102T150405Z")+"-"+scenario+suffix)
}

// safeName turns a config name or path into a directory name.
func safeName(config string) string {
	name := strings.TrimSuffix(filepath.Base(config), filepath.Ext(config))
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, name)
}

// execute runs every (repeat, config, mode) in interleaved order and writes one run
// directory per config. It returns the configs that measured anything.
func (o *Options) execute(ctx context.Context, configs []string, dirOf func(config string) string) ([]*Result, error) {
	if err := checkThresholds(o.Scenario); err != nil {
		return nil, &UsageError{err}
	}
	if _, err := abortRules(o.Scenario); err != nil {
		return nil, &UsageError{err}
	}
	modes := o.modes()
	if err := o.preflight(ctx, modes); err != nil {
		return nil, err
	}
	var err error
	if o.live, err = o.openLive(ctx); err != nil {
		return nil, err
	}
	defer o.live.Close()
	o.attacks = &plan{total: o.Count * len(configs) * len(modes)}
	runs := make([]*run, len(configs))
	for i, config := range configs {
		r, err := o.newRun(config, dirOf(config))
		if err != nil {
			return nil, err
		}
		runs[i] = r
	}
	interrupted, runErr := o.measure(ctx, runs, modes)
	var results []*Result
	for _, r := range runs {
		if len(r.figs) == 0 {
			// Nothing measured: leave no directory behind (an error quotes the server log).
			os.RemoveAll(r.dir)
			continue
		}
		if err := o.finishRun(r, interrupted, runErr); err != nil {
			return results, err
		}
		results = append(results, &Result{Dir: r.dir, Summary: r.s})
	}
	if len(results) == 0 && runErr == nil {
		// Nothing measured: no report, and Out/latest stays where it was.
		runErr = fmt.Errorf("runner: interrupted before its measured window: nothing measured, no report written: %w", cmp.Or(ctx.Err(), context.Canceled))
	}
	return results, runErr
}

// modes are the modes each repeat of each config runs, in order.
func (o *Options) modes() []summary.Mode {
	switch {
	case o.Target != "":
		return []summary.Mode{summary.ModeTarget}
	case o.Mode != summary.ModeBoth:
		return []summary.Mode{o.Mode}
	}
	return []summary.Mode{summary.ModeNoCache, summary.ModeCache}
}

// run is one config's run directory, its summary so far and its figures by mode (one per
// repeat).
type run struct {
	dir  string
	s    *summary.Summary
	figs map[summary.Mode][]summary.Figures
	// cache is the config's cache settings, loaded once; nil when they cannot be loaded.
	cache *cache.Config
}

// newRun creates config's run directory and starts its summary: what is known before
// anything runs.
func (o *Options) newRun(config, dir string) (*run, error) {
	sc := o.Scenario
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &EnvError{fmt.Errorf("runner: %w", err)}
	}
	s := &summary.Summary{
		Schema: summary.Schema, Scenario: sc.Name, Config: config, Mode: o.Mode, Started: time.Now().UTC(),
		Env:   summary.Env{Go: runtime.Version(), CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, DB: dbKind(o.DB), Git: gitDescribe()},
		Count: o.Count, Samples: map[string][]float64{},
	}
	var cc *cache.Config
	if c, err := cache.LoadConfig(config); err == nil {
		cc = &c
		if o.Target == "" {
			en, ttl := c.Effective()
			s.CacheConfig = &summary.CacheConfig{Enabled: en, TTLSeconds: ttl}
		}
	}
	if o.Shard.Sharded() {
		s.Shard = &summary.Shard{Index: o.Shard.Index, Count: o.Shard.Count, Seed: sc.Seed, StartAt: o.StartAt.UTC()}
	}
	if o.Target != "" {
		s.Env.Target, s.Env.RedisBackend, s.Mode = o.Target, stack.BackendExternal, summary.ModeTarget
		if len(sc.Faults) > 0 {
			s.Notes = append(s.Notes, "faults skipped: -target gives the harness no control over the server's Redis")
		}
	}
	return &run{dir: dir, s: s, figs: map[summary.Mode][]summary.Figures{}, cache: cc}, nil
}

// measure runs every repeat of every config's modes, interleaved, until done, interrupted
// or an error; each mode's figures go to its run.
func (o *Options) measure(ctx context.Context, runs []*run, modes []summary.Mode) (interrupted bool, err error) {
	for rep := 1; rep <= o.Count; rep++ {
		for _, r := range runs {
			for _, mode := range modes {
				if ctx.Err() != nil {
					return true, nil
				}
				f, notes, backend, err := o.runMode(ctx, r.dir, r.s.Config, r.cache, mode, rep)
				if backend != "" {
					r.s.Env.RedisBackend = backend
				}
				if err != nil {
					return false, err
				}
				if f.Interrupted() && f.Requests == 0 {
					return true, nil // stopped before its measured window: nothing to report
				}
				o.add(r, f, notes)
				if f.aborted != "" {
					r.s.Aborted = f.aborted
					return false, nil // an aborting threshold is lost: the run stops here
				}
				if f.Interrupted() {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// add takes one mode's figures and notes into its run.
func (o *Options) add(r *run, f *figuresRun, notes []string) {
	sc := o.Scenario
	r.s.Notes = appendNew(r.s.Notes, notes...)
	r.figs[f.Mode] = append(r.figs[f.Mode], f.Figures)
	if o.Target == "" {
		if r.s.Population == nil {
			r.s.Population = &summary.Population{Users: sc.Population.Users,
				Conversations: sc.Population.Conversations, Messages: sc.Population.Messages}
		}
		r.s.Population.SeedingS = max(r.s.Population.SeedingS, math.Round(f.seeding.Seconds()*1000)/1000)
	}
	if r.s.Shard != nil {
		r.s.Shard.LateS = max(r.s.Shard.LateS, f.late.Seconds())
	}
}

// finishRun completes a run's summary (figures, cross-checks, thresholds, verdict) and
// writes it with its report.
func (o *Options) finishRun(r *run, interrupted bool, runErr error) error {
	s := r.s
	s.Interrupted = interrupted
	Assemble(s, r.figs)
	gatherCrossChecks(s, r.figs)
	s.Thresholds = threshold.EvalAll(o.Scenario.Thresholds, s)
	if interrupted {
		threshold.NotJudged(s.Thresholds, "the run was interrupted before its end")
	}
	s.Pass = threshold.Passed(s.Thresholds) && runErr == nil && !interrupted && s.Aborted == ""
	if runErr != nil {
		s.Notes = append(s.Notes, "the run stopped early: "+runErr.Error())
	}
	if err := summary.Write(r.dir, s); err != nil {
		return &EnvError{err}
	}
	if err := report.Render(r.dir, s); err != nil {
		return &EnvError{err}
	}
	return nil
}

func (o *Options) defaults() error {
	if o.Scenario == nil {
		return errors.New("runner: no scenario")
	}
	if o.Config == "" {
		o.Config = "default"
	}
	if o.Mode == "" {
		o.Mode = summary.ModeBoth
	}
	if !o.Mode.Valid() {
		return &UsageError{fmt.Errorf("runner: mode %q: want cache, nocache or both", o.Mode)}
	}
	if o.Out == "" {
		o.Out = "reports"
	}
	if o.RedisMemory == (stack.Memory{}) {
		o.RedisMemory = stack.DefaultMemory
	}
	if err := o.RedisMemory.Validate(); err != nil {
		return &UsageError{fmt.Errorf("runner: %w", err)}
	}
	if o.Count <= 0 {
		o.Count = 1
	}
	if !o.StartAt.IsZero() && (o.Count > 1 || o.Mode == summary.ModeBoth && o.Target == "") {
		return &UsageError{errors.New("runner: -start-at starts one measured window: it needs -count 1 and one mode (-mode cache, -mode nocache or -target)")}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.lines = io.Discard; o.Quiet {
		o.lines, o.Progress = o.Progress, io.Discard
	}
	if o.Target == "" {
		// A fresh secret per run, hex so it travels in the server's environment.
		b := make([]byte, 32)
		rand.Read(b)
		o.Secret = []byte(hex.EncodeToString(b))
	}
	return nil
}

// runMode brings one stack up (unless Target), attacks it once, and measures: the named
// steps of modeRun, in order. It returns the mode's figures, its notes and the Redis
// backend it ran on.
func (o *Options) runMode(ctx context.Context, dir, config string, cc *cache.Config, mode summary.Mode, rep int) (*figuresRun, []string, string, error) {
	m := &modeRun{o: o, sc: o.Scenario, dir: dir, config: config, cache: cc, mode: mode, rep: rep}
	defer m.close()
	fmt.Fprintf(o.lines, "%s repeat %d of %d: stack, warm-up %s, measured window %s…\n", m.label(), rep, o.Count, o.Scenario.Warmup, o.Scenario.Duration)
	if err := m.up(ctx); err != nil {
		return nil, m.notes, m.backend, err
	}
	p := m.pipeline(ctx)
	out, err := m.attack(ctx, p)
	if err != nil {
		return nil, m.notes, m.backend, err
	}
	f, part, err := m.figures(ctx, p, out)
	if err != nil {
		return nil, m.notes, m.backend, err
	}
	if part != nil {
		// The shard's lossless measurements, for bench merge.
		if err := metrics.WritePart(dir, part); err != nil {
			return nil, m.notes, m.backend, &EnvError{fmt.Errorf("runner: %w", err)}
		}
	}
	fr := &figuresRun{Figures: f, interrupted: out.Interrupted && m.aborted == "", late: out.Late, aborted: m.aborted}
	if m.st != nil {
		fr.seeding = m.st.Seeding
	}
	return fr, m.notes, m.backend, nil
}

// modeRun is one (config, mode, repeat) of a run, from its stack to its figures.
type modeRun struct {
	o           *Options
	sc          *scenarios.Scenario
	dir, config string
	cache       *cache.Config // the config's cache settings; nil when they could not be loaded
	mode        summary.Mode
	rep         int

	st      *stack.Stack // nil against a target
	bases   []string     // the servers' base URLs
	backend string       // the Redis backend, once known
	aborted string       // why an aborting threshold stopped the attack; "" when none did
	notes   []string     // caveats for the summary, in order
	cleanup []func()     // run last first by close
}

// onClose adds a clean-up for close.
func (m *modeRun) onClose(f func()) { m.cleanup = append(m.cleanup, f) }

// close runs the clean-ups, last first.
func (m *modeRun) close() {
	for i := len(m.cleanup) - 1; i >= 0; i-- {
		m.cleanup[i]()
	}
}

// label prefixes the mode's progress lines.
func (m *modeRun) label() string { return fmt.Sprintf("[%s %s]", m.config, m.mode) }

// up brings the stack up (Redis, the database, the servers) and checks that it can inject
// the scenario's faults; against a target it only checks that the target answers.
func (m *modeRun) up(ctx context.Context) error {
	o, sc, mode := m.o, m.sc, m.mode
	if o.Target != "" {
		m.bases = []string{o.Target}
		if err := reachable(ctx, o.Target); err != nil {
			return &EnvError{err}
		}
		return nil
	}
	fmt.Fprintf(o.Progress, "%s starting Redis, DB (%d users) and %s…\n", m.label(), sc.Population.Users, plural(max(sc.Servers, 1), "server"))
	rl := o.openRunLog(m.dir)
	m.onClose(func() { rl.close() })
	m.onClose(func() { rl.report(o.Progress, m.label()) })
	var logw io.Writer = io.Discard
	if lf, err := os.Create(filepath.Join(m.dir, fmt.Sprintf("server-%s%s.log", mode, repSuffix(m.rep)))); err == nil {
		m.onClose(func() { lf.Close() })
		logw = lf
	}
	var shape *stack.ClusterShape
	if c := sc.Redis.Cluster; c != nil {
		shape = &stack.ClusterShape{Masters: c.Masters, Replicas: c.Replicas, NodeTimeout: c.NodeTimeout}
	}
	st, err := stack.Up(ctx, stack.Options{
		Binary: o.Binary, Redis: o.Redis, Cluster: shape, Persistence: sc.Redis.Persistence, RedisMemory: o.RedisMemory, DB: o.DB, Mode: string(mode), Config: m.config,
		Seed: sc.Seed, Users: sc.Population.Users, Conversations: sc.Population.Conversations,
		Messages: sc.Population.Messages, Tiers: sc.Population.Tiers.String(),
		DBLatency: sc.DB.Latency, DBJitter: sc.DB.Jitter, Secret: o.Secret, ServerLog: logw, Log: rl.Logger,
		Servers: sc.Servers,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &EnvError{fmt.Errorf("runner: %s stack: %w%s", mode, err, logTail(logw, 8))}
	}
	m.onClose(func() { st.Close() })
	m.st, m.bases = st, st.URLs()
	if st.Redis != nil {
		m.backend = st.Redis.Backend
	}
	for _, f := range sc.Faults {
		if err := st.Supports(f); err != nil {
			return &UsageError{fmt.Errorf("runner: scenario %s: %w", sc.Name, err)}
		}
	}
	if st.Redis != nil && st.Redis.Note != "" {
		m.notes = append(m.notes, st.Redis.Note)
	}
	return nil
}

// pipeline is what measures one attack: the driver's verdicts go through the ideal-cache
// model and the per-shard tally to the checker and the recorder, beside the stats poller,
// the second witnesses, the Redis memory sampler and the process watcher.
type pipeline struct {
	rec      *metrics.Recorder
	shards   *metrics.Shards // nil unless on a Redis Cluster the harness started
	model    *ideal.Model    // nil without a cache
	chk      *check.Checker
	poll     *metrics.Poller
	stopPoll func() // stops the poller and waits for it
	wit      *witness.Session
	// attackCtx is what the driver runs under: the mode's, also stopped (with errAborted as
	// its cause) by abort once an aborting threshold is lost.
	attackCtx context.Context
	abort     *abortWatch // nil without aborting thresholds
	mem       *memSampler // nil without a Redis of the harness's
	procs     func(*summary.Figures)
}

// pipeline wires the measuring side of the mode and starts polling.
func (m *modeRun) pipeline(ctx context.Context) *pipeline {
	o, sc := m.o, m.sc
	p := &pipeline{rec: metrics.NewRecorder(metrics.Options{Mode: m.mode})}
	if o.Shard.Sharded() {
		p.rec.KeepRaw()
	}
	next := p.rec.Add
	if p.shards = clusterShards(m.st); p.shards != nil {
		next = func(v check.Verdict) { p.rec.Add(v); p.shards.Add(v) }
	}
	if m.mode != summary.ModeNoCache {
		if cfg := m.cache; cfg != nil && cfg.Enabled() {
			p.model = ideal.New(func(tier, class string) time.Duration { return cfg.TTL(tier, cache.Class(class)) }, cache.DefaultNegativeTTL)
			if cfg.Warm {
				p.model.WarmAtStart()
			}
			inner := next
			next = func(v check.Verdict) { p.model.Add(v.Record); inner(v) }
		}
	}
	var stop context.CancelCauseFunc
	p.attackCtx, stop = context.WithCancelCause(ctx)
	m.onClose(func() { stop(nil) })
	rules, _ := abortRules(sc) // checked before the run started
	if p.abort = newAbortWatch(rules, stop); p.abort != nil {
		inner := next
		next = func(v check.Verdict) { inner(v); p.abort.Add(v) }
	}
	if o.live != nil {
		inner, mode := next, string(m.mode)
		next = func(v check.Verdict) { inner(v); o.live.Observe(mode, v) }
	}
	p.chk = check.New(check.Options{Next: next})
	p.poll = metrics.NewPoller(m.bases[0], metrics.PollerOptions{More: m.bases[1:]})
	p.wit = o.openWitnesses(ctx, m.st, m.bases)
	m.onClose(func() { p.wit.Close() })
	m.pgWait("before the attack")
	p.wit.Begin(ctx)
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	pollDone := make(chan struct{})
	go func() { p.poll.Run(pctx); close(pollDone) }()
	p.stopPoll = func() { cancel(); <-pollDone }
	if m.st != nil && m.st.Redis != nil && m.st.Redis.Backend != stack.BackendEmbedded {
		if p.mem = startMemSampler(context.WithoutCancel(ctx), m.st.Redis.URL); p.mem != nil {
			m.onClose(p.mem.close)
		}
	}
	p.procs = watchProcesses(ctx, m.st, m.bases, sc.Total())
	m.onClose(func() { p.procs(nil) })
	return p
}

// events are the scenario's faults as driver events (none against a target); a shard
// other than the first only marks their phases, shard 1 injects them.
func (m *modeRun) events() []driver.Event {
	if m.st == nil {
		return nil
	}
	var events []driver.Event
	for _, f := range m.sc.Faults {
		e := driver.Event{At: f.At, Name: f.Do, Fn: func(ctx context.Context) error { return m.st.Fault(ctx, f) }}
		if m.o.Shard.Index > 1 {
			e.Fn = nil
		}
		events = append(events, e)
	}
	return events
}

// attack runs the driver once through the pipeline, then stops polling, closes the
// checker and ends the witnesses' window.
func (m *modeRun) attack(ctx context.Context, p *pipeline) (*driver.Outcome, error) {
	o, sc, mode := m.o, m.sc, m.mode
	if !o.StartAt.IsZero() {
		who := ""
		if o.Shard.Sharded() {
			who = " shard " + o.Shard.String() + ":"
		}
		fmt.Fprintf(o.Progress, "%s%s measured window starts at %s (warm-up %s before)\n",
			m.label(), who, o.StartAt.UTC().Format(time.RFC3339Nano), sc.Warmup)
	}
	stopCountdown := m.startAtCountdown()
	defer stopCountdown()
	tick := o.newProgress(m.config, mode, m.rep).tick
	o.live.Phase(string(mode), "warmup")
	defer o.live.Phase(string(mode), "done")
	out, err := driver.Run(p.attackCtx, driver.Config{
		BaseURLs: m.bases, Scenario: sc, Secret: o.Secret, Mode: mode,
		ResultsPath: filepath.Join(m.dir, "results-"+string(mode)+repSuffix(m.rep)+".bin"),
		WarmupPath:  warmupPath(m.dir, mode, m.rep, sc.Warmup),
		Events:      m.events(),
		MaxWorkers:  maxWorkers(sc),
		MaxLag:      m.o.MaxLag,
		Sink:        p.chk.Add,
		OnEvent: func(e driver.EventRecord) {
			o.live.Phase(string(mode), livePhase(e.Name))
			p.rec.Event(e)
			p.wit.Mark(context.WithoutCancel(ctx), e.Name, e.Offset, func(context.Context) *metrics.Snapshot {
				pollCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				defer cancel()
				if snap, err := p.poll.Poll(pollCtx); err == nil {
					return &snap
				}
				return nil
			})
			if e.Err != nil {
				o.Log.Warn("fault failed", "fault", e.Name, "err", e.Err)
			}
		},
		OnTick: func(pr driver.Progress) {
			stopCountdown()
			tick(pr)
			if err := o.live.Tick(string(mode), time.Now(), pr); err != nil {
				o.Log.Warn("live view", "err", err)
			}
		},
		Shard:   o.Shard,
		StartAt: o.StartAt,
	})
	p.stopPoll()
	p.chk.Close()
	p.abort.close()
	if cause := context.Cause(p.attackCtx); errors.Is(cause, errAborted) && ctx.Err() == nil {
		m.aborted = strings.TrimPrefix(cause.Error(), errAborted.Error()+": ")
		fmt.Fprintf(o.Progress, "%s ABORTED: %s\n", m.label(), m.aborted)
	}
	if ctx.Err() == nil {
		m.pgWait("after the attack")
	}
	p.wit.Finish(afterAttack(ctx))
	if err != nil {
		return nil, fmt.Errorf("runner: %s attack: %w", mode, err)
	}
	if o.TTY {
		fmt.Fprintln(o.Progress)
	}
	if out.Late > LateTolerance {
		late := fmt.Sprintf("%s: shard %s started its measured window %.2fs after -start-at: its window is offset from the other shards'",
			mode, o.Shard, out.Late.Seconds())
		o.Log.Warn(late)
		m.notes = append(m.notes, late)
	}
	if n, perr := p.poll.Errors(); n > 0 {
		m.notes = append(m.notes, fmt.Sprintf("%s: %d stats polls failed (last: %v)", mode, n, perr))
	}
	return out, nil
}

// figures builds the mode's Figures, all in this one place: the recorder's (the mode, the
// key audit included), then what only the runner sees (processes, the ideal cache, the
// witnesses' verdicts, Redis memory, topology, shards and capacity). part is the shard's
// lossless measurements when the run is sharded.
func (m *modeRun) figures(ctx context.Context, p *pipeline, out *driver.Outcome) (f summary.Figures, part *metrics.Part, err error) {
	mode, st := m.mode, m.st
	var more []string // the recorder's and the stack's notes, after the mode's own
	input := metrics.Input{Outcome: out, Checks: p.chk.Report(), Snapshots: p.poll.Snapshots(),
		Servers: len(m.bases), ServerURLs: m.bases}
	if st != nil && st.Redis != nil {
		input.KeyAudit = auditKeys(ctx, st, mode, &more)
	}
	if m.o.Shard.Sharded() {
		if part, err = p.rec.Part(input); err != nil {
			return f, nil, &EnvError{fmt.Errorf("runner: %s: %w", mode, err)}
		}
	}
	f, finishNotes := p.rec.Finish(input)
	more = append(finishNotes, more...)
	p.procs(&f)
	if f.Extra == nil {
		f.Extra = map[string]float64{}
	}
	// The slowest write of the results stream: a disk stall would show here.
	f.Extra["results_write_max_ms"] = ms(out.ResultsWriteMax)
	f.HarnessRSSMiB = harnessPeakRSSMiB()
	if p.model != nil {
		ih := p.model.HitRate()
		eff := ideal.Efficiency(f.HitRate, ih)
		f.HitRateIdeal, f.CacheEfficiency = &ih, &eff
		steadyEfficiency(&f, p.model)
	}
	if st != nil {
		for i := range f.Servers {
			if i < len(st.Servers) {
				f.Servers[i].RSSMiB = float64(st.Servers[i].PeakRSS()) / (1 << 20)
			}
		}
	}
	p.wit.Judge(&f)
	for _, n := range p.wit.Notes() {
		m.notes = append(m.notes, string(mode)+": "+n)
	}
	if p.mem != nil {
		f.RedisMemory = p.mem.collect(ctx, out.MeasureStart)
	}
	if st != nil && st.Redis != nil {
		f.Redis = redisFigures(ctx, st.Redis)
		if p.shards != nil && f.Redis != nil {
			whole, series := p.shards.Finish(out.Ran.Seconds(), f.Phases)
			f.Redis.Shards = whole
			if f.Series != nil {
				f.Series.HitRateByShard = series
			}
		}
		if ctx.Err() == nil { // an interrupted run does not wait for the key scan
			measureCapacity(ctx, st, m.sc.Population.Users, &f, &more)
		}
	}
	for _, fe := range out.Events {
		if fe.Err != nil {
			m.notes = append(m.notes, fmt.Sprintf("%s: fault %s at %s failed: %v", mode, fe.Name, fe.At, fe.Err))
		}
	}
	m.notes = append(m.notes, more...)
	return f, part, nil
}

// auditKeys scans the run's Redis for keys no legitimate request could have produced (a
// hostile input that reached a key of its choosing); nil, with a note, when the scan fails.
func auditKeys(ctx context.Context, st *stack.Stack, mode summary.Mode, notes *[]string) *metrics.KeyAudit {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	total, bad, err := st.AuditKeys(actx, 10)
	if err != nil {
		*notes = append(*notes, fmt.Sprintf("%s: cache-key audit failed: %v", mode, err))
		return nil
	}
	return &metrics.KeyAudit{Audited: total, Foreign: bad}
}

// measureCapacity reads what the cache holds in Redis at the end of the window (memory
// per cached user and per class, keys per user) and extrapolates it to larger populations.
func measureCapacity(ctx context.Context, st *stack.Stack, users int, f *summary.Figures, notes *[]string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	c, err := st.Capacity(cctx, users)
	if err != nil {
		*notes = append(*notes, fmt.Sprintf("%s: capacity figures unavailable: %v", f.Mode, err))
		return
	}
	if c != nil {
		c.HitRate = f.HitRate.Overall
		f.Capacity = c
	}
}

// clusterShards returns a per-shard tally of cache lookups when the stack runs a Redis
// Cluster the harness started (whose slot ranges it assigned), else nil.
func clusterShards(st *stack.Stack) *metrics.Shards {
	if st == nil || st.Redis == nil || st.Redis.Cluster == nil {
		return nil
	}
	masters := st.Redis.Cluster.MasterCount()
	slots := make([]string, masters)
	for i := range slots {
		lo, hi := redisproc.SlotRange(i+1, masters)
		slots[i] = fmt.Sprintf("%d-%d", lo, hi)
	}
	return metrics.NewShards(slots, func(user string) int {
		// Every key of a user shares the {u:…} hash tag, hence one slot.
		return redisproc.ShardOfSlot(redisproc.KeySlot(cache.IDGenKey(user)), masters)
	})
}

// redisFigures describes the Redis a stack ran on, at the end of the mode: the cluster's
// nodes with their roles now, or the one server. nil for an external Redis.
func redisFigures(ctx context.Context, r *stack.Redis) *summary.Redis {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if c := r.Cluster; c != nil {
		out := &summary.Redis{Topology: summary.Topology{Kind: summary.TopologyCluster, Masters: c.MasterCount(), Replicas: c.ReplicaCount()}}
		for _, n := range c.Topology(ctx) {
			out.Nodes = append(out.Nodes, summary.RedisNode{Name: n.Name, Address: n.Addr, Role: n.Role, Up: n.Up, Keys: n.Keys, UsedMemory: n.UsedBytes})
		}
		return out
	}
	if r.Backend == stack.BackendExternal {
		return nil
	}
	out := &summary.Redis{Topology: summary.Topology{Kind: summary.TopologySingle, Masters: 1}}
	addr := strings.TrimPrefix(r.URL, "redis://")
	keys, used, err := redisproc.NodeStats(ctx, addr)
	out.Nodes = []summary.RedisNode{{Name: "redis", Address: addr, Role: redisproc.RoleMaster, Up: err == nil, Keys: keys, UsedMemory: used}}
	return out
}

// figuresRun is one mode's figures, whether its attack was cut short, how long its database
// took to seed, and how late after Options.StartAt it started.
type figuresRun struct {
	summary.Figures
	interrupted bool
	seeding     time.Duration
	late        time.Duration
	aborted     string // why an aborting threshold stopped the attack
}

// LateTolerance is how late after -start-at a shard may start its measured window before
// the run says so.
const LateTolerance = 50 * time.Millisecond

func (f *figuresRun) Interrupted() bool { return f.interrupted }

// maxWorkers caps vegeta's workers at what the peak rate needs with two seconds of latency
// (at least 100, at most 4096). Uncapped, a stalled server makes vegeta start a goroutine and
// a connection per scheduled request, which grows the harness by gigabytes; capped, the
// pacer waits instead and latency measured from the intended send time still shows the stall.
func maxWorkers(sc *scenarios.Scenario) uint64 {
	sched, peak := sc.Schedule(), 0.0
	for i := range 200 {
		peak = max(peak, sched.RateAt(sc.Total()*time.Duration(i)/200))
	}
	return uint64(min(max(peak*2, 100), 4096))
}

// plural is "1 server", "3 servers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// harnessPeakRSSMiB is this process's peak resident memory (getrusage maxrss, KiB on Linux).
func harnessPeakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

// warmupPath is where a mode's warm-up results go (none without a warm-up), apart from
// results-<mode>.bin, which then holds exactly what the figures count.
func warmupPath(dir string, mode summary.Mode, rep int, warmup time.Duration) string {
	if warmup <= 0 {
		return ""
	}
	return filepath.Join(dir, "warmup-"+string(mode)+repSuffix(rep)+".bin")
}

func repSuffix(rep int) string {
	if rep <= 1 {
		return ""
	}
	return fmt.Sprintf("-%d", rep)
}

func dbKind(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return "postgres"
	}
	return "sqlite"
}

// gitDescribe names the commit the harness was built from, best effort.
func gitDescribe() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// linkLatest points the link Out/name at dir (relative), replacing an older link.
func linkLatest(out, dir, name string) {
	link := filepath.Join(out, name)
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(filepath.Base(dir), tmp); err == nil {
		os.Rename(tmp, link)
	}
}

func appendNew(list []string, more ...string) []string {
	for _, m := range more {
		if !slices.Contains(list, m) {
			list = append(list, m)
		}
	}
	return list
}

// checkThresholds parses every threshold of the scenario before anything starts; a syntax
// error names the scenario file, the line and the thresholds[i] field.
func checkThresholds(sc *scenarios.Scenario) error {
	var errs []error
	for i, t := range sc.Thresholds {
		if _, err := threshold.Parse(t); err != nil {
			errs = append(errs, sc.Problem(fmt.Sprintf("thresholds[%d]", i), err))
		}
	}
	return errors.Join(errs...)
}
