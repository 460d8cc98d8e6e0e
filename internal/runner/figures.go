package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"syscall"
	"time"

	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/ideal"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/witness"
)

// How a mode's figures are built. The recorder's figures (Recorder.Finish) come first;
// every other source of figures — the processes, the ideal cache, the second witnesses,
// Redis's memory, its topology and slot ranges, the capacity — is a step that returns its
// part, and Compose puts the parts together, once. Nothing writes Figures after Compose.

// Parts are a mode's figures from the sources other than the recorder, each a step's
// result; a zero field is a source the mode did not have.
type Parts struct {
	// Processes and GC are the processes' resident memory and GC pauses (watchProcesses).
	Processes []summary.ProcessRSS
	GC        []summary.GCPauses
	// HarnessRSSMiB is the bench process's peak resident memory.
	HarnessRSSMiB float64
	// ServerRSSMiB is each server instance's peak resident memory, in instance order.
	ServerRSSMiB []float64
	// Extra are figures for Figures.Extra; the recorder's own keys win.
	Extra map[string]float64
	// Ideal is the hit rate an ideal cache reaches on the mode's requests; nil without a cache.
	Ideal *summary.HitRate
	// EfficiencySteady is the cache's efficiency over the steady phase alone; nil without
	// a cache or a steady phase.
	EfficiencySteady *summary.HitRate
	// Witnessed is the second witnesses' figures and cross-checks.
	Witnessed witness.Figures
	// RedisMemory is the run's Redis memory over time.
	RedisMemory *summary.RedisMemory
	// Redis is the Redis's topology at the end of the mode; SlotRanges its cluster's slot
	// ranges' figures (both nil without a Redis of the harness's).
	Redis      *summary.Redis
	SlotRanges *metrics.SlotRangeFigures
	// Capacity is what the cache holds in Redis at the end of the window.
	Capacity *summary.Capacity
	// Restarts are the figures of every graceful stop and restart of an instance.
	Restarts []summary.Restart
	// CapacitySearch is what a capacity search found, with its resources per step.
	CapacitySearch *summary.CapacitySearch
	// GeneratorHealth is the load generator's health over the window (loadhealth); nil
	// when it was not sampled.
	GeneratorHealth *summary.GeneratorHealth
	// Warming is what the instances' warming at start did, before and after it ended.
	Warming *summary.Warming
}

// Compose is the one place a mode's Figures are put together: the recorder's figures with
// every other source's part. recorded is not changed.
func Compose(recorded summary.Figures, p Parts) summary.Figures {
	f := recorded
	f.Processes, f.GC, f.HarnessRSSMiB = p.Processes, p.GC, p.HarnessRSSMiB
	if len(p.Extra) > 0 {
		f.Extra = maps.Clone(recorded.Extra)
		if f.Extra == nil {
			f.Extra = map[string]float64{}
		}
		for k, v := range p.Extra {
			if _, ok := f.Extra[k]; !ok {
				f.Extra[k] = v
			}
		}
	}
	if len(p.ServerRSSMiB) > 0 {
		f.Servers = slices.Clone(recorded.Servers)
		for i := range f.Servers {
			if i < len(p.ServerRSSMiB) {
				f.Servers[i].RSSMiB = p.ServerRSSMiB[i]
			}
		}
	}
	if p.Ideal != nil {
		ih := *p.Ideal
		eff := ideal.Efficiency(f.HitRate, ih)
		f.HitRateIdeal, f.CacheEfficiency = &ih, &eff
	}
	f.CacheEfficiencySteady = p.EfficiencySteady
	w := p.Witnessed
	f.RedisStats, f.PGStats, f.ServerLatency = w.RedisStats, w.PGStats, w.ServerLatency
	f.CrossChecks = slices.Concat(recorded.CrossChecks, w.CrossChecks)
	f.RedisMemory = p.RedisMemory
	if p.Redis != nil {
		r := *p.Redis
		f.Redis = &r
		if sr := p.SlotRanges; sr != nil {
			r.SlotRanges = sr.Whole
			if f.Series != nil {
				ser := *f.Series
				ser.HitRateBySlotRange = sr.Series
				f.Series = &ser
			}
			f.Phases = slices.Clone(recorded.Phases)
			for i := range f.Phases {
				if i < len(sr.ByPhase) {
					f.Phases[i].SlotRanges = sr.ByPhase[i]
				}
			}
		}
	}
	f.Restarts = p.Restarts
	f.CapacitySearch = p.CapacitySearch
	f.GeneratorHealth = p.GeneratorHealth
	f.Warming = p.Warming
	f.RestartsTotal = summary.TotalRestarts(p.Restarts)
	if p.Capacity != nil {
		c := *p.Capacity
		c.HitRate = f.HitRate.Overall
		f.Capacity = &c
	}
	return f
}

// figures runs the mode's figure steps and composes them: the recorder's (with the key
// audit), then what only the runner sees. part is the shard's lossless measurements when
// the run is sharded. The notes are the recorder's and the steps' caveats.
func (m *modeRun) figures(ctx context.Context, p *pipeline, out *driver.Outcome) (f summary.Figures, part *metrics.Part, notes []summary.Note, err error) {
	mode, st := m.mode, m.st
	input := metrics.Input{Outcome: out, Checks: p.chk.Report(), Snapshots: p.poll.Snapshots(),
		Servers: len(m.bases), ServerURLs: m.bases}
	var stepNotes []summary.Note
	if st != nil && st.Redis != nil {
		input.KeyAudit = auditKeys(ctx, st, mode, &stepNotes)
	}
	if m.e.Shard.Sharded() {
		if part, err = p.rec.Part(input); err != nil {
			return f, nil, nil, &EnvError{fmt.Errorf("runner: %s: %w", mode, err)}
		}
	}
	recorded, notes := p.rec.Finish(input)
	cuts := p.wit.Cuts()
	cuts.InstanceRestarted = st != nil && restartsInstances(m.sc)
	cuts.WarmupLate = out.WarmupLate
	parts := Parts{
		HarnessRSSMiB: harnessPeakRSSMiB(),
		// The slowest write of the results stream: a disk stall would show here.
		Extra:     map[string]float64{"results_write_max_ms": ms(out.ResultsWriteMax)},
		Witnessed: witness.Judge(cuts, recorded),
	}
	var restartNotes []summary.Note
	parts.Restarts, restartNotes = restartFigures(mode, st, p.restarts, out.MeasureStart, m.sc)
	stepNotes = append(stepNotes, restartNotes...)
	parts.Processes, parts.GC = p.procs()
	if out.Search != nil {
		parts.CapacitySearch = p.search.figures(out.Search)
	}
	if h := p.health.Load(); h != nil {
		gh := h.Stop()
		parts.GeneratorHealth = &gh
	}
	if p.model != nil {
		ih := p.model.HitRate()
		parts.Ideal = &ih
		parts.EfficiencySteady = steadyEfficiency(recorded, p.model)
	}
	if p.mem != nil {
		parts.RedisMemory = p.mem.collect(ctx, out.MeasureStart)
	}
	if st != nil {
		for _, sv := range st.Servers {
			parts.ServerRSSMiB = append(parts.ServerRSSMiB, float64(sv.PeakRSS())/(1<<20))
		}
		parts.Warming = warmingFigures(st, recorded, p.model, input.Snapshots, out.MeasureStart, out.Ran.Seconds())
		if st.Redis != nil {
			parts.Redis = redisFigures(ctx, st.Redis)
			if p.slots != nil && parts.Redis != nil {
				sr := p.slots.Finish(out.Ran.Seconds(), recorded.Phases)
				parts.SlotRanges = &sr
			}
			if ctx.Err() == nil { // an interrupted run does not wait for the key scan
				parts.Capacity = measureCapacity(ctx, st, m.sc.Population.Users, mode, &stepNotes)
			}
		}
	}
	return Compose(recorded, parts), part, append(notes, stepNotes...), nil
}

// auditKeys scans the run's Redis for keys no legitimate request could have produced (a
// hostile input that reached a key of its choosing); nil, with a note, when the scan fails.
func auditKeys(ctx context.Context, st *stack.Stack, mode summary.Mode, notes *[]summary.Note) *metrics.KeyAudit {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	total, bad, err := st.AuditKeys(actx, 10)
	if err != nil {
		*notes = append(*notes, summary.Notef(summary.NoteKeyAudit, mode, "cache-key audit failed: %v", err))
		return nil
	}
	return &metrics.KeyAudit{Audited: total, Foreign: bad}
}

// measureCapacity reads what the cache holds in Redis at the end of the window (memory
// per cached user and per class, keys per user) and extrapolates it to larger populations.
func measureCapacity(ctx context.Context, st *stack.Stack, users int, mode summary.Mode, notes *[]summary.Note) *summary.Capacity {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	c, err := st.Capacity(cctx, users)
	if err != nil {
		*notes = append(*notes, summary.Notef(summary.NoteCapacity, mode, "capacity figures unavailable: %v", err))
		return nil
	}
	return c
}

// harnessPeakRSSMiB is this process's peak resident memory (getrusage maxrss, KiB on Linux).
func harnessPeakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
