package driver

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// progress counts what the live progress shows. add is called from the consumer, the
// ticker reads from its own goroutine.
type progress struct {
	done, errs, hits, lookups atomic.Int64
	mu                        sync.Mutex
	interval, spare           *hdrhistogram.Histogram // latencies (µs) since the last tick
	lag                       atomic.Int64            // ns: how late the latest result was sent (scheduled runs)
	cutOff                    atomic.Bool
}

func (p *progress) init() {
	// 2 significant digits from 1 µs to 60 s: a few KiB, 1% precision.
	p.interval = hdrhistogram.New(1, 60_000_000, 2)
	p.spare = hdrhistogram.New(1, 60_000_000, 2)
}

// add counts one result and its latency.
func (p *progress) add(req *Request, res *vegeta.Result, latency time.Duration) {
	p.done.Add(1)
	if unexpected(req, res) {
		p.errs.Add(1)
	}
	if req != nil && !req.Write && (res.Code >= 200 && res.Code < 300 || res.Code == http.StatusNotModified && req.Kept != nil) {
		switch headerValue(res.Headers, "X-Cache") {
		case "HIT":
			p.hits.Add(1)
			p.lookups.Add(1)
		case "MISS", "BYPASS":
			p.lookups.Add(1)
		}
	}
	us := min(max(latency.Microseconds(), 1), 60_000_000)
	p.mu.Lock()
	_ = p.interval.RecordValue(us)
	p.mu.Unlock()
}

// takeInterval returns the p50 and p99 of the latencies since the last call (0 when none)
// and starts a new interval.
func (p *progress) takeInterval() (p50, p99 time.Duration) {
	p.mu.Lock()
	h := p.interval
	p.interval, p.spare = p.spare, h
	p.mu.Unlock()
	if h.TotalCount() > 0 {
		p50 = time.Duration(h.ValueAtQuantile(50)) * time.Microsecond
		p99 = time.Duration(h.ValueAtQuantile(99)) * time.Microsecond
	}
	h.Reset()
	return p50, p99
}

// tick calls onTick once a second until stop is closed.
func (p *progress) tick(stop <-chan struct{}, start time.Time, warmup, total time.Duration, sent *atomic.Int64, onTick func(Progress)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, lastAt := int64(0), start
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			done := p.done.Load()
			pr := Progress{
				Elapsed: now.Sub(start), Total: total, Sent: sent.Load(), Done: done,
				Errors: p.errs.Load(), HitRate: -1,
			}
			pr.Warmup = pr.Elapsed < warmup
			if dt := now.Sub(lastAt).Seconds(); dt > 0 {
				pr.RPS = float64(done-last) / dt
			}
			if l := p.lookups.Load(); l > 0 {
				pr.HitRate = float64(p.hits.Load()) / float64(l)
			}
			pr.P50, pr.P99 = p.takeInterval()
			pr.Lag, pr.CutOff = time.Duration(p.lag.Load()), p.cutOff.Load()
			last, lastAt = done, now
			onTick(pr)
		}
	}
}

// unexpected reports a transport failure, a 5xx, or a status the plan did not expect; the
// progress count of errors.
func unexpected(req *Request, res *vegeta.Result) bool {
	if res.Code == 0 || res.Code >= 500 || req == nil {
		return true
	}
	if res.Code == http.StatusNotModified && req.Kept != nil {
		return false // the device's copy is current
	}
	return !slices.Contains(req.Expect, int(res.Code))
}

// headerValue is h.Get(key) for a key already in canonical form, without canonicalizing it
// again (the hot path reads a few headers of every response).
func headerValue(h map[string][]string, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}
