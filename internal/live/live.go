// Package live is a run's live view: the harness's own figures while it runs — measured
// requests, errors, latency, cache outcomes, the current phase — as Prometheus metrics in a
// registry of its own (bench run -metrics-addr serves it for a Prometheus to scrape), and a
// JSON line per second (bench run -out jsonl=FILE).
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The metric names of the live view (deploy/grafana reads them).
const (
	MetricRequests = "atlasbench_requests_total"          // measured requests answered, by mode and route
	MetricErrors   = "atlasbench_errors_total"            // measured errors, by mode and kind
	MetricLatency  = "atlasbench_request_latency_seconds" // from the intended send time, by mode
	MetricCache    = "atlasbench_cache_lookups_total"     // X-Cache outcomes of measured cacheable reads, by mode, class and outcome
	MetricPhase    = "atlasbench_phase"                   // 1 for the mode's current phase, by mode and phase
	MetricWarmup   = "atlasbench_warmup_requests_total"   // warm-up requests answered, by mode (not measured)
	MetricChecks   = "atlasbench_check_violations_total"  // isolation and staleness findings, by mode and kind
	MetricSent     = "atlasbench_attack_elapsed_seconds"  // how far the current attack is, by mode
	MetricTarget   = "atlasbench_attack_total_seconds"    // warm-up + measured window of the current attack, by mode
	latencyFactor  = 1.1                                  // native histogram bucket growth
	shutdownWait   = 2 * time.Second                      // Close waits this long for scrapes in flight
	// FinalScrapeWait bounds how long Close waits, once something has scraped the view, for
	// one more scrape: the one that sees the run's final figures.
	FinalScrapeWait = 5 * time.Second
	readHeaderWait  = 5 * time.Second // the server's ReadHeaderTimeout
)

// View holds the live metrics of one run, across its modes.
type View struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	errs     *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	cache    *prometheus.CounterVec
	phase    *prometheus.GaugeVec
	warmup   *prometheus.CounterVec
	checks   *prometheus.CounterVec
	elapsed  *prometheus.GaugeVec
	total    *prometheus.GaugeVec

	mu      sync.Mutex
	current map[string]string // mode → its current phase
	jsonl   io.Writer         // nil: no stream
	srv     *http.Server
	addr    string
	scraped chan struct{} // closed (and replaced) when a scrape has been answered
	scrapes int           // scrapes answered so far
}

// New returns a view with its metrics registered in a registry of its own; jsonl, when not
// nil, receives one JSON line per Tick.
func New(jsonl io.Writer) *View {
	v := &View{reg: prometheus.NewRegistry(), current: map[string]string{}, jsonl: jsonl, scraped: make(chan struct{})}
	v.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRequests,
		Help: "Requests of the measured window answered (or failed), by mode and scenario route."}, []string{"mode", "route"})
	v.errs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricErrors,
		Help: "Measured requests that were errors (transport, 5xx, an unexpected status), by mode and kind."}, []string{"mode", "kind"})
	v.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricLatency,
		Help:    "Latency of measured requests from their intended send time (coordinated omission included), seconds.",
		Buckets: classicBuckets(), NativeHistogramBucketFactor: latencyFactor}, []string{"mode"})
	v.cache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricCache,
		Help: "X-Cache outcomes of measured cacheable reads (HIT, MISS, BYPASS), by mode and cache class."}, []string{"mode", "class", "outcome"})
	v.phase = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricPhase,
		Help: "1 for the mode's current phase (warmup, steady, or the fault that last ran), 0 for the others."}, []string{"mode", "phase"})
	v.warmup = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricWarmup,
		Help: "Requests of the warm-up answered (not measured), by mode."}, []string{"mode"})
	v.checks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricChecks,
		Help: "Isolation and staleness findings of the checkers, by mode and kind."}, []string{"mode", "kind"})
	v.elapsed = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricSent,
		Help: "Seconds since the mode's attack started (warm-up included)."}, []string{"mode"})
	v.total = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricTarget,
		Help: "Warm-up plus measured window of the mode's attack, seconds."}, []string{"mode"})
	v.reg.MustRegister(v.requests, v.errs, v.latency, v.cache, v.phase, v.warmup, v.checks, v.elapsed, v.total)
	return v
}

// classicBuckets are the latency histogram's classic buckets, seconds (beside its native ones).
func classicBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5}
}

// Handler serves the registry in the Prometheus exposition formats.
func (v *View) Handler() http.Handler {
	return promhttp.HandlerFor(v.reg, promhttp.HandlerOpts{Registry: v.reg})
}

// Serve listens on addr (host:port; port 0 picks one) and serves /metrics until Close.
func (v *View) Serve(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("live: -metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	metrics := v.Handler()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		metrics.ServeHTTP(w, r)
		v.mu.Lock()
		v.scrapes++
		close(v.scraped)
		v.scraped = make(chan struct{})
		v.mu.Unlock()
	})
	v.srv = &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderWait}
	v.addr = ln.Addr().String()
	go v.srv.Serve(ln)
	return nil
}

// Addr is the address Serve listens on; "" before Serve.
func (v *View) Addr() string { return v.addr }

// Close stops serving. When something has scraped the view, it first waits (at most
// FinalScrapeWait) for one more scrape, which sees the run's final figures.
func (v *View) Close() error {
	if v == nil || v.srv == nil {
		return nil
	}
	v.mu.Lock()
	scraped, next := v.scrapes > 0, v.scraped
	v.mu.Unlock()
	if scraped {
		select {
		case <-next:
		case <-time.After(FinalScrapeWait):
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if err := v.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("live: %w", err)
	}
	return nil
}

// Observe counts one judged request of mode.
func (v *View) Observe(mode string, r check.Verdict) {
	if v == nil {
		return
	}
	if r.Warmup {
		v.warmup.WithLabelValues(mode).Inc()
		return
	}
	route := ""
	if r.Req != nil {
		route = r.Req.Route
	}
	v.requests.WithLabelValues(mode, route).Inc()
	v.latency.WithLabelValues(mode).Observe(r.Latency.Seconds())
	if r.Error != "" {
		v.errs.WithLabelValues(mode, r.Error).Inc()
	}
	for _, f := range r.Findings {
		v.checks.WithLabelValues(mode, f.Kind).Inc()
	}
	if r.Req != nil && !r.Req.Write && r.Res != nil {
		if outcome := r.Res.Headers.Get("X-Cache"); outcome != "" {
			v.cache.WithLabelValues(mode, r.Req.Class, outcome).Inc()
		}
	}
}

// Phase makes phase the mode's current phase.
func (v *View) Phase(mode, phase string) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.current[mode]; ok {
		v.phase.WithLabelValues(mode, old).Set(0)
	}
	v.current[mode] = phase
	v.phase.WithLabelValues(mode, phase).Set(1)
}

// Line is one JSON line of the stream: the attack's progress at one second.
type Line struct {
	Time     time.Time `json:"time"`
	Mode     string    `json:"mode"`
	Phase    string    `json:"phase"`
	ElapsedS float64   `json:"elapsed_s"` // since the attack started, warm-up included
	TotalS   float64   `json:"total_s"`   // warm-up + measured window
	Sent     int64     `json:"sent"`      // requests sent so far, warm-up included
	Done     int64     `json:"done"`      // answers received so far, warm-up included
	RPS      float64   `json:"rps"`       // answers over the last second
	Errors   int64     `json:"errors"`    // so far
	HitRate  *float64  `json:"hit_rate"`  // X-Cache HIT share of cacheable reads so far; null before the first
	P50MS    float64   `json:"p50_ms"`    // latency over the last second (0: none arrived)
	P99MS    float64   `json:"p99_ms"`
}

// Tick records a second of mode's attack (driver.Config.OnTick): the attack's gauges, and a
// line of the JSON stream.
func (v *View) Tick(mode string, now time.Time, p driver.Progress) error {
	if v == nil {
		return nil
	}
	v.elapsed.WithLabelValues(mode).Set(p.Elapsed.Seconds())
	v.total.WithLabelValues(mode).Set(p.Total.Seconds())
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.jsonl == nil {
		return nil
	}
	l := Line{Time: now.UTC(), Mode: mode, Phase: v.current[mode], ElapsedS: p.Elapsed.Seconds(), TotalS: p.Total.Seconds(),
		Sent: p.Sent, Done: p.Done, RPS: p.RPS, Errors: p.Errors,
		P50MS: float64(p.P50) / float64(time.Millisecond), P99MS: float64(p.P99) / float64(time.Millisecond)}
	if p.HitRate >= 0 {
		h := p.HitRate
		l.HitRate = &h
	}
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("live: %w", err)
	}
	if _, err := v.jsonl.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("live: jsonl: %w", err)
	}
	return nil
}
