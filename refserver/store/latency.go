package store

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// latency is the simulated network round trip paid before every counted query.
type latency struct {
	base, jitter time.Duration
	sleep        func(context.Context, time.Duration) error

	mu  sync.Mutex // guards rng, which need not be safe for concurrent use
	rng *rand.Rand // nil: the global source
}

func newLatency(opts Options) *latency {
	l := &latency{base: max(opts.Latency, 0), jitter: max(opts.Jitter, 0), rng: opts.Rand, sleep: opts.sleep}
	if l.sleep == nil {
		l.sleep = sleepCtx
	}
	return l
}

// delay draws one round trip: base ± uniform jitter, never negative.
func (l *latency) delay() time.Duration {
	if l.jitter == 0 {
		return l.base
	}
	span := int64(2*l.jitter) + 1
	var off int64
	if l.rng == nil {
		off = rand.Int64N(span)
	} else {
		l.mu.Lock()
		off = l.rng.Int64N(span)
		l.mu.Unlock()
	}
	return max(l.base-l.jitter+time.Duration(off), 0)
}

// wait sleeps n round trips, returning early with ctx's error when it is done.
func (l *latency) wait(ctx context.Context, n int) error {
	if l.base == 0 && l.jitter == 0 {
		return ctx.Err()
	}
	var d time.Duration
	for range n {
		d += l.delay()
	}
	if d <= 0 {
		return ctx.Err()
	}
	return l.sleep(ctx, d)
}

// sleepCtx sleeps d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
