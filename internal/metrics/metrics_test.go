package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
)

var origin = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// verdict builds a measured verdict of route at intended offset at (seconds from the end of
// warm-up) with a latency, a service time, a status and headers "Name: value".
func verdict(route, class string, at float64, lat, svc time.Duration, code int, errKind string, headers ...string) check.Verdict {
	h := http.Header{}
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ": ")
		h.Set(k, v)
	}
	intended := time.Duration(at * float64(time.Second))
	return check.Verdict{Record: driver.Record{
		Req:      &driver.Request{Route: route, Class: class},
		Res:      &vegeta.Result{Code: uint16(code), Latency: svc, Headers: h, Timestamp: origin.Add(intended)},
		Intended: intended, Sent: intended, Latency: lat,
	}, Error: errKind}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// snap is a snapshot at offset t seconds with the given cumulative counters.
func snap(t float64, tier, profile, convs, api summary.ClassStats, db map[string]uint64) Snapshot {
	var total uint64
	for _, v := range db {
		total += v
	}
	return Snapshot{At: origin.Add(time.Duration(t * float64(time.Second))), Stats: atlas.Stats{
		Cache: map[atlas.Class]atlas.ClassStats{"tier": tier, "userProfile": profile, "conversations": convs, "apiResponses": api},
		DB:    atlas.QueryStats{Total: total, ByClass: db},
	}}
}

// cs is hits, misses, bypasses, errors at second t of steady rates.
func cs(t, hits, misses, bypasses, errors float64) summary.ClassStats {
	return summary.ClassStats{Hits: uint64(t * hits), Misses: uint64(t * misses), Bypasses: uint64(t * bypasses), Errors: uint64(t * errors)}
}

func TestHitRateAndDBQueriesFromSnapshots(t *testing.T) {
	var snaps []Snapshot
	for i := -1; i <= 4; i++ {
		x := float64(i) + 1 // counters are cumulative since the server started, one second before
		// conversations: no lookups during [2, 3).
		convT := x
		if i >= 3 {
			convT = x - 1
		} else if i == 2 {
			convT = 3
		}
		snaps = append(snaps, snap(float64(i),
			cs(x, 80, 20, 0, 0),     // tier 0.8
			cs(x, 30, 5, 5, 7),      // userProfile 0.75; errors are failed Redis calls, not lookups
			cs(convT, 10, 10, 0, 0), // conversations 0.5
			cs(x, 50, 40, 10, 0),    // apiResponses 0.5
			map[string]uint64{"tier": uint64(20 * x), "apiResponses": uint64(50 * x), "writes": uint64(30 * x)}))
	}
	rec := NewRecorder(Options{Mode: "cache"})
	for i := range 400 {
		// Headers: the tier lookups hit 8 times of 10, like the server says.
		tc := "MISS"
		if i%10 < 8 {
			tc = "HIT"
		}
		rec.Add(verdict("GET /api/me/tier", "tier", float64(i)/100, time.Millisecond, time.Millisecond, 200, "", "X-Atlas-Tier-Cache: "+tc, "X-Cache: "+tc))
	}
	f, notes := rec.Finish(Input{Outcome: &driver.Outcome{MeasureStart: origin, Ran: 4 * time.Second}, Snapshots: snaps})
	if !near(f.HitRate.Tier, 0.8, 1e-9) || !near(f.HitRate.UserProfile, 0.75, 1e-9) || !near(f.HitRate.APIResponses, 0.5, 1e-9) || !near(f.HitRate.Conversations, 0.5, 1e-9) {
		t.Errorf("hit rates %+v", f.HitRate)
	}
	// Overall: (320+120+30+200) / (400+160+60+400).
	if want := 670.0 / 1020; !near(f.HitRate.Overall, want, 1e-9) {
		t.Errorf("overall %v, want %v", f.HitRate.Overall, want)
	}
	if f.DBQueries.Total != 400 || f.DBQueries.ByClass["apiResponses"] != 200 || f.DBQueries.ByClass["writes"] != 120 || !near(f.DBQueries.PerRequest, 1, 1e-9) {
		t.Errorf("DB queries %+v", f.DBQueries)
	}
	if c := f.CacheStats["userProfile"]; c.Hits != 120 || c.Errors != 28 {
		t.Errorf("cache stats %+v", f.CacheStats)
	}
	s := f.Series
	if len(s.DBQPS) != 4 || !near(s.DBQPS[1], 100, 1e-6) {
		t.Errorf("DB qps %v", s.DBQPS)
	}
	if hr := s.HitRate["conversations"]; hr[2] != -1 || !near(hr[1], 0.5, 1e-9) || !near(hr[3], 0.5, 1e-9) {
		t.Errorf("conversations per second %v (want -1 at second 2)", hr)
	}
	if hr := s.HitRate["tier"]; !near(hr[0], 0.8, 1e-9) || !near(hr[3], 0.8, 1e-9) {
		t.Errorf("tier per second %v", hr)
	}
	if f.HitRateHeaders == nil || !near(f.HitRateHeaders.Tier, 0.8, 1e-9) {
		t.Errorf("header hit rates %+v", f.HitRateHeaders)
	}
	if len(notes) != 0 {
		t.Errorf("notes %q", notes)
	}
}

func TestHeaderCrossCheckAndRestart(t *testing.T) {
	snaps := []Snapshot{
		snap(0, cs(10, 80, 20, 0, 0), cs(0, 0, 0, 0, 0), cs(0, 0, 0, 0, 0), cs(0, 0, 0, 0, 0), map[string]uint64{"tier": 200}),
		snap(1, cs(11, 80, 20, 0, 0), cs(0, 0, 0, 0, 0), cs(0, 0, 0, 0, 0), cs(0, 0, 0, 0, 0), map[string]uint64{"tier": 220}),
		// The server restarted: counters from 0 again, one second's worth since.
		snap(2, cs(1, 80, 20, 0, 0), cs(0, 0, 0, 0, 0), cs(0, 0, 0, 0, 0), cs(0, 0, 0, 0, 0), map[string]uint64{"tier": 20}),
	}
	rec := NewRecorder(Options{})
	for i := range 100 {
		tc := "MISS"
		if i%2 == 0 {
			tc = "HIT"
		}
		rec.Add(verdict("GET /api/me/tier", "tier", float64(i)/50, time.Millisecond, time.Millisecond, 200, "", "X-Atlas-Tier-Cache: "+tc))
	}
	f, notes := rec.Finish(Input{Outcome: &driver.Outcome{Mode: "cache", MeasureStart: origin, Ran: 2 * time.Second}, Snapshots: snaps})
	if f.DBQueries.Total != 40 || !near(f.HitRate.Tier, 0.8, 1e-9) {
		t.Errorf("across a restart: DB %d, tier %v", f.DBQueries.Total, f.HitRate.Tier)
	}
	if f.Mode != "cache" {
		t.Errorf("mode %q", f.Mode)
	}
	if len(notes) == 0 || notes[0].Kind != summary.NoteHeaders || !strings.Contains(notes[0].Text, "hit rate tier") {
		t.Errorf("no note for server 0.8 vs headers 0.5: %q", notes)
	}
}

func TestNoSnapshots(t *testing.T) {
	rec := NewRecorder(Options{})
	rec.Add(verdict("GET /api/me", "userProfile", 0.5, time.Millisecond, time.Millisecond, 200, ""))
	f, notes := rec.Finish(Input{Outcome: &driver.Outcome{MeasureStart: origin, Ran: time.Second}})
	if len(notes) == 0 || f.HitRate != (summary.HitRate{}) || f.Series.HitRate["overall"][0] != -1 {
		t.Errorf("without stats: %+v, %q", f.HitRate, notes)
	}
}

func TestLatencyFigures(t *testing.T) {
	rec := NewRecorder(Options{Mode: "nocache"})
	// 1000 requests over 2 s, latency from intended 1…1000 ms, service time a tenth.
	for i := 1; i <= 1000; i++ {
		route, class, code, kind := "GET /api/me", "userProfile", 200, ""
		if i%4 == 0 {
			route, class = "GET /api/conversations", "conversations"
		}
		if i%100 == 0 {
			code, kind = 503, "5xx"
		}
		lat := time.Duration(i) * time.Millisecond
		rec.Add(verdict(route, class, float64(i-1)/500, lat, lat/10, code, kind, "X-Cache: HIT"))
	}
	// Warm-up records are left out.
	w := verdict("GET /api/me", "userProfile", -0.5, time.Hour, time.Hour, 200, "")
	w.Warmup = true
	rec.Add(w)
	f, _ := rec.Finish(Input{Outcome: &driver.Outcome{MeasureStart: origin, Ran: 2 * time.Second,
		Rate: summary.Rate{Target: 500, Achieved: 499, Kept: true}}})
	if f.Requests != 1000 || f.Errors != 10 || f.ErrorsByKind["5xx"] != 10 || !near(f.SuccessRatio, 0.99, 1e-9) || f.Rate.Achieved != 499 {
		t.Errorf("counts: requests %d errors %d %v success %v", f.Requests, f.Errors, f.ErrorsByKind, f.SuccessRatio)
	}
	l := f.Latency
	if !near(l.P50, 500, 1) || !near(l.P99, 990, 1.5) || l.Max != 1000 || !near(l.Mean, 500.5, 1) {
		t.Errorf("latency %+v", l)
	}
	if !near(f.ServiceTime.P99, 99, 0.2) || f.ServiceTime.Max != 100 {
		t.Errorf("service time %+v", f.ServiceTime)
	}
	if e := f.ByEndpoint["GET /api/conversations"]; e.Requests != 250 || e.Errors != 10 || e.HitRate != 1 {
		t.Errorf("by endpoint %+v", f.ByEndpoint)
	}
	if f.Mode != "nocache" || len(f.Phases) != 1 || f.Phases[0].Name != summary.PhaseSteady || f.Phases[0].Requests != 1000 {
		t.Errorf("phases %+v", f.Phases)
	}
	s := f.Series
	if len(s.LatencyP50) != 2 || !near(s.LatencyP50[0], 250, 3) || !near(s.LatencyP50[1], 750, 8) || s.LatencyMax[1] != 1000 || s.RPS[0] != 500 || s.Errors[1] != 5 {
		t.Errorf("series p50 %v max %v rps %v errors %v", s.LatencyP50, s.LatencyMax, s.RPS, s.Errors)
	}
	ps := f.Percentiles
	if len(ps) < 20 || ps[0].Percentile != 0 || ps[len(ps)-1].Percentile != 99.999 {
		t.Fatalf("percentile curve %v", ps)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].Percentile <= ps[i-1].Percentile || ps[i].LatencyMS < ps[i-1].LatencyMS {
			t.Fatalf("percentile curve not increasing at %d: %v", i, ps)
		}
	}
}

// TestSecondReduction: a long run's per-second histograms are reduced as it goes, and the
// series still has every second's p50/p99/max.
func TestSecondReduction(t *testing.T) {
	rec := NewRecorder(Options{})
	for s := range 100 {
		for k := range 10 {
			rec.Add(verdict("GET /api/me", "userProfile", float64(s)+float64(k)/10, time.Duration(s+1)*time.Millisecond, time.Millisecond, 200, ""))
		}
	}
	if rec.compacted < 60 || len(rec.pool) > secondLag+2 {
		t.Errorf("compacted %d seconds, pool %d", rec.compacted, len(rec.pool))
	}
	f, _ := rec.Finish(Input{Outcome: &driver.Outcome{MeasureStart: origin, Ran: 100 * time.Second}})
	for s := range 100 {
		want := float64(s + 1)
		if !near(f.Series.LatencyP50[s], want, want/100+0.01) || f.Series.LatencyMax[s] != want {
			t.Fatalf("second %d: p50 %v max %v, want %v", s, f.Series.LatencyP50[s], f.Series.LatencyMax[s], want)
		}
	}
}

// TestSecondsWithoutResults: a second no result was intended in (the generator lagged, the
// run was cut off before the end of the window) has no latency, -1, never 0 ms; its sends
// still count.
func TestSecondsWithoutResults(t *testing.T) {
	rec := NewRecorder(Options{})
	for _, sec := range []float64{0.2, 0.7, 3.5} { // nothing intended in seconds 1, 2 and 4
		rec.Add(verdict("GET /api/me", "userProfile", sec, 5*time.Millisecond, time.Millisecond, 200, ""))
	}
	f, _ := rec.Finish(Input{Outcome: &driver.Outcome{MeasureStart: origin, Ran: 5 * time.Second}})
	s := f.Series
	for i, want := range []float64{5, -1, -1, 5, -1} {
		if !near(s.LatencyP50[i], want, 0.05) || !near(s.LatencyP99[i], want, 0.05) || !near(s.LatencyMax[i], want, 0.05) {
			t.Errorf("second %d: p50 %v p99 %v max %v, want %v", i, s.LatencyP50[i], s.LatencyP99[i], s.LatencyMax[i], want)
		}
	}
}

func TestPhasesAndRecovery(t *testing.T) {
	type ev struct {
		verb string
		at   float64
	}
	steady := func(n int, v float64) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	cat := func(parts ...[]float64) []float64 {
		var out []float64
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	f := func(x float64) *float64 { return &x }
	for _, tc := range []struct {
		name     string
		events   []ev
		hr       []float64 // per-second overall hit rate
		steady   float64
		phases   []string
		recovery []*float64 // per phase, nil for none
	}{
		// Killed at 5, started at 10, back above 0.72 (90% of 0.8) in second 12.
		{"kill and recover", []ev{{"kill-redis", 5}, {"start-redis", 10}},
			cat(steady(5, 0.8), steady(5, 0), []float64{0.3, 0.6, 0.75, 0.8}), 0.8,
			[]string{"steady", "redis-down", "recovery"}, []*float64{nil, f(2), nil}},
		// Never back within 10%.
		{"never recovers", []ev{{"kill-redis", 5}, {"start-redis", 10}},
			cat(steady(5, 0.8), steady(5, 0), steady(5, 0.5)), 0.8,
			[]string{"steady", "redis-down", "recovery"}, []*float64{nil, nil, nil}},
		// Data kept (refuse): the first whole second after healing is already fine.
		{"immediate", []ev{{"refuse-redis", 2}, {"heal-redis", 4}},
			cat(steady(2, 0.9), steady(2, 0.1), steady(3, 0.9)), 0.9,
			[]string{"steady", "redis-refused", "recovery"}, []*float64{nil, f(0), nil}},
		// Healed at 4.4 s: the first whole second after it starts at 5.
		{"fractional end", []ev{{"partition-redis", 2}, {"heal-redis", 4.4}},
			cat(steady(2, 0.9), steady(3, 0.1), steady(3, 0.9)), 0.9,
			[]string{"steady", "redis-partition", "recovery"}, []*float64{nil, f(0.6), nil}},
		// A flush is over at once: recovery counts from it; its phase lasts to the next event.
		{"flush", []ev{{"flush-redis", 3}},
			cat(steady(3, 0.8), []float64{0.1, 0.4, 0.7, 0.78, 0.8}), 0.8,
			[]string{"steady", "redis-flushed"}, []*float64{nil, f(3)}},
		// Slow until the end: never over, no recovery.
		{"no closer", []ev{{"slow-redis", 3}},
			cat(steady(3, 0.8), steady(3, 0.8)), 0.8,
			[]string{"steady", "redis-slow"}, []*float64{nil, nil}},
		// Killed again before recovering: the first outage has no recovery time.
		{"next fault first", []ev{{"kill-redis", 2}, {"start-redis", 4}, {"kill-redis", 6}, {"start-redis", 8}},
			cat(steady(2, 0.8), steady(2, 0), steady(2, 0.5), steady(2, 0), steady(3, 0.8)), 0.8,
			[]string{"steady", "redis-down", "recovery", "redis-down", "recovery"}, []*float64{nil, nil, nil, f(0), nil}},
		// Seconds without lookups (-1) do not count as recovered.
		{"no lookups", []ev{{"kill-redis", 2}, {"start-redis", 4}},
			cat(steady(2, 0.8), steady(2, 0), []float64{-1, -1, 0.8}), 0.8,
			[]string{"steady", "redis-down", "recovery"}, []*float64{nil, f(2), nil}},
		// Faulted from the start: no steady level to recover to.
		{"no steady phase", []ev{{"kill-redis", 0}, {"start-redis", 2}},
			cat(steady(2, 0), steady(3, 0.8)), math.NaN(),
			[]string{"steady", "redis-down", "recovery"}, []*float64{nil, nil, nil}},
		// Flapping until healed.
		{"flap", []ev{{"flap-redis", 1}, {"heal-redis", 3}},
			cat(steady(1, 0.6), []float64{0.3, 0.5}, steady(2, 0.6)), 0.6,
			[]string{"steady", "redis-flap", "recovery"}, []*float64{nil, f(0), nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bs []boundary
			for _, e := range tc.events {
				b, ok := boundaryOf(driver.EventRecord{Name: e.verb, Offset: time.Duration(e.at * float64(time.Second))})
				if !ok {
					t.Fatalf("%s is not a phase boundary", e.verb)
				}
				bs = append(bs, b)
			}
			ws := phaseWindows(bs, float64(len(tc.hr)))
			var names []string
			for _, w := range ws {
				names = append(names, w.name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.phases) {
				t.Fatalf("phases %v, want %v", names, tc.phases)
			}
			for i, w := range ws {
				var got *float64
				if w.isFault {
					got = recoverySeconds(tc.hr, tc.steady, w.faultEnd, w.until)
				}
				want := tc.recovery[i]
				if (got == nil) != (want == nil) || got != nil && !near(*got, *want, 1e-9) {
					t.Errorf("phase %d (%s): recovery %v, want %v", i, w.name, deref(got), deref(want))
				}
			}
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestRecorderPhases: events streamed while verdicts arrive split the figures by phase.
func TestRecorderPhases(t *testing.T) {
	rec := NewRecorder(Options{})
	add := func(at float64, n int, kind string) {
		for i := range n {
			rec.Add(verdict("GET /api/me", "userProfile", at+float64(i)/1000, 5*time.Millisecond, time.Millisecond, 200, kind))
		}
	}
	rec.Event(driver.EventRecord{Name: driver.EventWarmupEnd})
	add(0.5, 10, "")
	add(1.5, 10, "")
	rec.Event(driver.EventRecord{Name: "kill-redis", Offset: 2 * time.Second})
	add(2.5, 10, "5xx")
	rec.Event(driver.EventRecord{Name: "start-redis", Offset: 4 * time.Second})
	add(4.5, 10, "")
	add(5.5, 10, "")
	// Overall hit rate per second: 0.9, 0.9, 0, 0, 0.2, 0.9; DB load peaks while Redis is down.
	hits := []uint64{0, 90, 180, 180, 180, 200, 290}
	lookups := []uint64{0, 100, 200, 300, 400, 500, 600}
	db := []uint64{0, 10, 20, 120, 220, 300, 310}
	var snaps []Snapshot
	for i := range hits {
		snaps = append(snaps, snap(float64(i),
			summary.ClassStats{Hits: hits[i], Bypasses: lookups[i] - hits[i]}, summary.ClassStats{}, summary.ClassStats{}, summary.ClassStats{},
			map[string]uint64{"tier": db[i]}))
	}
	f, notes := rec.Finish(Input{Outcome: &driver.Outcome{MeasureStart: origin, Ran: 6 * time.Second}, Snapshots: snaps})
	if len(notes) != 0 {
		t.Errorf("notes %q", notes)
	}
	if len(f.Phases) != 3 {
		t.Fatalf("phases %+v", f.Phases)
	}
	st, down, rc := f.Phases[0], f.Phases[1], f.Phases[2]
	if st.Name != "steady" || st.Requests != 20 || st.Errors != 0 || st.EndS != 2 || !near(st.HitRate.Overall, 0.9, 1e-9) {
		t.Errorf("steady %+v", st)
	}
	if down.Name != "redis-down" || down.Fault != "kill-redis" || down.Requests != 10 || down.Errors != 10 || down.StartS != 2 || down.EndS != 4 ||
		down.HitRate.Overall != 0 || down.DBQPSPeak != 100 || down.RecoveryS == nil || *down.RecoveryS != 1 {
		t.Errorf("redis-down %+v (recovery %v)", down, deref(down.RecoveryS))
	}
	if rc.Name != "recovery" || rc.Requests != 20 || rc.EndS != 6 || rc.RecoveryS != nil {
		t.Errorf("recovery %+v", rc)
	}
	if len(f.Series.Faults) != 1 || f.Series.Faults[0] != (summary.FaultMark{Name: "redis-down", StartS: 2, EndS: 4}) {
		t.Errorf("fault marks %+v", f.Series.Faults)
	}
}

func TestPoller(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || r.URL.Query().Get("includeStats") != "true" {
			http.NotFound(w, r)
			return
		}
		k := uint64(n.Add(1))
		_ = json.NewEncoder(w).Encode(map[string]any{
			"status": "ok", "mode": "cache",
			"redis": map[string]any{"up": true, "breaker": "closed", "pending": 0},
			"db":    map[string]any{"up": true, "driver": "sqlite"},
			"stats": map[string]any{"requests": 10 * k,
				"cache": map[string]any{"tier": map[string]uint64{"hits": 8 * k, "misses": 2 * k, "errors": 0, "bypasses": 0}},
				"db":    map[string]any{"total": 3 * k, "byClass": map[string]uint64{"tier": 2 * k, "writes": k}}},
		})
	}))
	defer srv.Close()
	p := NewPoller(srv.URL+"/", PollerOptions{Interval: 20 * time.Millisecond})
	s, err := p.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.RedisUp || s.Mode != "cache" || s.Stats.Cache["tier"].Hits != 8 || s.Stats.DB.ByClass["writes"] != 1 || s.Stats.Requests != 10 {
		t.Errorf("snapshot %+v", s)
	}
	// Run until it has polled three times more, however long a busy machine takes to tick.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a cap, not a measure
	defer cancel()
	go func() {
		for len(p.Snapshots()) < 4 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	p.Run(ctx)
	snaps := p.Snapshots()
	if len(snaps) < 3 {
		t.Fatalf("%d snapshots", len(snaps))
	}
	for i := 1; i < len(snaps); i++ {
		if snaps[i].At.Before(snaps[i-1].At) || snaps[i].Stats.DB.Total <= snaps[i-1].Stats.DB.Total {
			t.Fatalf("snapshots out of order at %d", i)
		}
	}
	if n, _ := p.Errors(); n != 0 {
		t.Errorf("%d poll errors", n)
	}
	bad := NewPoller(srv.URL+"/nothing", PollerOptions{})
	if _, err := bad.Poll(context.Background()); err == nil {
		t.Error("a 404 page decoded as stats")
	}
	if n, err := bad.Errors(); n != 1 || err == nil {
		t.Errorf("errors %d %v", n, err)
	}
}

// TestPollerInstances checks that a poll of several instances sums their counters, keeps a
// silent (killed) instance's last counters, and never goes backwards when one restarts.
func TestPollerInstances(t *testing.T) {
	var reqs [2]atomic.Int64
	var down atomic.Bool
	newSrv := func(i int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if i == 1 && down.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			k := uint64(reqs[i].Load())
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "mode": "cache",
				"redis": map[string]any{"up": true, "breaker": "closed"},
				"stats": map[string]any{"requests": k,
					"cache": map[string]any{"tier": map[string]uint64{"hits": k, "misses": 0}},
					"db":    map[string]any{"total": k, "byClass": map[string]uint64{"tier": k}}}})
		}))
	}
	a, b := newSrv(0), newSrv(1)
	defer a.Close()
	defer b.Close()
	p := NewPoller(a.URL, PollerOptions{More: []string{b.URL}})
	ctx := context.Background()
	steps := []struct {
		name       string
		a, b       int64
		bDown      bool
		wantTotal  uint64
		wantFailed bool
	}{
		{"both answer: the sum", 10, 5, false, 15, false},
		{"b silent: its last counters stay in", 20, 7, true, 25, false},
		{"b restarted from zero: what it had plus what it has", 30, 2, false, 37, false},
		{"both grow", 31, 4, false, 40, false},
	}
	for _, st := range steps {
		reqs[0].Store(st.a)
		reqs[1].Store(st.b)
		down.Store(st.bDown)
		s, err := p.Poll(ctx)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if s.Stats.Requests != st.wantTotal || s.Stats.DB.Total != st.wantTotal || s.Stats.Cache["tier"].Hits != st.wantTotal {
			t.Errorf("%s: requests %d, db %d, hits %d; want %d", st.name, s.Stats.Requests, s.Stats.DB.Total, s.Stats.Cache["tier"].Hits, st.wantTotal)
		}
	}
}

func TestPeakIn(t *testing.T) {
	qps := []float64{10, 300, 20, 40}
	for _, tc := range []struct {
		name       string
		start, end float64
		want       float64
	}{
		{"whole seconds", 0, 2, 300},                   // seconds 0 and 1
		{"ends just into a busy second", 0, 1.002, 10}, // second 1 is mostly after the phase
		{"starts just before a second", 0.98, 3, 300},  // seconds 1 and 2
		{"shorter than a second", 2.1, 2.4, 20},        // only the second holding its middle
		{"past the series", 4.2, 9, 0},                 // no data in the window
	} {
		if got := peakIn(qps, tc.start, tc.end); got != tc.want {
			t.Errorf("%s: peak %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestLatencyHits: only GETs answered wholly from the cache (tier lookup and the route's own
// lookup both HIT) count in latency_hits_ms; a miss on either, a write or an error does not.
func TestLatencyHits(t *testing.T) {
	rec := NewRecorder(Options{Mode: summary.ModeCache})
	add := func(method, route, class string, lat time.Duration, code int, headers ...string) {
		v := verdict(route, class, 0.5, lat, lat, code, "", headers...)
		v.Req.Method = method
		rec.Add(v)
	}
	add("GET", "GET /api/me", "userProfile", 2*time.Millisecond, 200, "X-Atlas-Tier-Cache: HIT", "X-Cache: HIT")
	add("GET", "GET /api/me/tier", "tier", 4*time.Millisecond, 200, "X-Atlas-Tier-Cache: HIT", "X-Cache: HIT")
	add("GET", "GET /api/me", "userProfile", 300*time.Millisecond, 200, "X-Atlas-Tier-Cache: HIT", "X-Cache: MISS")
	add("GET", "GET /api/me", "userProfile", 200*time.Millisecond, 200, "X-Atlas-Tier-Cache: MISS", "X-Cache: HIT")
	add("GET", "GET /api/me/tier", "tier", 250*time.Millisecond, 200, "X-Atlas-Tier-Cache: BYPASS", "X-Cache: BYPASS")
	add("PUT", "PUT /api/me/tier", "writes", 400*time.Millisecond, 200, "X-Atlas-Tier-Cache: HIT")
	add("GET", "GET /api/me", "userProfile", 500*time.Millisecond, 503, "X-Atlas-Tier-Cache: HIT", "X-Cache: HIT")
	f, _ := rec.Finish(Input{Outcome: &driver.Outcome{MeasureStart: origin, Ran: time.Second}})
	if f.LatencyHits == nil || f.LatencyHits.Max > 4.01 || f.LatencyHits.Mean < 2.9 || f.LatencyHits.Mean > 3.1 {
		t.Fatalf("latency_hits_ms %+v, want the two hits only (2 and 4 ms)", f.LatencyHits)
	}
	if empty, _ := NewRecorder(Options{}).Finish(Input{Outcome: &driver.Outcome{MeasureStart: origin, Ran: time.Second}}); empty.LatencyHits != nil {
		t.Errorf("no hits: %+v, want absent", empty.LatencyHits)
	}
}
