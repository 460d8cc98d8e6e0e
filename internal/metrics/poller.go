package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// cacheClasses are the server's cache classes, in a fixed order.
var cacheClasses = []string{"tier", "userProfile", "conversations", "apiResponses"}

// CacheClasses lists the cache classes whose hit rates are measured, in a fixed order.
func CacheClasses() []string { return slices.Clone(cacheClasses) }

// Stats are the server's counters since it started (the "stats" of
// /healthz?includeStats=true, see docs/CONTRACTS.md).
type Stats struct {
	Requests uint64                        `json:"requests"`
	Cache    map[string]summary.ClassStats `json:"cache"`
	DB       DBStats                       `json:"db"`
}

// DBStats are the server's DB query counters.
type DBStats struct {
	Total   uint64            `json:"total"`
	ByClass map[string]uint64 `json:"byClass"`
}

// health is the part of the /healthz answer the poller reads.
type health struct {
	Status string `json:"status"`
	Mode   string `json:"mode"`
	Redis  struct {
		Up      bool   `json:"up"`
		Breaker string `json:"breaker"`
		Pending int    `json:"pending"`
	} `json:"redis"`
	Stats *Stats `json:"stats"`
}

// Snapshot is the server's counters at one moment.
type Snapshot struct {
	At      time.Time // midway between sending the poll and receiving the answer
	Mode    string
	RedisUp bool
	Breaker string
	Stats   Stats
}

// PollerOptions configure a Poller. Zero values mean the defaults.
type PollerOptions struct {
	// Client sends the polls. Default: a client with a 2 s timeout.
	Client *http.Client
	// Interval between polls in Run. Default 1 s.
	Interval time.Duration
}

// Poller reads the server's counters from BaseURL/healthz?includeStats=true every second
// (Run) and on demand (Poll) and keeps every snapshot (one a second: small).
type Poller struct {
	url      string
	client   *http.Client
	interval time.Duration

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
	return &Poller{url: strings.TrimRight(baseURL, "/") + "/healthz?includeStats=true", client: o.Client, interval: o.Interval}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
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
	var h health
	if err := json.Unmarshal(data, &h); err != nil {
		return Snapshot{}, fmt.Errorf("metrics: poll: %s: %d: %w", p.url, resp.StatusCode, err)
	}
	if h.Stats == nil {
		return Snapshot{}, fmt.Errorf("metrics: poll: %s: %d: no stats in the answer", p.url, resp.StatusCode)
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
