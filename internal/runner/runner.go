// Package runner owns one `bench run`: for each repeat and mode it brings the stack up,
// drives it with the scenario, checks every response, measures, tears down; then it
// assembles summary.json, evaluates the thresholds and renders the report. Data flows one
// way: scenario → stack + driver → checkers → metrics → summary → report.
package runner

import (
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

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/ideal"
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
	Log      *slog.Logger

	attacks *plan // the run's attacks, for the overall ETA of the progress
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
	sc := o.Scenario
	if err := checkThresholds(sc); err != nil {
		return nil, &UsageError{err}
	}
	modes := []summary.Mode{summary.ModeNoCache, summary.ModeCache}
	switch {
	case o.Target != "":
		modes = []summary.Mode{summary.ModeTarget}
	case o.Mode != summary.ModeBoth:
		modes = []summary.Mode{o.Mode}
	}
	type run struct {
		dir  string
		s    *summary.Summary
		figs map[summary.Mode][]summary.Figures
	}
	o.attacks = &plan{total: o.Count * len(configs) * len(modes)}
	runs := make([]*run, len(configs))
	for i, config := range configs {
		dir := dirOf(config)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, &EnvError{fmt.Errorf("runner: %w", err)}
		}
		s := &summary.Summary{
			Schema: summary.Schema, Scenario: sc.Name, Config: config, Mode: o.Mode, Started: time.Now().UTC(),
			Env:   summary.Env{Go: runtime.Version(), CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, DB: dbKind(o.DB), Git: gitDescribe()},
			Count: o.Count, Samples: map[string][]float64{},
		}
		if o.Target == "" {
			if c, err := cache.LoadConfig(config); err == nil {
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
		runs[i] = &run{dir: dir, s: s, figs: map[summary.Mode][]summary.Figures{}}
	}
	var runErr error
	interrupted := false
repeats:
	for rep := 1; rep <= o.Count; rep++ {
		for _, r := range runs {
			for _, mode := range modes {
				if ctx.Err() != nil {
					interrupted = true
					break repeats
				}
				f, notes, backend, err := o.runMode(ctx, r.dir, r.s.Config, mode, rep)
				if backend != "" {
					r.s.Env.RedisBackend = backend
				}
				if err != nil {
					runErr = err
					break repeats
				}
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
				if f.Interrupted() {
					interrupted = true
					break repeats
				}
			}
		}
	}
	var results []*Result
	for _, r := range runs {
		if len(r.figs) == 0 {
			// Nothing measured: leave no directory behind (an error quotes the server log).
			os.RemoveAll(r.dir)
			continue
		}
		s := r.s
		s.Interrupted = interrupted
		Assemble(s, r.figs)
		gatherCrossChecks(s, r.figs)
		s.Thresholds = threshold.EvalAll(sc.Thresholds, s)
		s.Pass = threshold.Passed(s.Thresholds) && runErr == nil && !interrupted
		if runErr != nil {
			s.Notes = append(s.Notes, "the run stopped early: "+runErr.Error())
		}
		if err := summary.Write(r.dir, s); err != nil {
			return results, &EnvError{err}
		}
		if err := report.Render(r.dir, s); err != nil {
			return results, &EnvError{err}
		}
		results = append(results, &Result{Dir: r.dir, Summary: s})
	}
	if len(results) == 0 && runErr == nil {
		runErr = errors.New("runner: interrupted before anything was measured")
	}
	return results, runErr
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
	if o.Target == "" {
		// A fresh secret per run, hex so it travels in the server's environment.
		b := make([]byte, 32)
		rand.Read(b)
		o.Secret = []byte(hex.EncodeToString(b))
	}
	return nil
}

// runMode brings one stack up (unless Target), attacks it once, and measures.
func (o *Options) runMode(ctx context.Context, dir, config string, mode summary.Mode, rep int) (*figuresRun, []string, string, error) {
	sc := o.Scenario
	base := o.Target
	backend := ""
	var st *stack.Stack
	if o.Target == "" {
		fmt.Fprintf(o.Progress, "[%s %s] starting Redis, DB (%d users) and %s…\n", config, mode, sc.Population.Users, plural(max(sc.Servers, 1), "server"))
		rl := o.openRunLog(dir)
		defer rl.close()
		defer rl.report(o.Progress, fmt.Sprintf("[%s %s]", config, mode))
		var logw io.Writer = io.Discard
		if lf, err := os.Create(filepath.Join(dir, fmt.Sprintf("server-%s%s.log", mode, repSuffix(rep)))); err == nil {
			defer lf.Close()
			logw = lf
		}
		var err error
		var shape *stack.ClusterShape
		if c := sc.Redis.Cluster; c != nil {
			shape = &stack.ClusterShape{Masters: c.Masters, Replicas: c.Replicas, NodeTimeout: c.NodeTimeout}
		}
		st, err = stack.Up(ctx, stack.Options{
			Binary: o.Binary, Redis: o.Redis, Cluster: shape, Persistence: sc.Redis.Persistence, RedisMemory: o.RedisMemory, DB: o.DB, Mode: string(mode), Config: config,
			Seed: sc.Seed, Users: sc.Population.Users, Conversations: sc.Population.Conversations,
			Messages: sc.Population.Messages, Tiers: sc.Population.Tiers.String(),
			DBLatency: sc.DB.Latency, DBJitter: sc.DB.Jitter, Secret: o.Secret, ServerLog: logw, Log: rl.Logger,
			Servers: sc.Servers,
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, "", ctx.Err()
			}
			return nil, nil, "", &EnvError{fmt.Errorf("runner: %s stack: %w%s", mode, err, logTail(logw, 8))}
		}
		defer st.Close()
		base = st.URL
		if st.Redis != nil {
			backend = st.Redis.Backend
		}
		for _, f := range sc.Faults {
			if err := st.Supports(f); err != nil {
				return nil, nil, backend, &UsageError{fmt.Errorf("runner: scenario %s: %w", sc.Name, err)}
			}
		}
	} else if err := reachable(ctx, base); err != nil {
		return nil, nil, "", &EnvError{err}
	}

	var notes []string
	if st != nil && st.Redis != nil && st.Redis.Note != "" {
		notes = append(notes, st.Redis.Note)
	}
	rec := metrics.NewRecorder(metrics.Options{Mode: mode})
	if o.Shard.Sharded() {
		rec.KeepRaw()
	}
	next := rec.Add
	shards := clusterShards(st)
	if shards != nil {
		next = func(v check.Verdict) { rec.Add(v); shards.Add(v) }
	}
	var model *ideal.Model
	if mode != "nocache" {
		if cfg, err := cache.LoadConfig(config); err == nil && cfg.Enabled() {
			model = ideal.New(func(tier, class string) time.Duration { return cfg.TTL(tier, cache.Class(class)) }, cache.DefaultNegativeTTL)
			if cfg.Warm {
				model.WarmAtStart()
			}
			inner := next
			next = func(v check.Verdict) { model.Add(v.Record); inner(v) }
		}
	}
	chk := check.New(check.Options{Next: next})
	bases := []string{base}
	if st != nil {
		bases = st.URLs()
	}
	poll := metrics.NewPoller(bases[0], metrics.PollerOptions{More: bases[1:]})
	wit := o.openWitnesses(ctx, st, bases)
	defer wit.Close()
	wit.Begin(ctx)
	pctx, stopPoll := context.WithCancel(context.WithoutCancel(ctx))
	pollDone := make(chan struct{})
	go func() { poll.Run(pctx); close(pollDone) }()
	var events []driver.Event
	if st != nil {
		for _, f := range sc.Faults {
			e := driver.Event{At: f.At, Name: f.Do, Fn: func(ctx context.Context) error { return st.Fault(ctx, f) }}
			if o.Shard.Index > 1 {
				e.Fn = nil // shard 1 injects the faults; this one only marks the phases
			}
			events = append(events, e)
		}
	}
	if !o.StartAt.IsZero() {
		fmt.Fprintf(o.Progress, "[%s %s] shard %s: measured window starts at %s (warm-up %s before)\n",
			config, mode, o.Shard, o.StartAt.UTC().Format(time.RFC3339Nano), sc.Warmup)
	}
	var mem *memSampler
	if st != nil && st.Redis != nil && st.Redis.Backend != stack.BackendEmbedded {
		mem = startMemSampler(context.WithoutCancel(ctx), st.Redis.URL, sc.Warmup)
	}
	resultsName := "results-" + string(mode) + repSuffix(rep) + ".bin"
	procs := watchProcesses(ctx, st, bases, sc.Total())
	defer procs(nil)
	out, err := driver.Run(ctx, driver.Config{
		BaseURLs: bases, Scenario: sc, Secret: o.Secret, Mode: mode,
		ResultsPath: filepath.Join(dir, resultsName),
		WarmupPath:  warmupPath(dir, mode, rep, sc.Warmup),
		Events:      events,
		MaxWorkers:  maxWorkers(sc),
		Sink:        chk.Add,
		OnEvent: func(e driver.EventRecord) {
			rec.Event(e)
			wit.Mark(context.WithoutCancel(ctx), e.Name, e.Offset, func(context.Context) *metrics.Snapshot {
				pollCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				defer cancel()
				if snap, err := poll.Poll(pollCtx); err == nil {
					return &snap
				}
				return nil
			})
			if e.Err != nil {
				o.Log.Warn("fault failed", "fault", e.Name, "err", e.Err)
			}
		},
		OnTick:  o.newProgress(mode, rep).tick,
		Shard:   o.Shard,
		StartAt: o.StartAt,
	})
	stopPoll()
	<-pollDone
	chk.Close()
	wit.Finish(context.WithoutCancel(ctx))
	if err != nil {
		if mem != nil {
			mem.finish(ctx)
		}
		return nil, notes, backend, fmt.Errorf("runner: %s attack: %w", mode, err)
	}
	if o.TTY {
		fmt.Fprintln(o.Progress)
	}
	if out.Late > LateTolerance {
		late := fmt.Sprintf("%s: shard %s started its measured window %.2fs after -start-at: its window is offset from the other shards'",
			mode, o.Shard, out.Late.Seconds())
		o.Log.Warn(late)
		notes = append(notes, late)
	}
	if n, perr := poll.Errors(); n > 0 {
		notes = append(notes, fmt.Sprintf("%s: %d stats polls failed (last: %v)", mode, n, perr))
	}
	input := metrics.Input{Outcome: out, Checks: chk.Report(), Snapshots: poll.Snapshots(),
		Servers: len(bases), ServerURLs: bases}
	var part *metrics.Part
	if o.Shard.Sharded() {
		if part, err = rec.Part(input); err != nil {
			return nil, notes, backend, &EnvError{fmt.Errorf("runner: %s: %w", mode, err)}
		}
	}
	f, more := rec.Finish(input)
	procs(&f)
	if f.Extra == nil {
		f.Extra = map[string]float64{}
	}
	// The slowest write of the results stream: a disk stall would show here.
	f.Extra["results_write_max_ms"] = ms(out.ResultsWriteMax)
	f.HarnessRSSMiB = harnessPeakRSSMiB()
	if model != nil {
		ih := model.HitRate()
		eff := ideal.Efficiency(f.HitRate, ih)
		f.HitRateIdeal, f.CacheEfficiency = &ih, &eff
	}
	if st != nil {
		for i := range f.Servers {
			if i < len(st.Servers) {
				f.Servers[i].RSSMiB = float64(st.Servers[i].PeakRSS()) / (1 << 20)
			}
		}
	}
	if mode == summary.ModeTarget {
		f.Mode = summary.ModeCache
		if polled := poll.Snapshots(); len(polled) > 0 && polled[0].Mode != "" {
			f.Mode = summary.Mode(polled[0].Mode)
		}
	}
	wit.Judge(&f)
	for _, n := range wit.Notes() {
		notes = append(notes, string(mode)+": "+n)
	}
	if mem != nil {
		f.RedisMemory = mem.finish(ctx)
	}
	if st != nil && st.Redis != nil {
		auditKeys(ctx, st, &f, &more)
		f.Redis = redisFigures(ctx, st.Redis)
		if shards != nil && f.Redis != nil {
			whole, series := shards.Finish(sc.Duration.Seconds(), f.Phases)
			f.Redis.Shards = whole
			if f.Series != nil {
				f.Series.HitRateByShard = series
			}
		}
		measureCapacity(ctx, st, sc.Population.Users, &f, &more)
	}
	for _, fe := range out.Events {
		if fe.Err != nil {
			notes = append(notes, fmt.Sprintf("%s: fault %s at %s failed: %v", mode, fe.Name, fe.At, fe.Err))
		}
	}
	if part != nil {
		// The shard's lossless measurements, for bench merge.
		part.Mode = f.Mode
		if err := metrics.WritePart(dir, part); err != nil {
			return nil, notes, backend, &EnvError{fmt.Errorf("runner: %w", err)}
		}
	}
	fr := &figuresRun{Figures: f, interrupted: out.Interrupted, late: out.Late}
	if st != nil {
		fr.seeding = st.Seeding
	}
	return fr, append(notes, more...), backend, nil
}

// auditKeys scans the run's Redis for keys no legitimate request could have produced (a
// hostile input that reached a key of its choosing) and counts each as an isolation violation.
func auditKeys(ctx context.Context, st *stack.Stack, f *summary.Figures, notes *[]string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	total, bad, err := st.AuditKeys(actx, 10)
	if err != nil {
		*notes = append(*notes, fmt.Sprintf("%s: cache-key audit failed: %v", f.Mode, err))
		return
	}
	if f.Extra == nil {
		f.Extra = map[string]float64{}
	}
	f.Extra["cache_keys_audited"] = float64(total)
	for _, k := range bad {
		f.IsolationViolations++
		f.Examples = append(f.Examples, summary.Example{Kind: "cache-key", Request: "SCAN of the run's Redis",
			Expected: "only keys the cache layer builds for a real user's routed resource", Got: k})
	}
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
