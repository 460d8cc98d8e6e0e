package runner

import (
	"context"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/witness"
)

// Redis memory sampling: every memEvery while the attack runs; at the end, deadSample
// random keys tell live entries from those left on dead generations.
const (
	memEvery   = 2 * time.Second
	deadSample = 1000
)

// memSampler reads the run's Redis memory (INFO) over time.
type memSampler struct {
	url       string
	w         *witness.Redis
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	first  *witness.RedisCounters
	last   witness.RedisCounters
	points []memPoint
	peak   uint64
}

// memPoint is one sample, at its absolute time: collect makes it relative to the
// measured window's start.
type memPoint struct {
	at            time.Time
	used, evicted int64
}

// startMemSampler starts sampling the Redis at url; nil when it cannot be read.
func startMemSampler(ctx context.Context, url string) *memSampler {
	w, err := witness.NewRedis([]string{url})
	if err != nil {
		return nil
	}
	ctx, stop := context.WithCancel(ctx)
	m := &memSampler{url: url, w: w, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(memEvery)
		defer t.Stop()
		for {
			m.sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memSampler) sample(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := m.w.Read(ctx)
	at := time.Now()
	if err != nil {
		return // Redis down (a fault): a gap in the series
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.first == nil || c.Evicted < m.last.Evicted {
		// First sample, or Redis restarted (counters from zero): evictions count from here.
		base := c
		if m.first != nil {
			base.Evicted = c.Evicted - (m.last.Evicted - m.first.Evicted)
		}
		m.first = &base
	}
	m.last = c
	m.peak = max(m.peak, c.UsedMemory)
	m.points = append(m.points, memPoint{at: at, used: int64(c.UsedMemory), evicted: int64(c.Evicted - m.first.Evicted)})
}

// halt stops the sampling goroutine and waits for it; calling it again does nothing.
func (m *memSampler) halt() {
	m.stop()
	<-m.done
}

// close stops sampling and closes the witness client. It is idempotent: the mode
// registers it with onClose, so it runs whichever way the mode ends.
func (m *memSampler) close() {
	m.closeOnce.Do(func() {
		m.halt()
		m.w.Close()
	})
}

// collect stops sampling, takes a last sample and samples the entries' generations. The
// series' times are seconds from measureStart, the end of warm-up (negative during it).
// It must run before close.
func (m *memSampler) collect(ctx context.Context, measureStart time.Time) *summary.RedisMemory {
	m.halt()
	m.sample(context.WithoutCancel(ctx))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.first == nil {
		return nil
	}
	series := make([]summary.MemoryPoint, len(m.points))
	for i, p := range m.points {
		series[i] = summary.MemoryPoint{T: p.at.Sub(measureStart).Seconds(), UsedBytes: p.used, EvictedKeys: p.evicted}
	}
	out := &summary.RedisMemory{
		MaxMemoryBytes: int64(m.last.MaxMemory), Policy: m.last.Policy,
		UsedBytes: int64(m.last.UsedMemory), PeakBytes: int64(m.peak),
		EvictedKeys: int64(m.last.Evicted - m.first.Evicted), Series: series,
	}
	cfg := cache.DefaultConfig()
	cfg.Redis.ReadTimeout, cfg.Redis.WriteTimeout, cfg.Redis.DialTimeout = 5*time.Second, 5*time.Second, time.Second
	client, err := cache.NewClient(m.url, cfg)
	if err != nil {
		return out
	}
	defer client.Close()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if s, err := cache.SampleGenerations(sctx, client, deadSample); err == nil {
		out.SampledEntries, out.DeadShare = s.Entries, s.DeadShare()
	}
	return out
}
