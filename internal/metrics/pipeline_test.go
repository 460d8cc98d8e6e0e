package metrics

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// cacheFake answers the read routes with a cache that hits 4 lookups of 5 and bypasses
// everything while "Redis" is down, and serves its counters on /healthz like the
// reference server.
type cacheFake struct {
	mu       sync.Mutex
	down     bool
	n        uint64
	cache    map[string]*summary.ClassStats
	db       map[string]uint64
	requests uint64
}

func (f *cacheFake) lookup(class string) string {
	st := f.cache[class]
	if st == nil {
		st = &summary.ClassStats{}
		f.cache[class] = st
	}
	f.n++
	switch {
	case f.down:
		st.Bypasses++
		st.Errors++
		f.db[class]++
		return "BYPASS"
	case f.n%5 == 0:
		st.Misses++
		f.db[class]++
		return "MISS"
	}
	st.Hits++
	return "HIT"
}

func (f *cacheFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/healthz" {
		stats := atlas.Stats{Requests: f.requests, Cache: map[atlas.Class]atlas.ClassStats{}, DB: atlas.QueryStats{ByClass: map[string]uint64{}}}
		for k, v := range f.cache {
			stats.Cache[atlas.Class(k)] = *v
		}
		for k, v := range f.db {
			stats.DB.ByClass[k] = v
			stats.DB.Total += v
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "mode": "cache", "redis": map[string]any{"up": !f.down}, "stats": stats})
		return
	}
	f.requests++
	parts := strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), ".")
	var claims struct{ Sub string }
	if len(parts) == 3 {
		data, _ := base64.RawURLEncoding.DecodeString(parts[1])
		_ = json.Unmarshal(data, &claims)
	}
	tc := f.lookup("tier")
	w.Header().Set("X-Atlas-Tier-Cache", tc)
	w.Header().Set("X-Atlas-Tier", "core")
	body := map[string]any{"userId": claims.Sub, "tier": "core"}
	switch {
	case r.URL.Path == "/api/me/tier":
		w.Header().Set("X-Cache", tc)
	case r.URL.Path == "/api/me":
		w.Header().Set("X-Cache", f.lookup("userProfile"))
	case r.URL.Path == "/api/conversations":
		w.Header().Set("X-Cache", f.lookup("conversations"))
		body["conversations"] = []any{}
	default:
		w.Header().Set("X-Cache", f.lookup("apiResponses"))
		body["messages"] = []any{}
	}
	_ = json.NewEncoder(w).Encode(body)
}

// TestPipeline wires driver, checker, recorder and poller the way `bench run` does, with a
// "Redis" outage as events, and checks that the figures agree with each other.
func TestPipeline(t *testing.T) {
	fake := &cacheFake{cache: map[string]*summary.ClassStats{}, db: map[string]uint64{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	sc, err := scenarios.Parse("pipeline.yaml", []byte(`
name: pipeline
seed: 2
warmup: 500ms
duration: 2s
rate: 200
population: {users: 50, conversations: 2, messages: 5}
mix:
  - {req: "GET /api/me/tier", weight: 1}
  - {req: "GET /api/me", weight: 1}
  - {req: "GET /api/conversations", weight: 1}
  - {req: "GET /api/conversations/{id}/messages", weight: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	setDown := func(down bool) func(context.Context) error {
		return func(context.Context) error { fake.mu.Lock(); fake.down = down; fake.mu.Unlock(); return nil }
	}

	ctx := context.Background()
	rec := NewRecorder(Options{Mode: "cache"})
	chk := check.New(check.Options{Next: rec.Add})
	poll := NewPoller(srv.URL, PollerOptions{})
	pctx, stopPoll := context.WithCancel(ctx)
	go poll.Run(pctx)
	out, err := driver.Run(ctx, driver.Config{
		BaseURL: srv.URL, Scenario: sc, Secret: []byte("pipeline"), Mode: "cache",
		Events: []driver.Event{
			{At: 300 * time.Millisecond, Name: "kill-redis", Fn: setDown(true)},
			{At: 800 * time.Millisecond, Name: "start-redis", Fn: setDown(false)},
		},
		OnEvent: func(e driver.EventRecord) {
			rec.Event(e)
			_, _ = poll.Poll(ctx) // window boundaries: warm-up end, each fault, the end
		},
		Sink: chk.Add,
	})
	stopPoll()
	if err != nil {
		t.Fatal(err)
	}
	chk.Close()
	f, notes := rec.Finish(Input{Outcome: out, Checks: chk.Report(), Snapshots: poll.Snapshots()})
	t.Logf("notes: %q", notes)
	t.Logf("hit rate %+v, headers %+v, db %+v", f.HitRate, *f.HitRateHeaders, f.DBQueries)

	if f.Requests != out.Measured || f.Errors != 0 || f.IsolationViolations != 0 || f.StaleReads != 0 {
		t.Errorf("requests %d of %d measured, errors %d %v, isolation %d", f.Requests, out.Measured, f.Errors, f.ErrorsByKind, f.IsolationViolations)
	}
	// The server's counters and the headers saw the same lookups.
	h := *f.HitRateHeaders
	for _, p := range [][2]float64{{f.HitRate.Tier, h.Tier}, {f.HitRate.UserProfile, h.UserProfile}, {f.HitRate.APIResponses, h.APIResponses}, {f.HitRate.Overall, h.Overall}} {
		if math.Abs(p[0]-p[1]) > 0.03 || p[0] < 0.4 || p[0] > 0.8 {
			t.Errorf("server hit rate %v vs headers %v", p[0], p[1])
		}
	}
	if f.DBQueries.Total == 0 || math.Abs(f.DBQueries.PerRequest-float64(f.DBQueries.Total)/float64(f.Requests)) > 1e-9 {
		t.Errorf("DB queries %+v", f.DBQueries)
	}
	var names []string
	for _, p := range f.Phases {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "steady,redis-down,recovery" {
		t.Fatalf("phases %v", names)
	}
	steady, down, rc := f.Phases[0], f.Phases[1], f.Phases[2]
	if steady.HitRate.Overall < 0.7 || down.HitRate.Overall > 0.2 || rc.HitRate.Overall < 0.7 {
		t.Errorf("hit rate by phase: %v %v %v", steady.HitRate.Overall, down.HitRate.Overall, rc.HitRate.Overall)
	}
	if down.RecoveryS == nil || *down.RecoveryS > 1.5 {
		t.Errorf("recovery %v", deref(down.RecoveryS))
	}
	if steady.Requests+down.Requests+rc.Requests != f.Requests || down.Requests < 50 {
		t.Errorf("requests by phase %d+%d+%d of %d", steady.Requests, down.Requests, rc.Requests, f.Requests)
	}
	if len(f.Series.RPS) != 2 || len(f.Series.Faults) != 1 {
		t.Errorf("series %+v", f.Series)
	}
}
