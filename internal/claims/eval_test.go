package claims

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// sum is a hand-made summary of one mode with the fields the claims read.
func sum(mode summary.Mode, edit func(s *summary.Summary)) *summary.Summary {
	s := &summary.Summary{Schema: summary.Schema, Scenario: "x", Mode: mode,
		Figures:    summary.Figures{Mode: summary.ModeCache, Requests: 1000, Rate: summary.Rate{Target: 100, Achieved: 100}},
		Population: &summary.Population{Users: 100}}
	if mode == summary.ModeBoth {
		red := 0.5
		s.DBQueryReduction = &red
		s.Speedup = &summary.Speedup{P50: 5, Mean: 5, P99: 2}
		s.NoCache = &summary.Figures{Mode: summary.ModeNoCache, Requests: 1000, Latency: summary.Latency{P50: 300, Mean: 320}}
	}
	if edit != nil {
		edit(s)
	}
	return s
}

func result(name string, s *summary.Summary) Result {
	return Result{Run: Run{Name: name, Describe: name + " run"}, Dir: "/r/" + name, Summary: s}
}

func row(t *testing.T, sc *Scorecard, id string) Row {
	t.Helper()
	for _, r := range sc.Rows {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no row %s", id)
	return Row{}
}

// TestVerdicts: verdicts come from the summaries through the checks, never from anywhere else.
func TestVerdicts(t *testing.T) {
	phase := func(name string, tier float64) summary.Phase {
		return summary.Phase{Name: name, HitRate: summary.HitRate{Tier: tier}}
	}
	for _, tc := range []struct {
		name    string
		id      string
		results []Result
		want    Verdict
		reason  string // a word the reason must contain
	}{
		// The reduction measured above the claim holds …
		{"reduction holds", "db-reduction", []Result{result(RunWorld, sum(summary.ModeBoth, nil))}, Holds, ""},
		// … below it fails, naming what was measured.
		{"reduction fails", "db-reduction", []Result{result(RunWorld, sum(summary.ModeBoth, func(s *summary.Summary) {
			r := 0.31
			s.DBQueryReduction = &r
		}))}, Fails, "31.0%"},
		// A cache-only world cannot produce the reduction: not measured, with the threshold's reason.
		{"reduction without both modes", "db-reduction", []Result{result(RunWorld, sum(summary.ModeCache, nil))}, NotMeasured, "both modes"},
		// A run that failed leaves the claim not measured, with the run's error.
		{"run failed", "db-reduction", []Result{{Run: Run{Name: RunWorld}, Err: errors.New("redis-server would not start")}}, NotMeasured, "redis-server"},
		// A run that did not happen at all.
		{"run missing", "tier-isolation", nil, NotMeasured, "did not run"},
		// An interrupted run is not evidence.
		{"interrupted", "tier-isolation", []Result{result(RunTierChange, sum(summary.ModeCache, func(s *summary.Summary) { s.Interrupted = true }))}, NotMeasured, "interrupted"},
		// Every check must pass: one stale read fails tier invalidation.
		{"one check fails", "tier-invalidation", []Result{result(RunTierChange, sum(summary.ModeCache, nil)),
			result(RunFaults, sum(summary.ModeCache, func(s *summary.Summary) { s.StaleReads = 1 }))}, Fails, "stale_reads"},
		{"all checks pass", "tier-invalidation", []Result{result(RunTierChange, sum(summary.ModeCache, nil)), result(RunFaults, sum(summary.ModeCache, nil))}, Holds, ""},
		// Versus: warming on must beat warming off on both phases.
		{"warming beats off", "warming", []Result{
			result(RunWarmOn, sum(summary.ModeCache, func(s *summary.Summary) { s.Phases = []summary.Phase{phase("steady", 0.9), phase("recovery", 0.8)} })),
			result(RunWarmOff, sum(summary.ModeCache, func(s *summary.Summary) { s.Phases = []summary.Phase{phase("steady", 0.5), phase("recovery", 0.4)} }))}, Holds, ""},
		{"warming no better", "warming", []Result{
			result(RunWarmOn, sum(summary.ModeCache, func(s *summary.Summary) { s.Phases = []summary.Phase{phase("steady", 0.9), phase("recovery", 0.4)} })),
			result(RunWarmOff, sum(summary.ModeCache, func(s *summary.Summary) { s.Phases = []summary.Phase{phase("steady", 0.5), phase("recovery", 0.4)} }))}, Fails, "recovery"},
		// A phase that never happened: not measured, naming it.
		{"warming phase missing", "warming", []Result{
			result(RunWarmOn, sum(summary.ModeCache, func(s *summary.Summary) { s.Phases = []summary.Phase{phase("steady", 0.9)} })),
			result(RunWarmOff, sum(summary.ModeCache, func(s *summary.Summary) { s.Phases = []summary.Phase{phase("steady", 0.5), phase("recovery", 0.4)} }))}, NotMeasured, "recovery"},
		// Fallback: a fault phase slower than the budget fails.
		{"fallback stalls", "fallback", []Result{result(RunFaults, sum(summary.ModeCache, func(s *summary.Summary) {
			s.Phases = []summary.Phase{{Name: "redis-down"}, {Name: "redis-slow"}, {Name: "redis-partition", Latency: summary.Latency{P99: 80, Max: 3100}}}
		}))}, Fails, "redis-partition"},
		// One failing check refutes the claim even when another phase never opened.
		{"fallback stalls, a phase missing", "fallback", []Result{result(RunFaults, sum(summary.ModeCache, func(s *summary.Summary) {
			s.Phases = []summary.Phase{{Name: "redis-down"}, {Name: "redis-partition", Latency: summary.Latency{P99: 80, Max: 5000}}}
		}))}, Fails, "redis-slow"},
		{"fallback holds", "fallback", []Result{result(RunFaults, sum(summary.ModeCache, func(s *summary.Summary) {
			s.Phases = []summary.Phase{{Name: "redis-down"}, {Name: "redis-slow", Latency: summary.Latency{P99: 120, Max: 180}}, {Name: "redis-partition", Latency: summary.Latency{P99: 80, Max: 1900}}}
		}))}, Holds, ""},
		// On a saturated load generator a latency check is INCONCLUSIVE, not FAILS …
		{"fallback stalls on a saturated generator", "fallback", []Result{result(RunFaults, sum(summary.ModeCache, func(s *summary.Summary) {
			s.Inconclusive = "generator health: the machine was saturated (PSI cpu some avg 62%): latency verdicts are INCONCLUSIVE"
			s.Phases = []summary.Phase{{Name: "redis-down"}, {Name: "redis-slow", Latency: summary.Latency{Max: 180}}, {Name: "redis-partition", Latency: summary.Latency{P99: 80, Max: 3100}}}
		}))}, Inconclusive, "saturated"},
		// … while its counts are judged as always.
		{"fallback errors on a saturated generator", "fallback", []Result{result(RunFaults, sum(summary.ModeCache, func(s *summary.Summary) {
			s.Inconclusive = "generator health: the machine was saturated (PSI cpu some avg 62%): latency verdicts are INCONCLUSIVE"
			s.Phases = []summary.Phase{{Name: "redis-down", Errors: 2}, {Name: "redis-slow", Latency: summary.Latency{Max: 180}}, {Name: "redis-partition", Latency: summary.Latency{P99: 80, Max: 3100}}}
		}))}, Fails, "errors"},
		// Connection pooling reads Redis's own counters.
		{"pool churns", "pooling", []Result{result(RunWorld, sum(summary.ModeBoth, func(s *summary.Summary) {
			s.RedisStats = map[string]summary.RedisStats{"window": {ConnectionsPer1kRequests: 250}}
		}))}, Fails, "250"},
		// Graceful shutdown reads the restarts added up: every one drained, nothing cut off.
		{"deploy drains", "graceful-shutdown", []Result{result(RunDeploy, sum(summary.ModeCache, func(s *summary.Summary) {
			s.RestartsTotal = &summary.RestartTotals{Count: 3, Restarted: 3, Drained: 3, InFlight: 7, DrainMaxMS: 40, ExitMaxS: 0.6}
		}))}, Holds, ""},
		{"deploy cuts requests off", "graceful-shutdown", []Result{result(RunDeploy, sum(summary.ModeCache, func(s *summary.Summary) {
			s.RestartsTotal = &summary.RestartTotals{Count: 3, Restarted: 3, Drained: 3, CutOff: 2}
		}))}, Fails, "cut_off"},
		{"deploy killed, no drain account", "graceful-shutdown", []Result{result(RunDeploy, sum(summary.ModeCache, func(s *summary.Summary) {
			s.RestartsTotal = &summary.RestartTotals{Count: 3, Restarted: 3, Drained: 1}
		}))}, Fails, "drained"},
		// A run without restarts measured none of it: not measured, saying so.
		{"deploy without restarts", "graceful-shutdown", []Result{result(RunDeploy, sum(summary.ModeCache, nil))}, NotMeasured, "measured none of it"},
		// Frontend caching: 304s answered, none of them stale.
		{"devices revalidate", "frontend-caching", []Result{result(RunClients, sum(summary.ModeCache, func(s *summary.Summary) {
			s.ClientCache = &summary.ClientCache{Devices: 2, Total: summary.ClientCacheClass{Gets: 100, Conditional: 40, NotModified: 30, Share304: 0.3}}
		}))}, Holds, ""},
		{"a kept copy was stale", "frontend-caching", []Result{result(RunClients, sum(summary.ModeCache, func(s *summary.Summary) {
			s.ClientCache = &summary.ClientCache{Devices: 2, Total: summary.ClientCacheClass{Gets: 100, Conditional: 40, NotModified: 30, Share304: 0.3, StaleReads: 1}}
		}))}, Fails, "client_cache.total.stale_reads"},
		{"no 304 at all", "frontend-caching", []Result{result(RunClients, sum(summary.ModeCache, func(s *summary.Summary) {
			s.ClientCache = &summary.ClientCache{Devices: 2, Total: summary.ClientCacheClass{Gets: 100}}
		}))}, Fails, "share_304"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Evaluate(Options{Only: []string{tc.id}}, tc.results)
			if err != nil {
				t.Fatal(err)
			}
			r := row(t, sc, tc.id)
			if r.Verdict != tc.want || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("verdict %s (%s), want %s with %q in the reason", r.Verdict, r.Reason, tc.want, tc.reason)
			}
			if sc.Pass != (tc.want != Fails) {
				t.Errorf("pass %t with verdict %s", sc.Pass, tc.want)
			}
		})
	}
}

// TestVersusWritesTheLimitIn: the evaluated expression carries the other run's figure.
func TestVersusWritesTheLimitIn(t *testing.T) {
	on := sum(summary.ModeCache, func(s *summary.Summary) {
		s.Phases = []summary.Phase{{Name: "steady", HitRate: summary.HitRate{APIResponses: 0.5}}, {Name: "recovery", HitRate: summary.HitRate{APIResponses: 0.45}}}
	})
	off := sum(summary.ModeCache, func(s *summary.Summary) {
		s.Phases = []summary.Phase{{Name: "steady", HitRate: summary.HitRate{APIResponses: 0.5}}, {Name: "recovery", HitRate: summary.HitRate{APIResponses: 0.2}}}
	})
	sc, err := Evaluate(Options{Only: []string{"aof"}}, []Result{result(RunAOF, on), result(RunAOFOff, off)})
	if err != nil {
		t.Fatal(err)
	}
	r := row(t, sc, "aof")
	// 0.45 with AOF > 0.2 without.
	if r.Verdict != Holds || r.Checks[0].Expr != `phases["recovery"].hit_rate.apiResponses > 0.2` {
		t.Fatalf("%s: %+v", r.Verdict, r.Checks)
	}
}

// TestInterval: with repeats the measured value carries their spread.
func TestInterval(t *testing.T) {
	world := sum(summary.ModeBoth, func(s *summary.Summary) {
		s.HitRate.Tier = 0.85
		s.Samples = map[string][]float64{"hit_rate.tier": {0.80, 0.85, 0.90}}
	})
	sc, err := Evaluate(Options{Only: []string{"hit-tier"}}, []Result{result(RunWorld, world)})
	if err != nil {
		t.Fatal(err)
	}
	r := row(t, sc, "hit-tier")
	if r.Verdict != Holds || r.Checks[0].Interval != "repeats 80.0%–90.0%, n=3" || !strings.Contains(r.Measured, "85.0% (repeats 80.0%–90.0%, n=3)") {
		t.Fatalf("%s %q %q", r.Verdict, r.Checks[0].Interval, r.Measured)
	}
	if len(r.Evidence) != 1 || r.Evidence[0].Summary != "/r/world/summary.json" {
		t.Errorf("evidence %+v", r.Evidence)
	}
}

// sweepRun is a sweep point with n tier lookups in 10 s over users, every TTL ttl seconds.
func sweepRun(i, users int, lookups uint64, ttl, hit, ideal float64) Result {
	s := sum(summary.ModeBoth, func(s *summary.Summary) {
		s.Population.Users = users
		s.CacheConfig = &summary.CacheConfig{Enabled: true, TTLSeconds: map[string]map[string]float64{"free": {"tier": ttl, "apiResponses": ttl}}}
		s.CacheStats = map[string]summary.ClassStats{"tier": {Hits: lookups / 2, Misses: lookups - lookups/2}}
		s.HitRate.Tier = hit
		s.HitRateIdeal = &summary.HitRate{Tier: ideal}
	})
	return result(SweepPrefix+string(rune('0'+i)), s)
}

// TestSweepBoundary: the boundary is the smallest swept value from which every larger point
// holds; the points are ordered by the measured lookups per user per TTL.
func TestSweepBoundary(t *testing.T) {
	ttl := map[string]map[string]float64{"free": {"tier": 300}}
	for _, tc := range []struct {
		name     string
		hits     []float64 // hit rate at x = 1, 2, 4, 8, 16 (lookups per user per TTL)
		boundary float64   // 0: none
		says     string
	}{
		// Rising through the claim: holds from the first point above it.
		{"rising", []float64{0.5, 0.7, 0.82, 0.9, 0.95}, 4, "holds from 4 tier lookups"},
		// A dip above the boundary moves it past the dip.
		{"dip", []float64{0.5, 0.85, 0.7, 0.9, 0.95}, 8, "holds from 8"},
		// Failing at the largest swept point: no boundary, and the statement says where it held.
		{"top fails", []float64{0.5, 0.7, 0.82, 0.9, 0.6}, 0, "holds at 4 (82.0%), 8 (90.0%) tier lookups per user per TTL but not at the largest swept, 16 (60.0%, the ideal cache 99.0%)"},
		// Never reaching the claim.
		{"never", []float64{0.1, 0.2, 0.3, 0.4, 0.5}, 0, "holds at none"},
		// Holding everywhere.
		{"always", []float64{0.81, 0.85, 0.9, 0.95, 0.99}, 1, "every swept point"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// 100 rps for 10 s (1000 requests); x = lookups / 10 s / users × TTL 5 s.
			var rs []Result
			xs := []float64{1, 2, 4, 8, 16}
			for i := len(xs) - 1; i >= 0; i-- { // out of order on purpose
				users := 50
				lookups := uint64(xs[i] * 10 * float64(users) / 5)
				rs = append(rs, sweepRun(i+1, users, lookups, 5, tc.hits[i], 0.99))
			}
			world := sum(summary.ModeBoth, func(s *summary.Summary) {
				s.Population.Users = 1000
				s.CacheStats = map[string]summary.ClassStats{"tier": {Hits: 900, Misses: 100}}
				s.HitRate.Tier = 0.9
			})
			rs = append(rs, result(RunWorld, world))
			sc, err := Evaluate(Options{Only: []string{"hit-tier"}, TTL: ttl}, rs)
			if err != nil {
				t.Fatal(err)
			}
			if ev := row(t, sc, "hit-tier").Evidence; len(ev) != 6 || ev[5].Summary != "/r/sweep-5/summary.json" {
				t.Errorf("evidence %+v: want the world and the five sweep points", ev)
			}
			sw := row(t, sc, "hit-tier").Sweep
			if sw == nil || len(sw.Points) != 5 {
				t.Fatalf("sweep %+v", sw)
			}
			for i, p := range sw.Points {
				if p.X != xs[i] || p.Ideal == nil || *p.Ideal != 0.99 {
					t.Errorf("point %d: x %v ideal %v, want x %v ideal 0.99", i, p.X, p.Ideal, xs[i])
				}
			}
			switch {
			case tc.boundary == 0 && sw.Boundary != nil:
				t.Errorf("boundary %v, want none", *sw.Boundary)
			case tc.boundary != 0 && (sw.Boundary == nil || *sw.Boundary != tc.boundary):
				t.Errorf("boundary %v, want %v", sw.Boundary, tc.boundary)
			}
			if !strings.Contains(sw.Statement, tc.says) {
				t.Errorf("statement %q lacks %q", sw.Statement, tc.says)
			}
			// The boundary in the world's terms: k × 1000 users / (300 s × 1 lookup per request).
			if tc.boundary == 4 && !strings.Contains(sw.Statement, "≥ 13.3 rps") {
				t.Errorf("statement %q: want ≥ 13.3 rps at the world's 1000 users and the 300 s TTL", sw.Statement)
			}
		})
	}
}

// TestWrite: the scorecard's files: claims.json valid against its schema, a self-contained
// claims.html, claims.md with every claim, and a chart of the house size per swept claim.
func TestWrite(t *testing.T) {
	var rs []Result
	for i, x := range []float64{1, 4, 16} {
		rs = append(rs, sweepRun(i+1, 50, uint64(x*100), 5, 0.6+0.1*float64(i), 0.97))
	}
	rs = append(rs, result(RunWorld, sum(summary.ModeBoth, nil)), Result{Run: Run{Name: RunFaults}, Err: errors.New("no redis")})
	sc, err := Evaluate(Options{TTL: map[string]map[string]float64{"free": {"tier": 300}}, Dir: "/r"}, rs)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Holds+sc.Fails+sc.NotMeasured != len(Table()) || sc.NotMeasured == 0 {
		t.Fatalf("counts %d/%d/%d of %d", sc.Holds, sc.Fails, sc.NotMeasured, len(Table()))
	}
	dir := t.TempDir()
	if err := Write(dir, sc); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	v, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(SchemaJSON), gojsonschema.NewBytesLoader(raw))
	if err != nil || !v.Valid() {
		t.Fatalf("claims.json against schema.json: %v %v", err, v.Errors())
	}
	var back Scorecard
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Rows) != len(Table()) {
		t.Fatalf("decode: %v, %d rows", err, len(back.Rows))
	}
	html, _ := os.ReadFile(filepath.Join(dir, FileHTML))
	if !bytes.Contains(html, []byte(`src="data:image/png;base64,`)) || bytes.Contains(html, []byte(`src="sweep`)) {
		t.Error("claims.html does not embed its charts")
	}
	md, _ := os.ReadFile(filepath.Join(dir, FileMD))
	if !bytes.Contains(md, []byte("`world/summary.json`")) {
		t.Error("claims.md: evidence not relative to the scorecard's directory")
	}
	for _, c := range Table() {
		if !bytes.Contains(md, []byte(render.MarkdownText(c.Quote))) {
			t.Errorf("claims.md lacks %q", c.Quote)
		}
	}
	f, err := os.Open(filepath.Join(dir, "sweep-hit-tier.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != render.ChartWidth || cfg.Height != render.ChartHeight {
		t.Errorf("chart: %v %dx%d", err, cfg.Width, cfg.Height)
	}
	var text bytes.Buffer
	if err := WriteText(&text, sc); err != nil || !strings.Contains(text.String(), "NOT MEASURED") {
		t.Errorf("text: %v\n%s", err, text.String())
	}
	// JUnit: a failed run's checks are skipped with the reason, not passed.
	for _, th := range sc.Thresholds() {
		if strings.Contains(th.Expr, `"redis-partition"`) && th.NotApplicable == "" {
			t.Errorf("%s: want skipped (its run failed), got %+v", th.Expr, th)
		}
	}
}

// TestSelect: unknown claim IDs are a usage error naming them and the known ones.
func TestSelect(t *testing.T) {
	if _, err := Select(Table(), []string{"fallback", "nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "db-reduction") {
		t.Fatalf("err %v", err)
	}
	got, err := Select(Table(), []string{"aof", "fallback"})
	if err != nil || len(got) != 2 || got[0].ID != "fallback" {
		t.Fatalf("%v %+v", err, got)
	}
}

// TestRunFailedOnlyForRuns: a claim whose run ran but measured none of its figure (no answer
// wholly from the cache) is NOT MEASURED with that reason and is no failed run; a claim whose
// run produced no summary is.
func TestRunFailedOnlyForRuns(t *testing.T) {
	noHits := sum(summary.ModeBoth, nil) // no latency_hits: every lookup bypassed
	sc, err := Evaluate(Options{Only: []string{"cache-response", "tier-isolation"}}, []Result{result(RunWorld, noHits),
		{Run: Run{Name: RunTierChange}, Err: errors.New("redis-server would not start")}})
	if err != nil {
		t.Fatal(err)
	}
	if r := row(t, sc, "cache-response"); r.Verdict != NotMeasured || !strings.Contains(r.Reason, "measured none of it") {
		t.Errorf("cache-response: %s (%s)", r.Verdict, r.Reason)
	}
	if got := sc.RunFailed(); len(got) != 1 || got[0] != "tier-isolation" {
		t.Errorf("run failed %v, want [tier-isolation]", got)
	}
}
