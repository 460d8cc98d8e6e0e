package refserver

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
)

// DurationMetric is the name of the request-duration histogram on /metrics: time from the
// request reaching the handler to the answer written, by route and status code, as classic
// buckets and as a native histogram (buckets 1.05 apart; scrape with the protobuf format).
const DurationMetric = "atlas_http_request_duration_seconds"

// DurationBucketFactor is the growth factor between the native histogram's buckets: a
// quantile read from it is within about 2.5% of the true value.
const DurationBucketFactor = 1.05

// initMetrics builds the server's own registry (no globals): the same counters /healthz
// shows, read at scrape time, plus request durations per route and the Go runtime.
func (s *Server) initMetrics() {
	s.registry = prometheus.NewRegistry()
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:                           DurationMetric,
		Help:                           "Time to answer a request, by route and status code.",
		Buckets:                        []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		NativeHistogramBucketFactor:    DurationBucketFactor,
		NativeHistogramZeroThreshold:   1e-6,
		NativeHistogramMaxBucketNumber: 400,
	}, []string{"route", "code", "cache"})
	s.registry.MustRegister(
		s.duration,
		statsCollector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
}

// instrument records the duration of every request to route, labelled with its status code
// and with how the cache answered it (X-Cache: "hit", "miss", "bypass"; "" for a route that
// does not cache), so that the cached path's own time can be read apart. Only a route that
// caches has the cache-labelled series: no empty hit histogram for /healthz or a write.
func (s *Server) instrument(route string, caches bool, h http.Handler) http.Handler {
	byCache := map[string]prometheus.Observer{}
	var ok prometheus.Observer // resolved once: most answers are 200
	if caches {
		for _, o := range []cache.Outcome{cache.Hit, cache.Miss, cache.Bypass} {
			byCache[o.String()] = s.duration.WithLabelValues(route, "200", strings.ToLower(o.String()))
		}
	} else {
		ok = s.duration.WithLabelValues(route, "200", "")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(&rec, r)
		xc := rec.Header().Get("X-Cache")
		o, known := byCache[xc]
		switch {
		case rec.status == http.StatusOK && known: // the series resolved for that X-Cache
		case rec.status == http.StatusOK && !caches:
			o = ok
		default: // another status, or a caching route that did not say how it answered
			label := ""
			if known {
				label = strings.ToLower(xc)
			}
			o = s.duration.WithLabelValues(route, strconv.Itoa(rec.status), label)
		}
		o.Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

var (
	descCache = prometheus.NewDesc("atlas_cache_lookups_total",
		"Cache lookups by class and outcome (hit, miss, error, bypass).", []string{"class", "outcome"}, nil)
	descDB = prometheus.NewDesc("atlas_db_queries_total",
		"Database queries by class.", []string{"class"}, nil)
	descRequests = prometheus.NewDesc("atlas_http_requests_total",
		"Requests under /api/.", nil, nil)
	descRedisUp = prometheus.NewDesc("atlas_redis_up",
		"1 when Redis answers PING.", nil, nil)
	descRedisCommands = prometheus.NewDesc("atlas_redis_commands_total",
		"Redis commands the cache sent that Redis answered, by command name.", []string{"command"}, nil)
	descRedisPoolWaits = prometheus.NewDesc(atlas.MetricRedisPoolWaits,
		"Times a Redis command waited for a free connection of the cache's pool.", nil, nil)
	descRedisPoolWaitSeconds = prometheus.NewDesc(atlas.MetricRedisPoolWaitSeconds,
		"Time Redis commands spent waiting for a free connection of the cache's pool.", nil, nil)
	descRedisPoolTimeouts = prometheus.NewDesc(atlas.MetricRedisPoolTimeouts,
		"Times the cache's Redis pool had no connection free within its PoolTimeout.", nil, nil)
	descDBPoolWaits = prometheus.NewDesc(atlas.MetricDBPoolWaits,
		"Times a query waited for a free connection of the database pools.", nil, nil)
	descDBPoolWaitSeconds = prometheus.NewDesc(atlas.MetricDBPoolWaitSeconds,
		"Time queries spent waiting for a free connection of the database pools.", nil, nil)
)

// poolWaiter is a store that counts its pools' waits (the SQL stores do).
type poolWaiter interface {
	PoolWaits() (int64, time.Duration)
}

// statsCollector exposes the server's counters at scrape time.
type statsCollector struct{ s *Server }

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCache
	ch <- descDB
	ch <- descRequests
	ch <- descRedisUp
	ch <- descRedisCommands
	ch <- descRedisPoolWaits
	ch <- descRedisPoolWaitSeconds
	ch <- descRedisPoolTimeouts
	ch <- descDBPoolWaits
	ch <- descDBPoolWaitSeconds
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	for class, st := range c.s.cache.Stats() {
		for outcome, v := range map[string]uint64{"hit": st.Hits, "miss": st.Misses, "error": st.Errors, "bypass": st.Bypasses} {
			ch <- prometheus.MustNewConstMetric(descCache, prometheus.CounterValue, float64(v), string(class), outcome)
		}
	}
	for class, v := range c.s.store.Stats().ByClass {
		ch <- prometheus.MustNewConstMetric(descDB, prometheus.CounterValue, float64(v), class)
	}
	ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(c.s.requests.Load()))
	up := 0.0
	if c.s.cache.Enabled() {
		for name, v := range c.s.cache.RedisStats().Commands {
			ch <- prometheus.MustNewConstMetric(descRedisCommands, prometheus.CounterValue, float64(v), name)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if c.s.cache.Health(ctx).Up {
			up = 1
		}
	}
	ch <- prometheus.MustNewConstMetric(descRedisUp, prometheus.GaugeValue, up)
	if ps := c.s.cache.PoolStats(); ps != nil && c.s.cache.Enabled() {
		ch <- prometheus.MustNewConstMetric(descRedisPoolWaits, prometheus.CounterValue, float64(ps.WaitCount))
		ch <- prometheus.MustNewConstMetric(descRedisPoolWaitSeconds, prometheus.CounterValue, float64(ps.WaitDurationNs)/1e9)
		ch <- prometheus.MustNewConstMetric(descRedisPoolTimeouts, prometheus.CounterValue, float64(ps.Timeouts))
	}
	if pw, ok := c.s.store.(poolWaiter); ok {
		n, d := pw.PoolWaits()
		ch <- prometheus.MustNewConstMetric(descDBPoolWaits, prometheus.CounterValue, float64(n))
		ch <- prometheus.MustNewConstMetric(descDBPoolWaitSeconds, prometheus.CounterValue, d.Seconds())
	}
}
