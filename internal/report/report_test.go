package report

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

var (
	update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")
	look   = flag.String("look", "", "also render the sample and every variant into subdirectories of this directory, to look at")
)

func ptr[T any](v T) *T { return &v }

// wiggle is deterministic noise in [-1, 1] for second i.
func wiggle(i int, seed float64) float64 { return math.Sin(float64(i)*1.7 + seed) }

// sampleSummary is a realistic run of the mixed scenario in both modes: 60 s measured, Redis
// killed at 20 s and started at 30 s, embedded Redis, two failed thresholds and a stale read.
func sampleSummary() *summary.Summary {
	const n = 60
	cache := &summary.Series{HitRate: map[string][]float64{}, Faults: []summary.FaultMark{{Name: "kill-redis", StartS: 20, EndS: 30}}}
	noCache := &summary.Series{}
	base := map[string]float64{"tier": 0.97, "userProfile": 0.91, "conversations": 0.84, "apiResponses": 0.78, "overall": 0.88}
	for i := range n {
		down, recovering := i >= 20 && i < 30, i >= 30 && i < 35
		recovered := 1.0
		if recovering {
			recovered = float64(i-29) / 6 // back over 5 s
		}
		p50, p99, dbqps := 0.9+0.05*wiggle(i, 0), 4.2+0.6*wiggle(i, 1), 150+12*wiggle(i, 2)
		switch {
		case down:
			p50, p99, dbqps = 12.5+0.5*wiggle(i, 3), 28+3*wiggle(i, 4), 520+20*wiggle(i, 5)
		case recovering:
			p50, p99, dbqps = p50+(12-p50)*(1-recovered), p99+(25-p99)*(1-recovered), dbqps+(500-dbqps)*(1-recovered)
		}
		cache.LatencyP50 = append(cache.LatencyP50, p50)
		cache.LatencyP99 = append(cache.LatencyP99, p99)
		cache.LatencyMax = append(cache.LatencyMax, p99*1.8)
		cache.RPS = append(cache.RPS, 300)
		cache.Errors = append(cache.Errors, 0)
		cache.DBQPS = append(cache.DBQPS, dbqps)
		for class, h := range base {
			v := math.Min(1, h*recovered+0.01*wiggle(i, h))
			if down {
				v = -1 // breaker open: no lookups at all
			}
			cache.HitRate[class] = append(cache.HitRate[class], v)
		}
		noCache.LatencyP50 = append(noCache.LatencyP50, 11.2+0.4*wiggle(i, 6))
		noCache.LatencyP99 = append(noCache.LatencyP99, 24.5+1.5*wiggle(i, 7))
		noCache.LatencyMax = append(noCache.LatencyMax, 40)
		noCache.RPS = append(noCache.RPS, 300)
		noCache.Errors = append(noCache.Errors, 0)
		noCache.DBQPS = append(noCache.DBQPS, 510+15*wiggle(i, 8))
	}
	curve := func(p50, exp, maxMS float64) []summary.PercentilePoint {
		var pts []summary.PercentilePoint
		for _, p := range []float64{0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 1} {
			v := maxMS
			if p < 1 {
				v = math.Min(maxMS, p50*math.Pow(2*(1-0.5)/(1-p), exp))
			}
			pts = append(pts, summary.PercentilePoint{Percentile: 100 * p, LatencyMS: v}) // percents, as internal/metrics writes them
		}
		return pts
	}
	cacheEndpoints := map[string]summary.Endpoint{
		"GET /api/conversations/{id}/messages":  {Requests: 9000, Errors: 2, Latency: summary.Latency{P50: 1.3, P99: 29.1, Max: 61.2}, HitRate: 0.78},
		"GET /api/me/tier":                      {Requests: 5400, Latency: summary.Latency{P50: 0.8, P99: 21.4, Max: 44}, HitRate: 0.97},
		"POST /api/conversations/{id}/messages": {Requests: 900, Errors: 1, Latency: summary.Latency{P50: 14.2, P99: 31.5, Max: 70.3}},
		"PUT /api/me/tier":                      {Requests: 180, Latency: summary.Latency{P50: 15.1, P99: 33.9, Max: 52.8}},
	}
	noCacheEndpoints := map[string]summary.Endpoint{
		"GET /api/conversations/{id}/messages":  {Requests: 9000, Latency: summary.Latency{P50: 11.9, P99: 25.2, Max: 52.8}},
		"GET /api/me/tier":                      {Requests: 5400, Latency: summary.Latency{P50: 10.8, P99: 23.1, Max: 41.7}},
		"POST /api/conversations/{id}/messages": {Requests: 900, Latency: summary.Latency{P50: 13.9, P99: 30.2, Max: 49.5}},
		"PUT /api/me/tier":                      {Requests: 180, Latency: summary.Latency{P50: 14.8, P99: 32.6, Max: 47.1}},
	}
	return &summary.Summary{
		Schema:   summary.Schema,
		Scenario: "mixed",
		Config:   "default",
		Mode:     "both",
		Started:  time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC),
		Env:      summary.Env{Go: "go1.26.8", CPUs: 2, OS: "linux/amd64", RedisBackend: "embedded", DB: "sqlite", Git: "3f9c2ab"},
		Notes:    []summary.Note{{Kind: summary.NoteRedis, Text: "embedded Redis (miniredis): latencies not representative"}},
		Figures: summary.Figures{
			Mode:         "cache",
			Requests:     18000,
			Rate:         summary.Rate{Target: 300, Achieved: 299.96, Kept: true},
			SuccessRatio: 0.99983,
			Errors:       3,
			ErrorsByKind: map[string]int64{"transport": 1, "5xx": 2},
			Latency:      summary.Latency{Mean: 3.12, P50: 1.21, P90: 12.9, P95: 14.8, P99: 27.5, P999: 38.2, Max: 70.3},
			ServiceTime:  summary.Latency{Mean: 3.01, P50: 1.18, P90: 12.6, P95: 14.5, P99: 26.9, P999: 37.7, Max: 69.8},
			ByEndpoint:   cacheEndpoints,
			HitRate:      summary.HitRate{Tier: 0.8123, UserProfile: 0.764, Conversations: 0.702, APIResponses: 0.655, Overall: 0.7312},
			DBQueries:    summary.DBQueries{Total: 12780, PerRequest: 0.71, ByClass: map[string]uint64{"tier": 1900, "apiResponses": 9000, "writes": 1080, "warm": 800}},
			Phases: []summary.Phase{
				{Name: "steady", StartS: 0, EndS: 20, Requests: 6000, Latency: summary.Latency{P99: 4.6}, HitRate: summary.HitRate{Overall: 0.881}, DBQPSPeak: 163},
				{Name: "redis down", Fault: "kill-redis", StartS: 20, EndS: 30, Requests: 3000, Errors: 2, Latency: summary.Latency{P99: 30.8}, RecoveryS: ptr(4.2), DBQPSPeak: 541},
				{Name: "after", StartS: 30, EndS: 60, Requests: 9000, Errors: 1, Latency: summary.Latency{P99: 19.4}, HitRate: summary.HitRate{Overall: 0.842}, DBQPSPeak: 498},
			},
			StaleReads: 1,
			Examples: []summary.Example{{
				Kind:     "stale",
				Request:  "GET /api/conversations/c12/messages?limit=50 (u7, X-Request-Id r-1042)",
				Expected: "newest m90012 (acknowledged at 31.20 s)",
				Got:      "newest m90007 | served from cache",
				AtS:      31.4,
			}},
			Series:          cache,
			Percentiles:     curve(1.2, 0.55, 70.3),
			RedisMemory:     memory(),
			GeneratorHealth: generatorHealth(n, false),
		},
		DBQueryReduction: ptr(0.5872),
		Speedup:          &summary.Speedup{P50: 9.42, Mean: 3.87, P99: 0.895},
		NoCache: &summary.Figures{
			Mode:            "nocache",
			Requests:        18000,
			Rate:            summary.Rate{Target: 300, Achieved: 299.91, Kept: true},
			SuccessRatio:    1,
			Latency:         summary.Latency{Mean: 12.07, P50: 11.4, P90: 19.8, P95: 21.9, P99: 24.6, P999: 33.1, Max: 52.8},
			ServiceTime:     summary.Latency{Mean: 11.9, P50: 11.3, P90: 19.5, P95: 21.6, P99: 24.3, P999: 32.8, Max: 52.5},
			ByEndpoint:      noCacheEndpoints,
			DBQueries:       summary.DBQueries{Total: 30960, PerRequest: 1.72},
			Series:          noCache,
			Percentiles:     curve(11.4, 0.12, 52.8),
			GeneratorHealth: generatorHealth(n, false),
		},
		Thresholds: []summary.Threshold{
			{Expr: "hit_rate.tier >= 0.80", Value: 0.8123, Pass: true},
			{Expr: "latency.p99 <= 50ms", Value: 27.5, Pass: true},
			{Expr: "db_query_reduction >= 0.40", Value: 0.5872, Pass: true},
			{Expr: "errors == 0", Value: 3},
			{Expr: "isolation_violations == 0", Value: 0, Pass: true},
			{Expr: "stale_reads == 0", Value: 1},
		},
		Pass: false,
	}
}

// minimalSummary has figures but nothing to chart: one mode, no series, no percentiles.
// memory is a Redis that grows during warm-up and levels off, sampled every 2 s.
func memory() *summary.RedisMemory {
	m := &summary.RedisMemory{MaxMemoryBytes: 512 << 20, Policy: "allkeys-lru", SampledEntries: 812, DeadShare: 0.04}
	for t := -10.0; t <= 60; t += 2 {
		used := int64((2 + 6*(1-math.Exp(-(t+10)/15)) + 0.1*wiggle(int(t), 3)) * (1 << 20))
		m.Series = append(m.Series, summary.MemoryPoint{T: t, UsedBytes: used})
		m.UsedBytes, m.PeakBytes = used, max(m.PeakBytes, used)
	}
	return m
}

func minimalSummary() *summary.Summary {
	return &summary.Summary{
		Schema:   summary.Schema,
		Scenario: "smoke",
		Mode:     "cache",
		Figures: summary.Figures{
			Mode:     "cache",
			Requests: 150,
			Rate:     summary.Rate{Target: 10, Achieved: 10, Kept: true},
			Latency:  summary.Latency{P50: 0.8, P99: 3},
		},
		Pass: true,
	}
}

func renderRun(t *testing.T, s *summary.Summary) (dir string) {
	t.Helper()
	dir = t.TempDir()
	if err := Render(dir, s); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkPNG asserts data is a PNG of the chart size that is not a single colour.
func checkPNG(t *testing.T, name string, data []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got, want := img.Bounds().Size(), image.Pt(render.ChartWidth, render.ChartHeight); got != want {
		t.Errorf("%s: size %v, want %v", name, got, want)
	}
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 5 {
		t.Errorf("%s: only %d colours: blank chart", name, len(colours))
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	dir := renderRun(t, sampleSummary())
	if *look != "" {
		lookAt(t, "sample", sampleSummary())
	}
	for _, name := range Charts() {
		checkPNG(t, name, []byte(readFile(t, filepath.Join(dir, name))))
	}

	md := readFile(t, filepath.Join(dir, MarkdownFile))
	for _, want := range []string{
		"## FAIL: 2 of 6 thresholds failed",
		"> **Note: embedded Redis (miniredis): latencies not representative**",
		"| `latency.p99 <= 50ms` | 27.5 ms | PASS |",
		"| `errors == 0` | 3 | FAIL |",
		"| `hit_rate.tier >= 0.80` | 81.2% | PASS |",
		"| latency p99 (ms) | 27.5 | 24.6 | 1.12× slower |",
		"| latency p50 (ms) | 1.21 | 11.4 | 9.42× faster |",
		"| DB queries per request | 0.710 | 1.72 | 58.7% fewer |",
		"| hit rate tier | 81.2% | — |",
		"| errors | 3 (5xx 2, transport 1) | 0 |",
		"| success ratio | 99.98% | 100.0% |",
		"\n**cache: isolation violations 0, stale reads 1.**",
		"\nno cache: isolation violations 0, stale reads 0.\n",
		"| rate achieved / target (rps) | 300.0 / 300.0 | 299.9 / 300.0 |",
		"| redis down | `kill-redis` | 20–30 |",
		"| 4.2 s |",
		"`newest m90007 \\| served from cache`",
		"![Latency over time](latency.png)",
		"![DB queries per second](db-qps.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// The report leads with the verdict; the caveats follow it, before the sections.
	if v, i, k := strings.Index(md, "## FAIL"), strings.Index(md, "embedded Redis"), strings.Index(md, "## Thresholds"); v < 0 || i < v || k < i {
		t.Errorf("the verdict (at %d) does not lead, or the embedded-Redis note (at %d) is not between it and the sections (at %d)", v, i, k)
	}

	page := readFile(t, filepath.Join(dir, HTMLFile))
	imgs := checkHTML(t, page)
	if len(imgs) != len(Charts()) {
		t.Errorf("report.html embeds %d images, want %d", len(imgs), len(Charts()))
	}
	for i, src := range imgs {
		data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		checkPNG(t, "inline image", data)
	}
	for _, want := range []string{"embedded Redis (miniredis): latencies not representative", "FAIL", "9.42× faster", "newest m90007 | served from cache"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// checkHTML asserts the page is well formed (every element closed, in order), refers to
// nothing outside itself, and returns the src of its images.
func checkHTML(t *testing.T, page string) (imgs []string) {
	t.Helper()
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("report.html refers to the network")
	}
	void := map[string]bool{"meta": true, "img": true, "hr": true, "br": true, "link": true, "input": true}
	var open []string
	z := html.NewTokenizer(strings.NewReader(page))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken:
			if !void[tok.Data] {
				open = append(open, tok.Data)
			}
			for _, a := range tok.Attr {
				if tok.Data == "img" && a.Key == "src" {
					if !strings.HasPrefix(a.Val, "data:image/png;base64,") {
						t.Errorf("img src %.40q is not an inline PNG", a.Val)
					}
					imgs = append(imgs, a.Val)
				}
				if a.Key == "href" {
					t.Errorf("link to %q in a self-contained page", a.Val)
				}
			}
		case html.EndTagToken:
			if len(open) == 0 || open[len(open)-1] != tok.Data {
				t.Fatalf("</%s> closes %v", tok.Data, open)
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		t.Errorf("unclosed elements: %v", open)
	}
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("parse report.html: %v", err)
	}
	tables := 0
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "table" {
			tables++
		}
	}
	if tables == 0 {
		t.Errorf("report.html has no table")
	}
	return imgs
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	dir := renderRun(t, sampleSummary())
	got := readFile(t, filepath.Join(dir, MarkdownFile))
	golden := filepath.Join("testdata", "report.md.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, golden); got != want {
		t.Errorf("report.md differs from %s (go test -run TestRenderGolden -update to accept):\n%s", golden, diff(want, got))
	}
}

// diff shows the first lines where want and got differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

func TestRenderWithoutData(t *testing.T) {
	t.Parallel()
	dir := renderRun(t, minimalSummary())
	for _, name := range Charts() {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s drawn without data", name)
		}
	}
	md := readFile(t, filepath.Join(dir, MarkdownFile))
	if got := strings.Count(md, "not drawn"); got != len(Charts()) {
		t.Errorf("report.md says %d charts were not drawn, want %d:\n%s", got, len(Charts()), md)
	}
	for _, want := range []string{"## PASS: no thresholds were set", "| requests | 150 |", "No thresholds were set."} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(md, "cache vs no cache") {
		t.Errorf("report.md compares with a no-cache run that did not happen")
	}
	if imgs := checkHTML(t, readFile(t, filepath.Join(dir, HTMLFile))); len(imgs) != 0 {
		t.Errorf("report.html embeds %d images without data", len(imgs))
	}
}

// TestRenderVariants renders odd but possible summaries: each must render, drawing the
// charts it has data for and nothing else.
func TestRenderVariants(t *testing.T) {
	t.Parallel()
	all := Charts()
	tests := []struct {
		name   string
		edit   func(s *summary.Summary)
		charts []string // expected to be drawn
		inMD   []string
	}{
		// -mode cache: no comparison, no no-cache lines.
		{"cache only", func(s *summary.Summary) { s.NoCache, s.Speedup, s.DBQueryReduction, s.Mode = nil, nil, nil, "cache" }, all, []string{"| figure | cache |"}},
		// -mode nocache: no lookups, so no hit-rate chart.
		{"nocache only", func(s *summary.Summary) {
			nc := *s.NoCache
			s.Figures, s.NoCache, s.Speedup, s.DBQueryReduction, s.Mode = nc, nil, nil, nil, "nocache"
		}, []string{chartLatency, chartPercentiles, chartDBQPS, chartHealth}, []string{"a no-cache run does no cache lookups", "| figure | no cache |"}},
		// redis-flap: many short windows, whose labels must not pile up.
		{"flapping", func(s *summary.Summary) {
			s.Series.Faults = nil
			for at := 10.0; at < 50; at += 4 {
				s.Series.Faults = append(s.Series.Faults, summary.FaultMark{Name: "flap-redis", StartS: at, EndS: at + 2})
			}
		}, all, nil},
		// A fault with no duration (flush-redis) and one past the end of the series.
		{"instant and late faults", func(s *summary.Summary) {
			s.Series.Faults = []summary.FaultMark{{Name: "flush-redis", StartS: 15, EndS: 15}, {Name: "partition-redis", StartS: 55, EndS: 70}}
		}, all, nil},
		// A 2 s stall: the latency axes go logarithmic.
		{"latency spike", func(s *summary.Summary) {
			s.Series.LatencyP99[25], s.Series.LatencyP50[25] = 2100, 900
			s.Percentiles[len(s.Percentiles)-2].LatencyMS = 2100
		}, all, nil},
		// Percentiles written as fractions (0.999) instead of percents (99.9), and a NaN.
		// (summary.PercentilePoint does not say which; both must draw the same curve.)
		{"percentiles as fractions", func(s *summary.Summary) {
			for i := range s.Percentiles {
				s.Percentiles[i].Percentile /= 100
			}
			s.Percentiles = append(s.Percentiles, summary.PercentilePoint{Percentile: math.NaN(), LatencyMS: 1})
		}, all, nil},
		// Hit-rate series without a single lookup: nothing to draw.
		{"no lookups", func(s *summary.Summary) {
			for k, v := range s.Series.HitRate {
				s.Series.HitRate[k] = slices.Repeat([]float64{-1}, len(v))
			}
		}, []string{chartLatency, chartPercentiles, chartDBQPS, chartRedisMemory, chartHealth}, []string{"no second of the run had a cache lookup"}},
		// Series present but empty, and zero latencies (seconds without requests).
		{"empty series", func(s *summary.Summary) {
			s.Series = &summary.Series{LatencyP50: make([]float64, 10)}
			s.NoCache.Series = nil
		}, []string{chartPercentiles, chartRedisMemory, chartHealth}, []string{"no per-second latency series"}},
		// No Redis of its own (a -target run): no memory chart, and the report says why.
		{"no redis memory", func(s *summary.Summary) { s.RedisMemory = nil }, []string{chartLatency, chartPercentiles, chartHitRate, chartDBQPS, chartHealth}, []string{"no Redis memory samples"}},
		// A merged run has no generator health: no chart, no section.
		{"no generator health", func(s *summary.Summary) { s.GeneratorHealth, s.NoCache.GeneratorHealth = nil, nil },
			[]string{chartLatency, chartPercentiles, chartHitRate, chartDBQPS, chartRedisMemory}, []string{"no generator-health samples"}},
		// A saturated generator: the report opens with the finding, the latency threshold is
		// INCONCLUSIVE, the counts keep their verdicts, and the section says why.
		{"saturated generator", func(s *summary.Summary) {
			s.GeneratorHealth = generatorHealth(60, true)
			s.Inconclusive = "generator health: the machine was saturated (PSI cpu some avg 52.5%, scheduling lag p99 180 ms): latency verdicts are INCONCLUSIVE"
			s.Thresholds = []summary.Threshold{{Expr: "latency.p99 <= 50ms", Value: 27.5, Inconclusive: s.Inconclusive}, {Expr: "errors == 0", Value: 0, Pass: true}}
		}, all, []string{"## INCONCLUSIVE: generator health: the machine was saturated (PSI cpu some avg 52.5%, scheduling lag p99 180 ms): latency verdicts are INCONCLUSIVE; 1 of 2 thresholds passed; 1 INCONCLUSIVE: latency.p99",
			"| `latency.p99 <= 50ms` | 27.5 ms \\[1\\] | INCONCLUSIVE |", "## Generator health", "cache: SATURATED: PSI cpu some avg 52.5%", "no cache: not saturated."}},
		// Redis near its maxmemory: the limit is drawn as a line.
		{"near maxmemory", func(s *summary.Summary) { s.RedisMemory.MaxMemoryBytes = 16 << 20 }, all, nil},
		// Cut off for lagging: said in the notes and in the rate row; the gap in the latency
		// series (-1: seconds without results) is not drawn as 0 ms.
		{"cut off", func(s *summary.Summary) {
			s.Figures.Rate = summary.Rate{Target: 300, Achieved: 120, MaxLagS: 12.34, CutOff: true, Dropped: 9000}
			for i := 30; i < len(s.Series.LatencyP50); i++ {
				s.Series.LatencyP50[i], s.Series.LatencyP99[i] = -1, -1
			}
		}, all, []string{"Cut off (cache): the load generator fell more than the -max-lag bound behind its schedule (12.3 s late at worst)", "9,000 scheduled requests were dropped", "⚠ cut off, 9,000 dropped"}},
		// Interrupted, behind schedule, embedded Redis without the run's note.
		{"derived notes", func(s *summary.Summary) {
			s.Notes, s.Interrupted, s.Figures.Rate.Kept, s.Figures.Rate.Achieved = nil, true, false, 241.3
		}, all, []string{"Redis was embedded (miniredis)", "interrupted", "fell behind schedule (cache): 241.3 of 300.0 rps", "| 241.3 / 300.0 ⚠ behind |"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each renders its own summary into its own directory
			s := sampleSummary()
			tt.edit(s)
			dir := renderRun(t, s)
			if *look != "" {
				lookAt(t, tt.name, s)
			}
			for _, name := range all {
				data, err := os.ReadFile(filepath.Join(dir, name))
				drawn := slices.Contains(tt.charts, name)
				switch {
				case drawn && err != nil:
					t.Errorf("%s not drawn: %v", name, err)
				case drawn:
					checkPNG(t, name, data)
				case err == nil:
					t.Errorf("%s drawn without data", name)
				}
			}
			md := readFile(t, filepath.Join(dir, MarkdownFile))
			if strings.Contains(md, "drawing failed") {
				t.Errorf("a chart failed to draw:\n%s", md)
			}
			for _, want := range tt.inMD {
				if !strings.Contains(md, want) {
					t.Errorf("report.md lacks %q", want)
				}
			}
			checkHTML(t, readFile(t, filepath.Join(dir, HTMLFile)))
		})
	}
}

// TestRenderFromSummaryJSON re-renders a run from its summary.json, as `bench report DIR`
// does, and gets the same report; a chart that no longer has data is removed.
func TestRenderFromSummaryJSON(t *testing.T) {
	t.Parallel()
	s := sampleSummary()
	dir := renderRun(t, s)
	if err := summary.Write(dir, s); err != nil {
		t.Fatal(err)
	}
	first := readFile(t, filepath.Join(dir, MarkdownFile))
	read, err := summary.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Render(dir, read); err != nil {
		t.Fatal(err)
	}
	if again := readFile(t, filepath.Join(dir, MarkdownFile)); again != first {
		t.Errorf("re-rendering from summary.json changed report.md:\n%s", diff(first, again))
	}
	read.Series.HitRate = nil
	if err := Render(dir, read); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, chartHitRate)); err == nil {
		t.Errorf("a stale %s survived a render without hit-rate data", chartHitRate)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	if err := Render(t.TempDir(), nil); err == nil {
		t.Error("Render(nil) succeeded")
	}
	if err := Render(filepath.Join(t.TempDir(), "missing"), sampleSummary()); err == nil {
		t.Error("Render into a missing directory succeeded")
	}
}

// generatorHealth is n seconds of the generator's health: calm, or saturated (lag, PSI)
// from the middle on.
func generatorHealth(n int, saturated bool) *summary.GeneratorHealth {
	h := &summary.GeneratorHealth{EveryS: 1, CPUs: 2, PSI: true, Steal: true,
		Rule: summary.SaturationRule{LagP99MS: 50, SchedP99MS: 50, PSISome: 0.5, Steal: 0.1, Share: 0.2}}
	for i := range n {
		p := summary.HealthPoint{T: float64(i + 1), LagP99MS: 1.5 + wiggle(i, 9), LagMaxMS: 3, PSISome: 0.1, Load1: 1.2, HarnessCPU: 0.3, SchedP99MS: 0.05}
		if i%17 == 3 {
			p.LagP99MS, p.SchedP99MS = 0, 0 // a second without a request: a gap on the log axis
		}
		if saturated && i >= n/2 {
			p.LagP99MS, p.PSISome, p.Saturated = 180+20*wiggle(i, 10), 0.95, true
		}
		h.Timeline = append(h.Timeline, p)
	}
	h.Aggregates = summary.HealthAggregates{LagP50MS: 1.5, LagP99MS: 2.5, LagMaxMS: 3, PSISomeMean: 0.1, PSISomeMax: 0.1, Load1Mean: 1.2, Load1Max: 1.2, HarnessCPUMean: 0.3, HarnessCPUMax: 0.3}
	if saturated {
		h.Saturated, h.Reasons = true, []string{"PSI cpu some avg 52.5% (above 50.0% in 30 of 60 samples)", "scheduling lag p99 180 ms (above 50.0 ms in 30 of 60 samples)"}
		h.Aggregates.PSISomeMean, h.Aggregates.LagP99MS, h.Aggregates.SaturatedShare = 0.525, 180, 0.5
	}
	return h
}

func TestCharts(t *testing.T) {
	t.Parallel()
	names := Charts()
	if len(names) != 6 {
		t.Fatalf("Charts() = %v, want 6 charts", names)
	}
	for _, n := range names {
		if !strings.HasSuffix(n, ".png") || strings.ContainsAny(n, `/\`) {
			t.Errorf("chart name %q is not a plain .png file name", n)
		}
	}
	names[0] = "changed"
	if Charts()[0] == "changed" {
		t.Error("Charts() shares its slice with the caller")
	}
}

// lookAt renders s into -look/name for a person to look at.
func lookAt(t *testing.T, name string, s *summary.Summary) {
	t.Helper()
	dir := filepath.Join(*look, strings.ReplaceAll(name, " ", "-"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Render(dir, s); err != nil {
		t.Fatal(err)
	}
}

// A long threshold error and a not-applicable threshold go below the table, numbered, so
// neither widens it; verdicts are plain words; the terminal output stays narrow.
func TestThresholdNotesBelowTable(t *testing.T) {
	t.Parallel()
	s := sampleSummary()
	long := `threshold "by_endpoint[\"GET /api/nothing\"].p99 < 5ms": by_endpoint["GET /api/nothing"]: threshold: not in the summary (have "GET /api/conversations/{id}/messages", "GET /api/me", "GET /api/me/tier", "POST /api/conversations/{id}/messages")`
	s.Thresholds = []summary.Threshold{
		{Expr: "errors == 0", Value: 0, Pass: true},
		{Expr: `by_endpoint["GET /api/nothing"].p99 < 5ms`, Error: long},
		{Expr: "db_query_reduction >= 40%", Pass: true, NotApplicable: "db_query_reduction needs both modes (-mode both); this run was -mode cache"},
	}
	s.Pass = false
	dir := renderRun(t, s)
	md := readFile(t, filepath.Join(dir, MarkdownFile))
	for _, want := range []string{
		"| `errors == 0` | 0 | PASS |",
		"| error \\[1\\] | FAIL |",
		"| not applicable \\[2\\] | n/a |",
		"_\\[1\\] threshold ",
		"_\\[2\\] not applicable: db\\_query\\_reduction needs both modes",
		"## FAIL: 1 of 2 thresholds failed (1 not applicable to this mode)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	html := readFile(t, filepath.Join(dir, HTMLFile))
	for _, want := range []string{`<td class="fail">FAIL</td>`, `<td class="pass">PASS</td>`, `<td class="na">n/a</td>`, `<p class="foot">[1] threshold`} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, bad := range []string{"✅", "❌", "⚠️"} {
		if strings.Contains(md, bad) || strings.Contains(html, bad) {
			t.Errorf("report uses %q, which renders as an empty box without an emoji font", bad)
		}
	}
	var b strings.Builder
	if err := WriteText(&b, s); err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(b.String(), "\n") {
		if n := utf8.RuneCountInString(l); n > 110 {
			t.Errorf("terminal line %d is %d columns wide: %q", i+1, n, l)
		}
	}
	if !strings.Contains(b.String(), "[1] threshold") {
		t.Errorf("terminal output lacks the error below the table:\n%s", b.String())
	}
}

// A fault's recovery is shown on the row where it happens, never "not recovered" beside a
// figure that says it did.
func TestPhaseRecovery(t *testing.T) {
	t.Parallel()
	r := ptr(3.0)
	for _, tc := range []struct {
		name   string
		phases []summary.Phase
		want   []string
	}{
		// kill-redis then start-redis: the recovery row carries the kill's recovery_s.
		{"closed fault", []summary.Phase{{Name: "steady"}, {Name: "redis-down", Fault: "kill-redis", RecoveryS: r}, {Name: "recovery", Fault: "start-redis"}},
			[]string{dash, dash, "3 s"}},
		// the same, never back within the run.
		{"closed fault, not recovered", []summary.Phase{{Name: "steady"}, {Name: "redis-down", Fault: "kill-redis"}, {Name: "recovery", Fault: "start-redis"}},
			[]string{dash, dash, "not recovered"}},
		// flush-redis ends by itself: its own row.
		{"instant fault", []summary.Phase{{Name: "steady"}, {Name: "redis-flushed", Fault: "flush-redis", RecoveryS: r}},
			[]string{dash, "3 s"}},
		// a partition that never heals.
		{"open fault", []summary.Phase{{Name: "steady"}, {Name: "redis-partition", Fault: "partition-redis"}},
			[]string{dash, "not recovered"}},
	} {
		var got []string
		for i := range tc.phases {
			got = append(got, phaseRecovery(tc.phases, i))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// With -count N the report says which repeat the headline figures are.
func TestRepeatNote(t *testing.T) {
	t.Parallel()
	s := sampleSummary()
	s.Count = 3
	s.Figures.Repeat, s.NoCache.Repeat = 2, 1
	var b strings.Builder
	if err := WriteText(&b, s); err != nil {
		t.Fatal(err)
	}
	want := "3 repeats: each mode's figures are those of its repeat with the median p50 latency (cache: repeat 2, no cache: repeat 1)"
	if !strings.Contains(strings.Join(strings.Fields(b.String()), " "), want) {
		t.Errorf("terminal output lacks %q:\n%s", want, b.String())
	}
	dir := renderRun(t, s)
	if md := readFile(t, filepath.Join(dir, MarkdownFile)); !strings.Contains(md, "cache: repeat 2, no cache: repeat 1") {
		t.Errorf("report.md does not say which repeat the figures are")
	}
	s.Count = 1
	s.Figures.Repeat, s.NoCache.Repeat = 0, 0
	if note := repeatNote(s); note != nil {
		t.Errorf("single repeat: %q", note)
	}
}

// The latency chart draws the no-cache p50 beside the no-cache p99: p50 is where the cache wins.
func TestLatencyChartHasNoCacheP50(t *testing.T) {
	t.Parallel()
	f, skipped := latencyFigure(sampleSummary())
	if f == nil {
		t.Fatalf("no latency chart: %s", skipped)
	}
	var labels []string
	for _, e := range f.legend {
		labels = append(labels, e.label)
	}
	for _, want := range []string{"p50 cache", "p99 cache", "p50 no cache", "p99 no cache"} {
		if !slices.Contains(labels, want) {
			t.Errorf("legend %q lacks %q", labels, want)
		}
	}
}

// clusterSummary is sampleSummary on a 3x1 Redis Cluster whose shard-2 master was killed:
// per-shard hit rates per second, and the nodes at the end (master-2 back as a replica).
func clusterSummary() *summary.Summary {
	s := sampleSummary()
	s.Redis = &summary.Redis{Topology: summary.Topology{Kind: summary.TopologyCluster, Masters: 3, Replicas: 1}}
	roles := map[string]string{"master-1": "master", "master-2": "replica", "master-3": "master",
		"replica-1": "replica", "replica-2": "master", "replica-3": "replica"}
	for i, name := range []string{"master-1", "master-2", "master-3", "replica-1", "replica-2", "replica-3"} {
		s.Redis.Nodes = append(s.Redis.Nodes, summary.RedisNode{Name: name, Address: fmt.Sprintf("127.0.0.1:%d", 7001+i),
			Role: roles[name], Up: true, Keys: int64(2200 + 10*(i%3)), UsedMemory: int64(8_400_000 + 100_000*(i%3))})
	}
	s.Series.HitRateBySlotRange = map[string][]float64{}
	for i := range len(s.Series.LatencyP50) {
		for shard := 1; shard <= 3; shard++ {
			h := 0.8 + 0.05*wiggle(i, float64(shard))
			if shard == 2 && i >= 20 && i < 24 {
				h = 0 // down until its replica's promotion
			}
			name := fmt.Sprintf("slots-%d", shard)
			s.Series.HitRateBySlotRange[name] = append(s.Series.HitRateBySlotRange[name], h)
		}
	}
	return s
}

// TestRenderCluster: a run on a Redis Cluster gets the per-shard hit-rate chart and the
// keys-per-node bar chart, referenced by report.md and inlined in report.html; a run on
// one Redis gets neither, and a re-render of such a run removes stale ones.
func TestRenderCluster(t *testing.T) {
	t.Parallel()
	s := clusterSummary()
	dir := renderRun(t, s)
	if *look != "" {
		lookAt(t, "cluster", s)
	}
	for _, name := range ClusterCharts() {
		checkPNG(t, name, []byte(readFile(t, filepath.Join(dir, name))))
	}
	md := readFile(t, filepath.Join(dir, MarkdownFile))
	for _, want := range []string{"![Hit rate per Redis Cluster slot range over time](hit-rate-slot-ranges.png)", "![Keys per Redis node at the end](keys-per-node.png)"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if imgs := checkHTML(t, readFile(t, filepath.Join(dir, HTMLFile))); len(imgs) != len(Charts())+len(ClusterCharts()) {
		t.Errorf("report.html embeds %d images, want %d", len(imgs), len(Charts())+len(ClusterCharts()))
	}

	single := sampleSummary()
	if err := Render(dir, single); err != nil { // the same directory: stale cluster charts go
		t.Fatal(err)
	}
	for _, name := range ClusterCharts() {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s left behind for a run on one Redis", name)
		}
	}
	if md := readFile(t, filepath.Join(dir, MarkdownFile)); strings.Contains(md, "shard") || strings.Contains(md, "keys-per-node") {
		t.Errorf("report.md of a run on one Redis mentions the cluster charts")
	}
}

// TestInterruptedHeadline: an interrupted run's report leads with INTERRUPTED and what was
// measured, never PASS or FAIL, and its thresholds read "not judged".
func TestInterruptedHeadline(t *testing.T) {
	t.Parallel()
	s := sampleSummary()
	s.Interrupted, s.Pass = true, false
	s.Thresholds = []summary.Threshold{
		{Expr: "errors == 0", Value: 0, NotJudged: "the run was interrupted before its end"},
		{Expr: "db_query_reduction >= 40%", Pass: true, NotApplicable: "db_query_reduction needs both modes"},
	}
	dir := renderRun(t, s)
	md := readFile(t, filepath.Join(dir, MarkdownFile))
	html := readFile(t, filepath.Join(dir, HTMLFile))
	var text strings.Builder
	if err := WriteText(&text, s); err != nil {
		t.Fatal(err)
	}
	head := "INTERRUPTED: stopped before its end after measuring " + count(s.Requests) + " requests (cache)"
	for name, page := range map[string]string{"report.md": md, "report.html": html, "terminal": text.String()} {
		if !strings.Contains(page, head) || !strings.Contains(page, "thresholds not judged") {
			t.Errorf("%s lacks the headline %q", name, head)
		}
		for _, verdict := range []string{"PASS:", "FAIL:", "## PASS", "## FAIL"} {
			if strings.Contains(page, verdict) {
				t.Errorf("%s of an interrupted run says %q", name, verdict)
			}
		}
	}
	if !strings.Contains(md, "| not judged |") || !strings.Contains(html, `<p class="verdict interrupted">`) {
		t.Error("report: the threshold row is not 'not judged', or the HTML verdict is not styled as interrupted")
	}
}

// TestRoutineFiguresNotWarnings: process and GC figures are a section of their own, not a
// note among the caveats; a long table of the HTML report is folded in <details>.
func TestRoutineFiguresNotWarnings(t *testing.T) {
	t.Parallel()
	s := sampleSummary()
	s.Processes = []summary.ProcessRSS{{Name: "harness", PeakMiB: 41, RSSMiB: []float64{30, 41}}}
	s.GC = []summary.GCPauses{{Process: "harness", Count: 6, PauseMS: 0.9}}
	for i := range 20 {
		s.Notes = append(s.Notes, summary.Notef(summary.NoteOther, "", "filler note %d", i))
	}
	s.CrossChecks = &summary.CrossChecks{AllAgree: true}
	for i := range foldRows + 3 {
		s.CrossChecks.Checks = append(s.CrossChecks.Checks, summary.CrossCheck{Figure: fmt.Sprintf("figure %d", i), Mode: summary.ModeCache,
			Witness1: "a", Witness2: "b", Verdict: summary.Agree})
	}
	dir := renderRun(t, s)
	md := readFile(t, filepath.Join(dir, MarkdownFile))
	if strings.Contains(md, "> **Note: Processes") {
		t.Error("the process figures are a note (a warning box)")
	}
	_, procs, ok := strings.Cut(md, "## Processes")
	if !ok || !strings.Contains(procs, "harness 41 MiB peak (41 at the end)") {
		t.Error("report.md has no Processes section with the harness's figures")
	}
	html := readFile(t, filepath.Join(dir, HTMLFile))
	if !strings.Contains(html, fmt.Sprintf("<details><summary>%d rows (show)</summary>", foldRows+3)) {
		t.Error("the long cross-checks table is not folded in the HTML report")
	}
	if !strings.Contains(html, "max-width: 1400px") {
		t.Error("the HTML report keeps the narrow column")
	}
}

// TestFenceLogAccounted: where PostgreSQL's transactions stand beside the DB queries, the
// report says what the transactions count that db_queries leaves out (the fence-log polls).
func TestFenceLogAccounted(t *testing.T) {
	t.Parallel()
	s := sampleSummary()
	s.PGStats = &summary.PGStats{Database: "atlas", XactCommit: 900, Requests: 300, ServerTransactions: 900, TransactionsPerRequest: 3}
	md := readFile(t, filepath.Join(renderRun(t, s), MarkdownFile))
	_, wit, ok := strings.Cut(md, "## Second witnesses")
	if !ok || !strings.Contains(wit, "fence log (each server instance polls it") {
		t.Error("the second witnesses section does not account for the fence log's queries in PostgreSQL's transactions")
	}
	s.PGStats = nil
	if md := readFile(t, filepath.Join(renderRun(t, s), MarkdownFile)); strings.Contains(md, "fence log") {
		t.Error("a run without PostgreSQL figures mentions the fence log")
	}
}
