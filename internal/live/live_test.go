package live

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// verdict is a judged answer of route with an X-Cache outcome.
func verdict(route, class, xcache, errKind string, warmup bool, latency time.Duration) check.Verdict {
	h := http.Header{}
	if xcache != "" {
		h.Set("X-Cache", xcache)
	}
	return check.Verdict{Record: driver.Record{Req: &driver.Request{Route: route, Class: class}, Res: &vegeta.Result{Headers: h},
		Latency: latency, Warmup: warmup}, Error: errKind}
}

// TestViewCountsAndStream: measured answers are counted by route, errors by kind, cache
// outcomes by class; warm-up answers apart; the phase gauge follows the events; Tick writes
// one JSON line; the registry is the view's own (two views do not share figures).
func TestViewCountsAndStream(t *testing.T) {
	var stream bytes.Buffer
	v := New(&stream)
	other := New(nil)
	v.Phase("cache", "warmup")
	v.Observe("cache", verdict("GET /api/me", "userProfile", "MISS", "", true, time.Millisecond))
	v.Phase("cache", "steady")
	v.Observe("cache", verdict("GET /api/me", "userProfile", "HIT", "", false, 2*time.Millisecond))
	v.Observe("cache", verdict("GET /api/me", "userProfile", "MISS", "", false, 3*time.Millisecond))
	v.Observe("cache", verdict("GET /api/me/tier", "tier", "", "transport", false, time.Second))
	if err := v.Tick("cache", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), driver.Progress{Elapsed: 2 * time.Second, Total: 9 * time.Second, Done: 4, HitRate: 0.5}); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(v.Handler())
	defer web.Close()
	res, err := http.Get(web.URL)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	page.ReadFrom(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`atlasbench_requests_total{mode="cache",route="GET /api/me"} 2`,
		`atlasbench_requests_total{mode="cache",route="GET /api/me/tier"} 1`,
		`atlasbench_errors_total{kind="transport",mode="cache"} 1`,
		`atlasbench_cache_lookups_total{class="userProfile",mode="cache",outcome="HIT"} 1`,
		`atlasbench_cache_lookups_total{class="userProfile",mode="cache",outcome="MISS"} 1`,
		`atlasbench_warmup_requests_total{mode="cache"} 1`,
		`atlasbench_phase{mode="cache",phase="steady"} 1`,
		`atlasbench_phase{mode="cache",phase="warmup"} 0`,
		`atlasbench_request_latency_seconds_count{mode="cache"} 3`,
		`atlasbench_attack_elapsed_seconds{mode="cache"} 2`,
	} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var l Line
	if err := json.Unmarshal(stream.Bytes(), &l); err != nil || strings.Count(stream.String(), "\n") != 1 {
		t.Fatalf("stream %q: %v", stream.String(), err)
	}
	if l.Phase != "steady" || l.Done != 4 || l.HitRate == nil || *l.HitRate != 0.5 || l.ElapsedS != 2 {
		t.Errorf("line %+v", l)
	}
	mf, err := other.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range mf {
		if len(f.GetMetric()) > 0 {
			t.Errorf("another view's registry holds %s: the views share state", f.GetName())
		}
	}
}

// TestDashboardReadsTheView: every query of the Grafana dashboard under deploy/ names only
// metrics the view exports (a renamed metric would leave a panel empty).
func TestDashboardReadsTheView(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/atlasbench-live.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	known := []string{MetricRequests, MetricErrors, MetricCache, MetricPhase, MetricWarmup, MetricChecks, MetricSent, MetricTarget,
		MetricLatency + "_bucket", MetricLatency + "_count", MetricLatency + "_sum"}
	names := regexp.MustCompile(`atlasbench_[a-z_]+`)
	queries := 0
	for _, p := range dash.Panels {
		for _, q := range p.Targets {
			queries++
			for _, name := range names.FindAllString(q.Expr, -1) {
				if !slices.Contains(known, name) {
					t.Errorf("panel %q reads %s, which the live view does not export", p.Title, name)
				}
			}
		}
	}
	if queries < 8 {
		t.Errorf("the dashboard has %d queries; want the requests, errors, latency, hit rates, phase and progress panels", queries)
	}
}
