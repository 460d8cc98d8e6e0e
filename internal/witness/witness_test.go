package witness

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

func TestParseInfo(t *testing.T) {
	text := "# Server\r\nredis_version:7.0.15\r\nrun_id:abc\r\n# Replication\r\nrole:slave\r\n# Stats\r\ntotal_connections_received:7\r\nkeyspace_hits:10\r\nkeyspace_misses:4\r\n" +
		"cmdstat_replconf:calls=7,usec=3,usec_per_call=0.4,rejected_calls=0,failed_calls=0\r\n" +
		"# Commandstats\r\ncmdstat_get:calls=12,usec=30,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_client|setinfo:calls=2,usec=1,usec_per_call=0.5,rejected_calls=2,failed_calls=0\r\n"
	c, err := ParseInfo(text)
	if err != nil {
		t.Fatal(err)
	}
	// The replication link's REPLCONF is not a client's command.
	if c.Hits != 10 || c.Misses != 4 || c.Calls["get"] != 12 || c.Calls["client|setinfo"] != 2 || len(c.RunIDs) != 1 || c.RunIDs[0] != "abc" ||
		!c.Replica || c.Calls["replconf"] != 0 || c.Connections != 7 {
		t.Errorf("ParseInfo = %+v", c)
	}
	// Connections accepted between two reads.
	more := c
	more.Connections = 12
	if d, _ := more.Sub(c); d.Connections != 5 {
		t.Errorf("Sub: %d connections, want 5", d.Connections)
	}
	// Not Redis: no keyspace counters.
	if _, err := ParseInfo("hello\r\n"); err == nil {
		t.Error("ParseInfo of a non-INFO text: no error")
	}
	// A restart (another run_id) makes the difference meaningless.
	later := c
	later.RunIDs = []string{"def"}
	if _, restarted := later.Sub(c); !restarted {
		t.Error("Sub across a run_id change: not reported as a restart")
	}
	if d, restarted := c.Sub(c); restarted || d.Calls["get"] != 0 {
		t.Errorf("Sub of itself = %+v, restarted %v", d, restarted)
	}
}

// TestRedisRead reads a real redis-server: commands it ran show up by name, and the
// reader's own INFO adds no HELLO or CLIENT SETINFO.
func TestRedisRead(t *testing.T) {
	srv := testutil.Redis(t)
	r, err := NewRedis([]string{srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	before, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer c.Close()
	c.Set(ctx, "k", "v", 0)
	c.Get(ctx, "k")
	c.Get(ctx, "absent")
	c.MGet(ctx, "k", "absent")
	after, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, restarted := after.Sub(before)
	if restarted || d.Nodes != 1 {
		t.Fatalf("Sub = %+v, restarted %v", d, restarted)
	}
	if d.Calls["get"] != 2 || d.Calls["mget"] != 1 || d.Calls["set"] != 1 || d.Hits != 2 || d.Misses != 2 {
		t.Errorf("delta = %+v, want get 2, mget 1, set 1, 2 hits, 2 misses", d)
	}
	if d.Calls["client|setinfo"] != 0 || d.Calls["info"] != 1 {
		t.Errorf("the reader's own commands: %v (want only the one INFO)", d.Calls)
	}
}

// TestRedisReadNodeList reads every node of a comma-separated host:port list (how the stack
// names a cluster it started) and sums their counters.
func TestRedisReadNodeList(t *testing.T) {
	a, b := testutil.Redis(t), testutil.Redis(t)
	r, err := NewRedis([]string{a.Addr() + "," + b.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	before, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []*redisproc.Server{a, b} {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
		c.Get(ctx, "absent")
		c.Close()
	}
	after, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := after.Sub(before)
	if d.Nodes != 2 || d.Calls["get"] != 2 || d.Misses != 2 {
		t.Errorf("delta over two nodes = %+v, want 2 nodes, get 2, 2 misses", d)
	}
}

// TestHistogram scrapes a real client_golang registry: native buckets, merged over the
// kept series only, subtracted between scrapes, and quantiles within the bucket factor.
func TestHistogram(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: DurationMetric, Help: "x",
		Buckets: []float64{.001, .01, .1}, NativeHistogramBucketFactor: 1.05}, []string{"route", "code"})
	reg.MustRegister(h)
	web := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer web.Close()
	ctx := context.Background()
	scrape := func() Hist {
		t.Helper()
		got, err := ScrapeHist(ctx, http.DefaultClient, web.URL, DurationMetric, APIRoutes)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	h.WithLabelValues("GET /api/me", "200").Observe(5) // before the window
	first := scrape()
	for i := 1; i <= 100; i++ {
		h.WithLabelValues("GET /api/me", "200").Observe(float64(i) / 1000) // 1..100 ms
	}
	for range 1000 {
		h.WithLabelValues("GET /healthz", "200").Observe(10) // not an API route: left out
	}
	d := scrape().Sub(first)
	if !d.Native || d.Count != 100 {
		t.Fatalf("window: native %v, count %d; want native, 100", d.Native, d.Count)
	}
	for _, q := range []struct{ q, want float64 }{{0.5, 0.050}, {0.99, 0.099}} {
		got := d.Quantile(q.q)
		if math.Abs(got-q.want)/q.want > d.RelError() {
			t.Errorf("quantile %v = %v, want %v within %.1f%%", q.q, got, q.want, 100*d.RelError())
		}
	}
	// Classic buckets alone: the quantile is within its bucket.
	c := d
	c.Native = false
	if got := c.Quantile(0.5); got <= 0.01 || got > 0.1 {
		t.Errorf("classic quantile 0.5 = %v, want within (0.01, 0.1]", got)
	}
	if _, err := ScrapeHist(ctx, http.DefaultClient, web.URL, "no_such_metric", nil); err == nil {
		t.Error("a missing metric: no error")
	}
}

// TestHistogramsOfHits: one scrape, two merges: every API answer, and the answers the
// cache served (cache="hit"), whose median is the cached path's own time.
func TestHistogramsOfHits(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: DurationMetric, Help: "x",
		Buckets: []float64{.001, .01, .1}, NativeHistogramBucketFactor: 1.05}, []string{"route", "code", "cache"})
	reg.MustRegister(h)
	web := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer web.Close()
	for i := 1; i <= 60; i++ {
		h.WithLabelValues("GET /api/me", "200", "hit").Observe(float64(i) / 10000) // 0.1..6 ms
	}
	for range 40 {
		h.WithLabelValues("GET /api/me", "200", "miss").Observe(0.02)
	}
	h.WithLabelValues("GET /healthz", "200", "hit").Observe(1) // not an API route
	h.WithLabelValues("PUT /api/me/tier", "200", "").Observe(0.03)
	hs, err := ScrapeHists(context.Background(), http.DefaultClient, web.URL, DurationMetric, APIRoutes, CacheHits)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 || hs[0].Count != 101 || hs[1].Count != 60 {
		t.Fatalf("counts %d and %d, want 101 API answers and 60 hits", hs[0].Count, hs[1].Count)
	}
	if got, want := hs[1].Quantile(0.5), 0.003; math.Abs(got-want)/want > 2*hs[1].RelError() {
		t.Errorf("median hit = %v, want %v", got, want)
	}
	if got := hs[0].Quantile(0.5); got < 0.004 {
		t.Errorf("median answer = %v: the misses (20 ms) are not in it", got)
	}
}
