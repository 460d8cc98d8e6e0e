package driver

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// balancer is the harness as the load balancer of several server instances: it polls each
// instance's /readyz every period, as a real balancer's health check does, stops sending new
// requests to an instance that is not ready (not 200, or no answer within pollTimeout) and
// sends to it again once it is. Requests already sent are left alone.
type balancer struct {
	urls   []string
	period time.Duration
	ready  []atomic.Bool
	client *http.Client
}

// newBalancer returns a balancer over urls (every instance ready until a poll says not).
func newBalancer(urls []string, period time.Duration) *balancer {
	b := &balancer{urls: urls, period: period, ready: make([]atomic.Bool, len(urls)),
		client: &http.Client{Timeout: pollTimeout(period), Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
	for i := range b.ready {
		b.ready[i].Store(true)
	}
	return b
}

// pollTimeout is how long a readiness poll may take before it counts as not ready: several
// periods and at least a second, so that a loaded machine does not take every instance out
// at once (an instance that is stopping answers 503, or refuses, at once).
func pollTimeout(period time.Duration) time.Duration { return max(4*period, time.Second) }

// start polls every instance on its own, every period, until the returned stop is called
// (or ctx ends); stop waits for the pollers.
func (b *balancer) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	b.pollAll(ctx) // before the first request, as a balancer checks a new backend first
	var wg sync.WaitGroup
	for i := range b.urls {
		wg.Go(func() {
			t := time.NewTicker(b.period)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					b.pollOne(ctx, i)
				}
			}
		})
	}
	return func() {
		cancel()
		wg.Wait()
		b.client.CloseIdleConnections()
	}
}

// pollAll polls every instance once, concurrently.
func (b *balancer) pollAll(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range b.urls {
		wg.Go(func() { b.pollOne(ctx, i) })
	}
	wg.Wait()
}

// pollOne polls instance i once and takes the answer (not when ctx ended meanwhile).
func (b *balancer) pollOne(ctx context.Context, i int) {
	ok := b.poll(ctx, i)
	if ctx.Err() == nil {
		b.ready[i].Store(ok)
	}
}

// poll reports whether instance i answers /readyz with 200.
func (b *balancer) poll(ctx context.Context, i int) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.urls[i]+"/readyz", nil)
	if err != nil {
		return false
	}
	res, err := b.client.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// pick is the instance a request meant for instance i goes to: i when it is ready, else the
// next ready one after it (in order, wrapping), else i all the same (nothing is ready: the
// request fails as it would behind a real balancer with no backend).
func (b *balancer) pick(i int) int {
	if b == nil || b.ready[i].Load() {
		return i
	}
	n := len(b.urls)
	for k := 1; k < n; k++ {
		if j := (i + k) % n; b.ready[j].Load() {
			return j
		}
	}
	return i
}

// serverOf is the instance whose base URL the request URL u starts with; -1 when none.
func (b *balancer) serverOf(u string) int {
	for i, base := range b.urls {
		if strings.HasPrefix(u, base) && (len(u) == len(base) || u[len(base)] == '/') {
			return i
		}
	}
	return -1
}
