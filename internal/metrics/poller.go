package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// Snapshot is the server's counters at one moment.
type Snapshot struct {
	At      time.Time // midway between sending the poll and receiving the answer
	Mode    string
	RedisUp bool
	Breaker string
	Stats   atlas.Stats // the "stats" of /healthz?includeStats=true (docs/CONTRACTS.md)
}

// PollerOptions configure a Poller. Zero values mean the defaults.
type PollerOptions struct {
	// Client sends the polls. Default: a client with a 2 s timeout.
	Client *http.Client
	// Interval between polls in Run. Default 1 s.
	Interval time.Duration
	// More are the base URLs of further instances of the same deployment: each poll reads
	// every instance and sums their counters. An instance that does not answer (killed)
	// counts with its last counters; one whose counters went backwards (restarted) counts
	// what it had before plus what it has now, so the sum never decreases.
	More []string
}

// instance is what the poller remembers of one of several instances.
type instance struct {
	last, base atlas.Stats
	seen       bool
}

// Poller reads the server's counters from BaseURL/healthz?includeStats=true every second
// (Run) and on demand (Poll) and keeps every snapshot (one a second: small). With several
// instances (PollerOptions.More) a snapshot is the sum of their counters.
type Poller struct {
	urls     []string
	client   *http.Client
	interval time.Duration
	inst     []instance // per URL, with several

	mu      sync.Mutex
	snaps   []Snapshot
	errs    int
	lastErr error
}

// NewPoller returns a poller of the server at baseURL.
func NewPoller(baseURL string, o PollerOptions) *Poller {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 2 * time.Second}
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	p := &Poller{client: o.Client, interval: o.Interval}
	for _, u := range append([]string{baseURL}, o.More...) {
		p.urls = append(p.urls, strings.TrimRight(u, "/")+"/healthz?includeStats=true")
	}
	if len(p.urls) > 1 {
		p.inst = make([]instance, len(p.urls))
	}
	return p
}

// Run polls every interval until ctx is done. Failed polls are counted (Errors), not fatal.
func (p *Poller) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = p.Poll(ctx)
		}
	}
}

// Poll reads the counters now and keeps the snapshot. A failure is counted (Errors) unless
// ctx was cancelled.
func (p *Poller) Poll(ctx context.Context) (Snapshot, error) {
	s, err := p.poll(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return s, err
		}
		p.errs++
		p.lastErr = err
		return s, err
	}
	p.snaps = append(p.snaps, s)
	return s, nil
}

func (p *Poller) poll(ctx context.Context) (Snapshot, error) {
	if len(p.urls) == 1 {
		return p.pollOne(ctx, p.urls[0])
	}
	type answer struct {
		s   Snapshot
		err error
	}
	answers := make([]answer, len(p.urls))
	var wg sync.WaitGroup
	for i, u := range p.urls {
		wg.Go(func() {
			s, err := p.pollOne(ctx, u)
			answers[i] = answer{s, err}
		})
	}
	wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	var sum Snapshot
	sum.RedisUp, sum.Breaker = true, "closed"
	var errs []error
	answered := 0
	for i, a := range answers {
		in := &p.inst[i]
		if a.err != nil {
			errs = append(errs, a.err)
		} else {
			answered++
			if in.seen && a.s.Stats.Requests < in.last.Requests {
				in.base = addStats(in.base, in.last) // restarted: its counters began again
			}
			in.last, in.seen = a.s.Stats, true
			sum.At = a.s.At
			sum.Mode = a.s.Mode
			sum.RedisUp = sum.RedisUp && a.s.RedisUp
			if a.s.Breaker != "closed" {
				sum.Breaker = a.s.Breaker
			}
		}
		sum.Stats = addStats(sum.Stats, addStats(in.base, in.last))
	}
	if answered == 0 {
		return Snapshot{}, errors.Join(errs...)
	}
	return sum, nil
}

// addStats is the sum of two instances' counters, every one of them (TestAddStatsSumsEveryCounter).
func addStats(a, b atlas.Stats) atlas.Stats {
	out := atlas.Stats{Requests: a.Requests + b.Requests, Cache: map[atlas.Class]atlas.ClassStats{},
		DB: atlas.QueryStats{Total: a.DB.Total + b.DB.Total, ByClass: map[string]uint64{}}}
	for _, s := range []atlas.Stats{a, b} {
		for k, v := range s.Cache {
			c := out.Cache[k]
			c.Hits, c.Misses, c.Errors, c.Bypasses = c.Hits+v.Hits, c.Misses+v.Misses, c.Errors+v.Errors, c.Bypasses+v.Bypasses
			out.Cache[k] = c
		}
		for k, v := range s.DB.ByClass {
			out.DB.ByClass[k] += v
		}
		out.DB.Transactions += s.DB.Transactions
		out.DB.Pings += s.DB.Pings
		out.DB.Connections += s.DB.Connections
		out.DB.Prepares += s.DB.Prepares
		if r := s.Redis; r != nil {
			if out.Redis == nil {
				out.Redis = &atlas.RedisStats{Commands: map[string]uint64{}}
			}
			for k, v := range r.Commands {
				out.Redis.Commands[k] += v
			}
			out.Redis.Unconfirmed += r.Unconfirmed
			out.Redis.UnconfirmedKeys += r.UnconfirmedKeys
			out.Redis.KeysRead += r.KeysRead
			out.Redis.KeysFound += r.KeysFound
		}
	}
	return out
}

func (p *Poller) pollOne(ctx context.Context, url string) (Snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Snapshot{}, fmt.Errorf("metrics: poll: %w", err)
	}
	sent := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return Snapshot{}, fmt.Errorf("metrics: poll: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	got := time.Now()
	if err != nil {
		return Snapshot{}, fmt.Errorf("metrics: poll: %w", err)
	}
	var h atlas.Health
	if err := json.Unmarshal(data, &h); err != nil {
		return Snapshot{}, fmt.Errorf("metrics: poll: %s: %d: %w", url, resp.StatusCode, err)
	}
	if h.Stats == nil {
		return Snapshot{}, fmt.Errorf("metrics: poll: %s: %d: no stats in the answer", url, resp.StatusCode)
	}
	return Snapshot{
		At:      sent.Add(got.Sub(sent) / 2),
		Mode:    h.Mode,
		RedisUp: h.Redis.Up,
		Breaker: h.Redis.Breaker,
		Stats:   *h.Stats,
	}, nil
}

// Snapshots returns the snapshots so far, in time order.
func (p *Poller) Snapshots() []Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := slices.Clone(p.snaps)
	slices.SortStableFunc(out, func(a, b Snapshot) int { return a.At.Compare(b.At) })
	return out
}

// Errors returns how many polls failed and the last failure.
func (p *Poller) Errors() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errs, p.lastErr
}
