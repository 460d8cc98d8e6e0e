package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/ideal"
	"github.com/atlasbench/atlasbench/internal/loadhealth"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/witness"
	"github.com/atlasbench/atlasbench/scenarios"
)

// How a mode runs: its stack comes up (stack.go), the pipeline that measures it is wired,
// the driver attacks it once, and its figures are built (figures.go).

// modeResult is one mode's figures and what the run's summary takes from the mode besides:
// whether its attack was cut short, how long its database took to seed, and how late after
// Options.StartAt it started.
type modeResult struct {
	figures     summary.Figures
	interrupted bool
	seeding     time.Duration
	late        time.Duration
	aborted     string // why an aborting threshold stopped the attack
}

// LateTolerance is how late after -start-at a shard may start its measured window before
// the run says so.
const LateTolerance = 50 * time.Millisecond

// runMode brings one stack up (unless Target), attacks it once, and measures: the named
// steps of modeRun, in order. It returns the mode's result, its notes and the Redis
// backend it ran on.
func (e *engine) runMode(ctx context.Context, dir, config string, cc *cache.Config, mode summary.Mode, rep int) (*modeResult, []summary.Note, string, error) {
	m := &modeRun{e: e, sc: e.Scenario, dir: dir, config: config, cache: cc, mode: mode, rep: rep}
	defer m.close()
	fmt.Fprintf(e.lines, "%s repeat %d of %d: stack, warm-up %s, measured window %s…\n", m.label(), rep, e.Count, e.Scenario.Warmup, e.Scenario.Duration)
	if err := m.up(ctx); err != nil {
		return nil, m.notes, m.backend, err
	}
	p := m.pipeline(ctx)
	out, err := m.attack(ctx, p)
	if err != nil {
		return nil, m.notes, m.backend, err
	}
	f, part, more, err := m.figures(ctx, p, out)
	if err != nil {
		return nil, m.notes, m.backend, err
	}
	m.notes = append(m.notes, more...)
	if part != nil {
		// The shard's lossless measurements, for bench merge.
		if err := metrics.WritePart(dir, part); err != nil {
			return nil, m.notes, m.backend, &EnvError{fmt.Errorf("runner: %w", err)}
		}
	}
	r := &modeResult{figures: f, interrupted: out.Interrupted && m.aborted == "", late: out.Late, aborted: m.aborted}
	if m.st != nil {
		r.seeding = m.st.Seeding
	}
	return r, m.notes, m.backend, nil
}

// modeRun is one (config, mode, repeat) of a run, from its stack to its figures.
type modeRun struct {
	e           *engine
	sc          *scenarios.Scenario
	dir, config string
	cache       *cache.Config // the config's cache settings; nil when they could not be loaded
	mode        summary.Mode
	rep         int

	st      *stack.Stack   // nil against a target
	bases   []string       // the servers' base URLs
	backend string         // the Redis backend, once known
	aborted string         // why an aborting threshold stopped the attack; "" when none did
	notes   []summary.Note // caveats for the summary, in order
	cleanup []func()       // run last first by close
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

// pipeline is what measures one attack: the driver's verdicts go through the ideal-cache
// model and the per-slot-range tally to the checker and the recorder, beside the stats
// poller, the second witnesses, the Redis memory sampler and the process watcher.
type pipeline struct {
	rec      *metrics.Recorder
	slots    *metrics.SlotRanges // nil unless on a Redis Cluster the harness started
	model    *ideal.Model        // nil without a cache
	chk      *check.Checker
	poll     *metrics.Poller
	stopPoll func() // stops the poller and waits for it
	wit      *witness.Session
	mem      *memSampler // nil without a Redis of the harness's
	procs    func() ([]summary.ProcessRSS, []summary.GCPauses)
	restarts *metrics.Restarts // nil unless the scenario restarts instances
	search   *searchSampler    // nil unless the rate is a capacity search
	// health samples the generator's health over the measured window: started at the end
	// of warm-up (nil before it, and when the attack never got there).
	health atomic.Pointer[loadhealth.Sampler]
	// attackCtx is what the driver runs under: the mode's, also stopped (with errAborted as
	// its cause) by abort once an aborting threshold is lost.
	attackCtx context.Context
	abort     *abortWatch // nil without aborting thresholds
}

// pipeline wires the measuring side of the mode and starts polling.
func (m *modeRun) pipeline(ctx context.Context) *pipeline {
	e, sc := m.e, m.sc
	p := &pipeline{rec: metrics.NewRecorder(metrics.Options{Mode: m.mode})}
	if e.Shard.Sharded() {
		p.rec.KeepRaw()
	}
	next := p.rec.Add
	if p.slots = clusterSlotRanges(m.st); p.slots != nil {
		next = func(v check.Verdict) { p.rec.Add(v); p.slots.Add(v) }
	}
	if p.restarts = restartTap(sc); p.restarts != nil {
		inner := next
		next = func(v check.Verdict) { p.restarts.Add(v); inner(v) }
	}
	if m.mode != summary.ModeNoCache {
		if cfg := m.cache; cfg != nil && cfg.Enabled() {
			p.model = ideal.New(func(tier, class string) time.Duration { return cfg.TTL(tier, cache.Class(class)) }, cache.DefaultNegativeTTL)
			if cfg.Warm {
				p.model.WarmAtStart(warmedUsers(m.st, m.e.Users == nil))
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
	if e.live != nil {
		inner, mode := next, string(m.mode)
		next = func(v check.Verdict) { inner(v); e.live.Observe(mode, v) }
	}
	inner := next
	next = func(v check.Verdict) {
		if h := p.health.Load(); h != nil && !v.Record.Warmup {
			h.Lag(v.Record.Sent - v.Record.Intended)
		}
		inner(v)
	}
	p.chk = check.New(check.Options{Next: next, Owner: e.Owner})
	p.poll = metrics.NewPoller(m.bases[0], metrics.PollerOptions{More: m.bases[1:]})
	p.wit = e.openWitnesses(ctx, m.st, m.bases)
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
	var stopProcs func()
	p.procs, stopProcs = watchProcesses(ctx, m.st, m.bases, sc.Total())
	m.onClose(stopProcs)
	if sc.Rate.Searching() {
		dsn, db := e.TargetDB, ""
		if m.st != nil {
			dsn, db = "", m.st.DBName
			if db != "" {
				dsn = e.DB
			}
		}
		p.search = startSearchSampler(ctx, m.st, m.bases, dsn, db)
		m.onClose(p.search.stop)
	}
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
		ev := driver.Event{At: f.At, Name: f.Do, Fn: func(ctx context.Context) error { return m.st.Fault(ctx, f) }}
		if m.e.Shard.Index > 1 {
			ev.Fn = nil
		}
		events = append(events, ev)
	}
	return events
}

// attack runs the driver once through the pipeline, then stops polling, closes the
// checker and ends the witnesses' window.
func (m *modeRun) attack(ctx context.Context, p *pipeline) (*driver.Outcome, error) {
	e, sc, mode := m.e, m.sc, m.mode
	if !e.StartAt.IsZero() {
		who := ""
		if e.Shard.Sharded() {
			who = " shard " + e.Shard.String() + ":"
		}
		fmt.Fprintf(e.Progress, "%s%s measured window starts at %s (warm-up %s before)\n",
			m.label(), who, e.StartAt.UTC().Format(time.RFC3339Nano), sc.Warmup)
	}
	stopCountdown := m.startAtCountdown()
	defer stopCountdown()
	tick := e.newProgress(m.config, mode, m.rep).tick
	e.live.Phase(string(mode), "warmup")
	defer e.live.Phase(string(mode), "done")
	out, err := driver.Run(p.attackCtx, driver.Config{
		// a users file's population (nil: the seeded one)
		PlanOptions: driver.PlanOptions{Users: e.Users},
		BaseURLs:    m.bases, ReadyPeriod: readyPeriod(sc), Scenario: sc, Secret: e.Secret, Mode: mode,
		ResultsPath: filepath.Join(m.dir, "results-"+string(mode)+repSuffix(m.rep)+".bin"),
		WarmupPath:  warmupPath(m.dir, mode, m.rep, sc.Warmup),
		Events:      m.events(),
		MaxWorkers:  maxWorkers(sc),
		MaxLag:      e.MaxLag,
		Sink:        p.chk.Add,
		OnEvent: func(ev driver.EventRecord) {
			if ev.Name == driver.EventWarmupEnd {
				p.health.Store(loadhealth.Start(ctx, loadhealth.Options{Rule: e.Saturation}))
			}
			e.live.Phase(string(mode), livePhase(ev.Name))
			p.rec.Event(ev)
			p.wit.Mark(context.WithoutCancel(ctx), ev.Name, ev.Offset, func(context.Context) *metrics.Snapshot {
				pollCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				defer cancel()
				if snap, err := p.poll.Poll(pollCtx); err == nil {
					return &snap
				}
				return nil
			})
			if ev.Err != nil {
				e.Log.Warn("fault failed", "fault", ev.Name, "err", ev.Err)
			}
		},
		OnTick: func(pr driver.Progress) {
			stopCountdown()
			tick(pr)
			if err := e.live.Tick(string(mode), time.Now(), pr); err != nil {
				e.Log.Warn("live view", "err", err)
			}
		},
		Shard:   e.Shard,
		StartAt: e.StartAt,
	})
	p.stopPoll()
	p.chk.Close()
	if h := p.health.Load(); h != nil {
		h.Stop()
	}
	p.abort.close()
	if cause := context.Cause(p.attackCtx); errors.Is(cause, errAborted) && ctx.Err() == nil {
		m.aborted = strings.TrimPrefix(cause.Error(), errAborted.Error()+": ")
		fmt.Fprintf(e.Progress, "%s ABORTED: %s\n", m.label(), m.aborted)
	}
	if ctx.Err() == nil {
		m.pgWait("after the attack")
	}
	p.wit.Finish(afterAttack(ctx))
	if err != nil {
		return nil, fmt.Errorf("runner: %s attack: %w", mode, err)
	}
	if e.TTY {
		fmt.Fprintln(e.Progress)
	}
	if out.Late > LateTolerance {
		late := summary.Notef(summary.NoteLate, mode, "shard %s started its measured window %.2fs after -start-at: its window is offset from the other shards'",
			e.Shard, out.Late.Seconds())
		e.Log.Warn(late.String())
		m.notes = append(m.notes, late)
	}
	if n, perr := p.poll.Errors(); n > 0 {
		m.notes = append(m.notes, summary.Notef(summary.NoteStats, mode, "%d stats polls failed (last: %v)", n, perr))
	}
	for _, n := range p.wit.Notes() {
		m.notes = append(m.notes, summary.Notef(summary.NoteWitness, mode, "%s", n))
	}
	for _, fe := range out.Events {
		if fe.Err != nil {
			m.notes = append(m.notes, summary.Notef(summary.NoteFault, mode, "fault %s at %s failed: %v", fe.Name, fe.At, fe.Err))
		}
	}
	return out, nil
}

// maxWorkers caps vegeta's workers at what the peak rate needs with two seconds of latency
// (at least 100, at most 4096). Uncapped, a stalled server makes vegeta start a goroutine and
// a connection per scheduled request, which grows the harness by gigabytes; capped, the
// pacer waits instead and latency measured from the intended send time still shows the stall.
func maxWorkers(sc *scenarios.Scenario) uint64 {
	sched, peak := sc.Schedule(), 0.0
	if sc.Rate.Searching() {
		peak = sc.Rate.To // the highest rate the search may offer
	}
	for i := range 200 {
		peak = max(peak, sched.RateAt(sc.Total()*time.Duration(i)/200))
	}
	return uint64(min(max(peak*2, 100), 4096))
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
