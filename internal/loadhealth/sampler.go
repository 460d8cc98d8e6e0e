package loadhealth

import (
	"context"
	"math"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/atlasbench/atlasbench/internal/procstat"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// Options configure a Sampler; the zero value samples /proc every second and judges by
// DefaultRule.
type Options struct {
	// Every is the time between samples. Default 1 s; at least 100 ms.
	Every time.Duration
	// Proc is the root of the proc filesystem the machine's figures are read from
	// (pressure/cpu, stat, loadavg). Default "/proc"; tests give a directory of fixtures.
	Proc string
	// Rule decides saturation; the zero rule means DefaultRule (Off: never saturated).
	Rule summary.SaturationRule
	// CPUs is the machine's CPU count, reported beside the load average. Default
	// runtime.NumCPU().
	CPUs int
}

// The runtime/metrics histograms of the harness: its stop-the-world GC pauses (Go 1.22
// renamed the first to the second) and how long its runnable goroutines waited for a thread.
const (
	metricGCPausesOld = "/gc/pauses:seconds"
	metricGCPauses    = "/sched/pauses/total/gc:seconds"
	metricSchedLat    = "/sched/latencies:seconds"
)

// Sampler samples the generator's health over a window, once per Options.Every, until
// Stop. Lag may be called from any goroutine.
type Sampler struct {
	opts  Options
	start time.Time
	now   func() time.Time // the clock; tests drive it
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	// running is set when a goroutine samples (Start); tests call sample themselves.
	running bool

	mu       sync.Mutex
	lagAll   *hdrhistogram.Histogram // µs, the whole window
	lagTick  *hdrhistogram.Histogram // µs, since the last sample
	prev     reading
	first    reading
	points   []summary.HealthPoint
	psi      bool // every sample read PSI
	steal    bool // every sample read /proc/stat
	gcName   string
	gcMaxMS  float64
	stopped  bool
	finished summary.GeneratorHealth
}

// reading is the cumulative counters at one moment.
type reading struct {
	at       time.Time
	psiUS    int64
	psiOK    bool
	cpu      cpuTimes
	cpuOK    bool
	harness  time.Duration // user + system CPU of this process
	gcPause  time.Duration // procstat.SelfGC's total
	gcHist   []uint64      // counts of the GC pause histogram
	schedHis []uint64      // counts of the scheduler latency histogram
}

// Start starts sampling now (the start of the window: points are timed from it) and keeps
// sampling until Stop or until ctx is done.
func Start(ctx context.Context, o Options) *Sampler {
	s := newSampler(o, time.Now)
	s.running = true
	go s.run(ctx)
	return s
}

// newSampler takes the first reading at now() without starting the ticker.
func newSampler(o Options, now func() time.Time) *Sampler {
	if o.Every <= 0 {
		o.Every = time.Second
	}
	o.Every = max(o.Every, 100*time.Millisecond)
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.Rule == (summary.SaturationRule{}) {
		o.Rule = DefaultRule()
	}
	if o.CPUs <= 0 {
		o.CPUs = runtime.NumCPU()
	}
	s := &Sampler{opts: o, now: now, stop: make(chan struct{}), done: make(chan struct{}),
		lagAll: newLagHistogram(), lagTick: newLagHistogram(), psi: true, steal: true, gcName: metricGCPauses}
	if !knownMetric(metricGCPauses) {
		s.gcName = metricGCPausesOld
	}
	s.first = s.read()
	s.prev, s.start = s.first, s.first.at
	return s
}

// newLagHistogram holds lags from 1 µs to 1 h at 2 significant digits.
func newLagHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, 3_600_000_000, 2) }

func knownMetric(name string) bool {
	for _, d := range metrics.All() {
		if d.Name == name {
			return true
		}
	}
	return false
}

func (s *Sampler) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.opts.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case <-t.C:
			s.sample()
		}
	}
}

// Lag takes how late one request was sent against its intended send time (a negative lag,
// a request sent early, counts as 0).
func (s *Sampler) Lag(d time.Duration) {
	us := min(max(d.Microseconds(), 1), 3_600_000_000)
	s.mu.Lock()
	_ = s.lagAll.RecordValue(us)
	_ = s.lagTick.RecordValue(us)
	s.mu.Unlock()
}

// read takes the cumulative counters now.
func (s *Sampler) read() reading {
	r := reading{at: s.now()}
	r.psiUS, r.psiOK = readPSI(s.opts.Proc)
	r.cpu, r.cpuOK = readStat(s.opts.Proc)
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		r.harness = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	r.gcPause = procstat.SelfGC().Pause
	samples := []metrics.Sample{{Name: s.gcName}, {Name: metricSchedLat}}
	metrics.Read(samples)
	if samples[0].Value.Kind() == metrics.KindFloat64Histogram {
		r.gcHist = slices.Clone(samples[0].Value.Float64Histogram().Counts)
	}
	if samples[1].Value.Kind() == metrics.KindFloat64Histogram {
		r.schedHis = slices.Clone(samples[1].Value.Float64Histogram().Counts)
	}
	return r
}

// buckets returns a runtime/metrics histogram's bucket bounds (fixed for the process).
func buckets(name string) []float64 {
	sm := []metrics.Sample{{Name: name}}
	metrics.Read(sm)
	if sm[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return sm[0].Value.Float64Histogram().Buckets
}

// sample takes one point: the figures between the previous reading and now.
func (s *Sampler) sample() {
	cur := s.read()
	load, _ := readLoad(s.opts.Proc)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	prev := s.prev
	dt := cur.at.Sub(prev.at)
	if dt <= 0 {
		return
	}
	p := summary.HealthPoint{T: round(cur.at.Sub(s.start).Seconds(), 3), PSISome: -1, Steal: -1, Load1: load}
	if s.lagTick.TotalCount() > 0 {
		p.LagP99MS = float64(s.lagTick.ValueAtQuantile(99)) / 1000
		p.LagMaxMS = float64(s.lagTick.Max()) / 1000
	}
	s.lagTick.Reset()
	if cur.psiOK && prev.psiOK {
		p.PSISome = round(share(float64(cur.psiUS-prev.psiUS), float64(dt.Microseconds())), 4)
	} else {
		s.psi = false
	}
	if cur.cpuOK && prev.cpuOK && cur.cpu.total > prev.cpu.total {
		p.Steal = round(share(float64(cur.cpu.steal-prev.cpu.steal), float64(cur.cpu.total-prev.cpu.total)), 4)
	} else if !cur.cpuOK || !prev.cpuOK {
		s.steal = false
	} else {
		p.Steal = 0 // no tick passed
	}
	p.HarnessCPU = round(max(cur.harness-prev.harness, 0).Seconds()/dt.Seconds(), 3)
	p.GCPauseMS = round(max(cur.gcPause-prev.gcPause, 0).Seconds()*1000, 3)
	gcBuckets := buckets(s.gcName)
	if _, mx := quantile(gcBuckets, prev.gcHist, cur.gcHist, 1); mx > 0 {
		s.gcMaxMS = max(s.gcMaxMS, mx*1000)
	}
	p99, _ := quantile(buckets(metricSchedLat), prev.schedHis, cur.schedHis, 0.99)
	p.SchedP99MS = round(p99*1000, 3)
	s.points = append(s.points, p)
	s.prev = cur
}

// quantile is the q-quantile (the upper bound of its bucket) and the largest value's upper
// bound of the histogram counts between two readings; 0 when nothing was counted.
func quantile(bounds []float64, before, after []uint64, q float64) (v, maxV float64) {
	if len(after) == 0 || len(bounds) != len(after)+1 {
		return 0, 0
	}
	delta := make([]uint64, len(after))
	var total uint64
	for i, c := range after {
		if i < len(before) && before[i] <= c {
			c -= before[i]
		}
		delta[i] = c
		total += c
	}
	if total == 0 {
		return 0, 0
	}
	upper := func(i int) float64 {
		if b := bounds[i+1]; !math.IsInf(b, 1) {
			return b
		}
		return bounds[i]
	}
	need := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	v = -1
	for i, c := range delta {
		seen += c
		if v < 0 && c > 0 && seen >= need {
			v = upper(i)
		}
		if c > 0 {
			maxV = upper(i)
		}
	}
	return max(v, 0), maxV
}

// Snapshot is the health so far, judged by the rule; sampling goes on.
func (s *Sampler) Snapshot() summary.GeneratorHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return s.finished
	}
	return s.healthLocked(0, math.Inf(1), true)
}

// Between is the health of the points whose time falls in (from, to] seconds from the
// start (a step of a capacity search, say), judged by the rule. Over a part of the window
// the lag percentiles are the worst sample's.
func (s *Sampler) Between(from, to float64) summary.GeneratorHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.healthLocked(from, to, false)
}

// Stop takes a last sample (when at least a tenth of an interval has passed since the one
// before), stops sampling and returns the window's health, judged by the rule. Later calls
// return the same.
func (s *Sampler) Stop() summary.GeneratorHealth {
	s.once.Do(func() {
		close(s.stop)
		if s.running {
			<-s.done
		}
		s.mu.Lock()
		last := s.prev.at
		s.mu.Unlock()
		if s.now().Sub(last) >= s.opts.Every/10 {
			s.sample()
		}
		s.mu.Lock()
		s.finished = s.healthLocked(0, math.Inf(1), true)
		s.stopped = true
		s.mu.Unlock()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finished
}

// healthLocked builds the health of the points in (from, to]; whole: the whole window so
// far, whose lag percentiles come from every lag taken.
func (s *Sampler) healthLocked(from, to float64, whole bool) summary.GeneratorHealth {
	h := summary.GeneratorHealth{EveryS: s.opts.Every.Seconds(), CPUs: s.opts.CPUs, PSI: s.psi, Steal: s.steal,
		Rule: s.opts.Rule, Timeline: []summary.HealthPoint{}}
	for _, p := range s.points {
		if p.T > from && p.T <= to {
			h.Timeline = append(h.Timeline, p)
		}
	}
	h.Aggregates = Aggregate(h.Timeline)
	if whole {
		if s.lagAll.TotalCount() > 0 {
			h.Aggregates.LagP50MS = float64(s.lagAll.ValueAtQuantile(50)) / 1000
			h.Aggregates.LagP99MS = float64(s.lagAll.ValueAtQuantile(99)) / 1000
			h.Aggregates.LagMaxMS = float64(s.lagAll.Max()) / 1000
		}
		h.Aggregates.GCPauseMaxMS = round(s.gcMaxMS, 3)
		p99, mx := quantile(buckets(metricSchedLat), s.first.schedHis, s.prev.schedHis, 0.99)
		h.Aggregates.SchedP99MS, h.Aggregates.SchedMaxMS = round(p99*1000, 3), round(mx*1000, 3)
	}
	Judge(&h)
	return h
}

// Aggregate computes a timeline's aggregates (the saturated share is Judge's): means and
// worst samples; the lag p50 and p99 are the median and worst of the samples' p99s, the
// scheduler latency p99 the worst sample's; the largest GC pause and scheduler latency
// need the histograms and are left 0 (a Sampler's whole window has them). -1 (unknown)
// PSI or steal stays -1.
func Aggregate(points []summary.HealthPoint) summary.HealthAggregates {
	a := summary.HealthAggregates{PSISomeMean: -1, PSISomeMax: -1, StealMean: -1, StealMax: -1}
	if len(points) == 0 {
		return a
	}
	var psiSum, stealSum, loadSum, cpuSum float64
	var psiN, stealN int
	lags := make([]float64, 0, len(points))
	for _, p := range points {
		lags = append(lags, p.LagP99MS)
		a.LagP99MS, a.LagMaxMS = max(a.LagP99MS, p.LagP99MS), max(a.LagMaxMS, p.LagMaxMS)
		if p.PSISome >= 0 {
			psiSum += p.PSISome
			psiN++
			a.PSISomeMax = max(a.PSISomeMax, p.PSISome)
		}
		if p.Steal >= 0 {
			stealSum += p.Steal
			stealN++
			a.StealMax = max(a.StealMax, p.Steal)
		}
		loadSum += p.Load1
		a.Load1Max = max(a.Load1Max, p.Load1)
		cpuSum += p.HarnessCPU
		a.HarnessCPUMax = max(a.HarnessCPUMax, p.HarnessCPU)
		a.GCPauseTotalMS += p.GCPauseMS
		a.SchedP99MS = max(a.SchedP99MS, p.SchedP99MS)
	}
	slices.Sort(lags)
	a.LagP50MS = lags[(len(lags)-1)/2]
	n := float64(len(points))
	if psiN > 0 {
		a.PSISomeMean = round(psiSum/float64(psiN), 4)
	}
	if stealN > 0 {
		a.StealMean = round(stealSum/float64(stealN), 4)
	}
	a.Load1Mean = round(loadSum/n, 2)
	a.HarnessCPUMean = round(cpuSum/n, 3)
	a.GCPauseTotalMS = round(a.GCPauseTotalMS, 3)
	return a
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
