package merge

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/summary"
)

var routes = []struct{ route, class string }{
	{"GET /api/me/tier", "tier"}, {"GET /api/me", "userProfile"}, {"GET /api/conversations", "conversations"},
	{"GET /api/conversations/{id}/messages", "apiResponses"}, {"POST /api/conversations/{id}/messages", "writes"},
}

// synthesize writes n shard run directories under root as bench run -shard i/n would after
// a run of dur at rps in all (rps/n each): every result goes through the real
// metrics.Recorder (latencies drawn from a lognormal-like distribution), a stats poll per
// second, then the part and summary.json are written. It returns the directories.
func synthesize(tb testing.TB, root string, n int, dur time.Duration, rps int) []string {
	tb.Helper()
	origin := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	secs := int(dur / time.Second)
	var dirs []string
	for i := 1; i <= n; i++ {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		rec := metrics.NewRecorder(metrics.Options{Mode: "cache"})
		rec.KeepRaw()
		per := rps / n
		for s := range secs {
			for k := range per {
				at := time.Duration(s)*time.Second + time.Duration(k)*time.Second/time.Duration(per)
				rt := routes[rng.IntN(len(routes))]
				lat := time.Duration(300+rng.ExpFloat64()*2000+rng.NormFloat64()*100) * time.Microsecond
				h := http.Header{}
				h.Set("X-Atlas-Tier-Cache", "HIT")
				if rng.IntN(4) == 0 {
					h.Set("X-Cache", "MISS")
				} else {
					h.Set("X-Cache", "HIT")
				}
				rec.Add(check.Verdict{Record: driver.Record{
					Req:      &driver.Request{Route: rt.route, Class: rt.class},
					Res:      &vegeta.Result{Code: 200, Latency: lat, Headers: h, Timestamp: origin.Add(at)},
					Intended: at, Sent: at, Latency: lat,
				}})
			}
		}
		var snaps []metrics.Snapshot
		for s := -1; s <= secs; s++ {
			x := uint64(s+1) * uint64(rps)
			snaps = append(snaps, metrics.Snapshot{At: origin.Add(time.Duration(s) * time.Second), Mode: "cache", Stats: atlas.Stats{
				Requests: x,
				Cache: map[atlas.Class]atlas.ClassStats{"tier": {Hits: x * 9 / 10, Misses: x / 10},
					"apiResponses": {Hits: x / 4, Misses: x / 12}},
				DB: atlas.QueryStats{Total: x / 5, ByClass: map[string]uint64{"apiResponses": x / 12, "writes": x / 10}},
			}})
		}
		out := &driver.Outcome{Mode: "cache", MeasureStart: origin, Ran: dur,
			Rate: summary.Rate{Target: float64(per), Achieved: float64(per), Kept: true}}
		in := metrics.Input{Outcome: out, Snapshots: snaps, Servers: 1, ServerURLs: []string{"http://atlas:8000"}}
		part, err := rec.Part(in)
		if err != nil {
			tb.Fatal(err)
		}
		f, _ := rec.Finish(in)
		dir := filepath.Join(root, "shard-"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := metrics.WritePart(dir, part); err != nil {
			tb.Fatal(err)
		}
		s := &summary.Summary{Schema: summary.Schema, Scenario: "synthetic", Config: "default", Mode: "target",
			Started: origin, Figures: f, Count: 1,
			Shard:      &summary.Shard{Index: i, Count: n, Seed: 42, StartAt: origin},
			Thresholds: []summary.Threshold{{Expr: "errors == 0"}, {Expr: "latency.p99 < 1s"}, {Expr: "hit_rate.tier >= 0.8"}},
			// Each shard's witnesses checked a figure; the last shard's disagreed.
			CrossChecks: &summary.CrossChecks{Checks: []summary.CrossCheck{{Figure: "Redis commands per request", Mode: "cache",
				Witness1: "server", Value1: 2, Witness2: "Redis", Value2: 2, Tolerance: "exact", Verdict: map[bool]string{true: summary.Disagree, false: summary.Agree}[i == n]}}},
			Notes: []summary.Note{
				{Kind: summary.NoteHeaders, Mode: "cache", Text: "hit rate tier: server counters 0.900, X-Cache headers 0.750"},
				{Kind: summary.NoteStats, Mode: "cache", Text: "2 stats polls failed"},
			},
		}
		if err := summary.Write(dir, s); err != nil {
			tb.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

// Merging synthetic shards gives the summed counts, percentiles of the union and the
// server's counters once; the directories' order does not matter.
func TestMergeSynthetic(t *testing.T) {
	root := t.TempDir()
	dirs := synthesize(t, root, 3, 40*time.Second, 300)
	res, err := Merge([]string{dirs[2], dirs[0], dirs[1]}, filepath.Join(root, "merged"))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Shards != 3 || s.Requests != 3*100*40 || s.Rate.Target != 300 {
		t.Errorf("shards %d, requests %d, target %v; want 3, 12000, 300", s.Shards, s.Requests, s.Rate.Target)
	}
	var sum int64
	for _, e := range s.ByEndpoint {
		sum += e.Requests
	}
	if sum != s.Requests {
		t.Errorf("per-route requests add up to %d of %d", sum, s.Requests)
	}
	// The server's counters are taken once: its tier hit rate, not three times its queries.
	if s.HitRate.Tier < 0.89 || s.HitRate.Tier > 0.91 || s.DBQueries.Total != 40*300/5 {
		t.Errorf("hit rate tier %v, DB queries %d; want 0.9 and %d", s.HitRate.Tier, s.DBQueries.Total, 40*300/5)
	}
	if !s.Pass || len(s.Thresholds) != 3 {
		t.Errorf("thresholds %+v", s.Thresholds)
	}
	if md, err := os.ReadFile(filepath.Join(res.Dir, "report.md")); err != nil || !strings.Contains(string(md), "3 shards merged") ||
		!strings.Contains(string(md), "Cross-checks") {
		t.Errorf("report.md does not say it merges 3 shards, or has no cross-checks table: %v", err)
	}
	// Every shard's cross-check is kept, labelled with its shard; shard 3's disagreement
	// fails the merged run's cross-checks.
	if cc := s.CrossChecks; cc == nil || len(cc.Checks) != 3 || cc.AllAgree || cc.Disagreements != 1 ||
		!strings.HasPrefix(cc.Checks[2].Detail, "shard 3/3") {
		t.Errorf("cross-checks %+v: want the 3 shards' checks, shard 3's disagreeing", cc)
	}
	// The shards' header notes are dropped (the merged figures compare the whole again);
	// their other notes are kept, each with its shard.
	var kept []string
	for _, n := range s.Notes {
		if n.Kind == summary.NoteHeaders && n.Shard != "" {
			t.Errorf("a shard's header note was kept: %v", n)
		}
		if n.Kind == summary.NoteStats {
			kept = append(kept, n.String())
		}
	}
	if len(kept) != 3 || kept[0] != "shard 1/3: cache: 2 stats polls failed" {
		t.Errorf("the shards' stats notes: %q", kept)
	}
	back, err := summary.Read(res.Dir)
	if err != nil || back.Shards != 3 {
		t.Errorf("summary.json: %v, shards %v", err, back)
	}
	// Merging two of the three is a missing shard.
	_, err = Merge(dirs[:2], filepath.Join(root, "m2"))
	var miss *MissingError
	if !errors.As(err, &miss) || !strings.Contains(err.Error(), "3/3") {
		t.Errorf("two of three: %v, want a MissingError naming 3/3", err)
	}
}

// TestMergeGeneratorHealth: a merged run carries the generator health of its most
// saturated shard, labelled with it. One shard's saturated generator makes the merged
// latency thresholds INCONCLUSIVE and names the shard; with none saturated, the merged
// run's latency is judged, and its health is the shard with the most saturated seconds.
func TestMergeGeneratorHealth(t *testing.T) {
	health := func(saturated bool, share float64) *summary.GeneratorHealth {
		h := &summary.GeneratorHealth{EveryS: 1, CPUs: 2, PSI: true, Steal: true, Saturated: saturated,
			Aggregates: summary.HealthAggregates{SaturatedShare: share}}
		if saturated {
			h.Reasons = []string{"PSI cpu some avg 62% (above 50% in 40% of the seconds)"}
		}
		return h
	}
	for _, tc := range []struct {
		name   string
		shards []*summary.GeneratorHealth
		shard  string // the merged health's
		// inconclusive is how the merged run's finding starts; "" when it has none.
		inconclusive string
	}{
		{"shard 2 saturated", []*summary.GeneratorHealth{health(false, 0.1), health(true, 0.4), health(false, 0.15)}, "2/3",
			"generator health: shard 2/3: the machine was saturated (PSI cpu some avg 62%)"},
		{"none saturated", []*summary.GeneratorHealth{health(false, 0.1), health(false, 0.05), health(false, 0.15)}, "3/3", ""},
		{"shard 1 without samples", []*summary.GeneratorHealth{nil, health(true, 0.3), health(true, 0.5)}, "3/3",
			"generator health: shard 3/3: the machine was saturated"},
	} {
		root := t.TempDir()
		dirs := synthesize(t, root, 3, 5*time.Second, 60)
		for i, dir := range dirs {
			s, err := summary.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			s.Figures.GeneratorHealth = tc.shards[i]
			if err := summary.Write(dir, s); err != nil {
				t.Fatal(err)
			}
		}
		res, err := Merge(dirs, filepath.Join(root, "merged"))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		s := res.Summary
		if h := s.GeneratorHealth; h == nil || h.Shard != tc.shard {
			t.Fatalf("%s: merged generator health %+v, want shard %s's", tc.name, h, tc.shard)
		}
		if !strings.HasPrefix(s.Inconclusive, tc.inconclusive) || (tc.inconclusive == "") != (s.Inconclusive == "") {
			t.Errorf("%s: inconclusive %q, want it to start %q", tc.name, s.Inconclusive, tc.inconclusive)
		}
		for _, th := range s.Thresholds {
			latency := strings.HasPrefix(th.Expr, "latency")
			if (th.Inconclusive != "") != (latency && tc.inconclusive != "") {
				t.Errorf("%s: threshold %s: inconclusive %q", tc.name, th.Expr, th.Inconclusive)
			}
		}
		if s.Pass != (tc.inconclusive == "") {
			t.Errorf("%s: pass %v", tc.name, s.Pass)
		}
		if md, err := os.ReadFile(filepath.Join(res.Dir, "report.md")); err != nil || !strings.Contains(string(md), "(shard "+tc.shard+", the most saturated of the merged shards)") {
			t.Errorf("%s: report.md does not say whose generator health it shows: %v", tc.name, err)
		}
	}
}

// BenchmarkMerge3x10Min merges 3 synthetic shards of a 10-minute run at 1000 rps in all
// and reports the peak resident memory of the merge (the process's high-water mark, reset
// after the shards are written).
func BenchmarkMerge3x10Min(b *testing.B) {
	root := b.TempDir()
	dirs := synthesize(b, root, 3, 10*time.Minute, 1000)
	var size int64
	for _, d := range dirs {
		for _, f := range []string{summary.FileName, metrics.PartFile("cache")} {
			if fi, err := os.Stat(filepath.Join(d, f)); err == nil {
				size += fi.Size()
			}
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	b.ResetTimer()
	for i := range b.N {
		if _, err := Merge(dirs, filepath.Join(root, fmt.Sprintf("merged-%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(size)/(1<<20), "shard-MiB")
	if peak := peakRSSMiB(); peak > 0 {
		b.ReportMetric(peak, "peak-RSS-MiB")
	}
}

// resetPeakRSS resets the process's RSS high-water mark (Linux; best effort).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMiB is VmHWM from /proc/self/status, or 0.
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
