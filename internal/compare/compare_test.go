package compare

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

var look = flag.String("look", "", "also render the test comparison into this directory, to look at the charts")

func ptr[T any](v T) *T { return &v }

// config describes a synthetic configuration's medians.
type config struct {
	name                       string
	hit                        [5]float64 // tier, userProfile, conversations, apiResponses, overall
	p50, p99, dbq              float64
	faultP99                   float64
	faultErrors, errors, stale int64
	mode                       summary.Mode
}

// synthetic builds a summary with 5 repeats jittered around the medians.
func synthetic(c config, scenario string, faults bool) *summary.Summary {
	const n = 5
	jitter := []float64{0, -0.01, 0.01, -0.005, 0.005}
	s := &summary.Summary{
		Schema: summary.Schema, Scenario: scenario, Config: c.name, Mode: "cache",
		Env:   summary.Env{Go: "go1.26.8", CPUs: 2, OS: "linux", RedisBackend: "process", DB: "sqlite"},
		Count: n, Samples: map[string][]float64{},
	}
	// The runner records the effective config of a built-in; a file config here has none.
	if cfg, err := cache.LoadConfig(c.name); err == nil && slices.Contains(cache.BuiltinConfigs(), c.name) {
		en, ttl := cfg.Effective()
		s.CacheConfig = &summary.CacheConfig{Enabled: en, TTLSeconds: ttl}
	}
	mode := c.mode
	if mode == "" {
		mode = "cache"
	}
	s.Figures = summary.Figures{
		Mode: mode, Requests: 9000, Errors: c.errors, StaleReads: c.stale,
		Latency:   summary.Latency{P50: c.p50, P99: c.p99},
		HitRate:   summary.HitRate{Tier: c.hit[0], UserProfile: c.hit[1], Conversations: c.hit[2], APIResponses: c.hit[3], Overall: c.hit[4]},
		DBQueries: summary.DBQueries{PerRequest: c.dbq, Total: uint64(c.dbq * 9000)},
	}
	// Split the DB queries over the classes in fixed shares.
	shares := map[string]float64{"tier": 0.2, "userProfile": 0.1, "conversations": 0.15, "apiResponses": 0.45, "writes": 0.1}
	s.Figures.DBQueries.ByClass = map[string]uint64{}
	for class, share := range shares {
		s.Figures.DBQueries.ByClass[class] = uint64(c.dbq * 9000 * share)
	}
	s.Figures.Phases = []summary.Phase{{Name: "steady", Requests: 3000, Latency: summary.Latency{P99: c.p99}}}
	if faults {
		s.Figures.Phases = append(s.Figures.Phases,
			summary.Phase{Name: "redis-down", Fault: "kill-redis", Requests: 3000, Errors: c.faultErrors, Latency: summary.Latency{P99: c.faultP99}},
			summary.Phase{Name: "recovery", Requests: 3000, Latency: summary.Latency{P99: c.p99 * 1.2}, RecoveryS: ptr(2.0)})
	}
	for i := range n {
		j := 1 + jitter[i]
		add := func(k string, v float64) { s.Samples[k] = append(s.Samples[k], v) }
		add("latency.p50", c.p50*j)
		add("latency.p99", c.p99*(1+3*jitter[i]))
		add("db_queries.per_request", c.dbq*j)
		add("errors", float64(c.errors))
		add("isolation_violations", 0)
		add("stale_reads", float64(c.stale))
		if mode != "nocache" {
			names := []string{"tier", "userProfile", "conversations", "apiResponses", "overall"}
			for k, name := range names {
				add("hit_rate."+name, math.Max(0, c.hit[k]+jitter[i]/2*c.hit[k]))
			}
		}
	}
	return s
}

var (
	cfgDefault    = config{name: "default", hit: [5]float64{0.85, 0.80, 0.65, 0.55, 0.71}, p50: 4.1, p99: 25, dbq: 0.52, faultP99: 160}
	cfgProduction = config{name: "production", hit: [5]float64{0.91, 0.88, 0.74, 0.63, 0.79}, p50: 3.9, p99: 24.5, dbq: 0.43, faultP99: 170}
	cfgNone       = config{name: "none", p50: 11.5, p99: 48, dbq: 1.25, faultP99: 47}
)

func threeRuns(faults bool) []Run {
	return []Run{
		{Config: "default", Summary: synthetic(cfgDefault, "redis-kill", faults)},
		{Config: "production", Summary: synthetic(cfgProduction, "redis-kill", faults)},
		{Config: "none", Summary: synthetic(cfgNone, "redis-kill", faults)},
	}
}

func TestRender(t *testing.T) {
	dir := t.TempDir()
	tbl, err := Render(dir, threeRuns(true))
	if err != nil {
		t.Fatal(err)
	}
	if *look != "" {
		if err := os.MkdirAll(*look, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Render(*look, threeRuns(true)); err != nil {
			t.Fatal(err)
		}
		// A harder case to look at: five configs, long names, errors while Redis was down.
		more := filepath.Join(*look, "more")
		if err := os.MkdirAll(more, 0o755); err != nil {
			t.Fatal(err)
		}
		runs := threeRuns(true)
		for i, c := range []config{cfgDefault, cfgProduction} {
			c.name = []string{"configs/aggressive-ttl.yaml", "short"}[i]
			c.p99 *= 3
			c.faultErrors = int64(17 * (i + 1))
			runs = append(runs, Run{Config: c.name, Summary: synthetic(c, "redis-kill", true)})
		}
		runs[1].Summary.Figures.Phases[1].Errors = 3
		if _, err := Render(more, runs); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{MarkdownFile, HTMLFile, ChartHitRate, ChartLatency, ChartDBQueries, ChartFallback} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	for _, f := range []string{ChartHitRate, ChartLatency, ChartDBQueries, ChartFallback} {
		checkPNG(t, filepath.Join(dir, f))
	}

	md := read(t, filepath.Join(dir, MarkdownFile))
	// The DB-query difference between default and none is in the table: none runs
	// 1.25/0.52 = 2.4× the DB queries per request of default, significantly.
	dbRow := line(md, "| DB queries/request |")
	for _, want := range []string{"0.520", "0.430 −17% \\*", "1.25 2.4× \\*"} {
		if !strings.Contains(dbRow, want) {
			t.Errorf("md DB-query row %q lacks %q", dbRow, want)
		}
	}
	// Hit rates in points, with marks.
	if row := line(md, "| tier hit rate |"); !strings.Contains(row, "91.0% +6.0 pts \\*") || !strings.Contains(row, "0.0% −85.0 pts \\*") {
		t.Errorf("md tier hit-rate row: %q", row)
	}
	// The fault phase rows exist and the charts are linked.
	for _, want := range []string{"| redis-down: p99 latency |", "![Hit rate per class](compare-hit-rate.png)", "![Fault phases: p99 latency and errors](compare-fallback.png)"} {
		if !strings.Contains(md, want) {
			t.Errorf("md lacks %q", want)
		}
	}
	// The recommendation names the config with the best figures and the trade-off.
	rec := tbl.Recommendation
	for _, want := range []string{"production: +6 pts tier hit rate and −17% DB queries/request vs default, at the cost of longer staleness windows (TTLs 3–4× longer)", "none: 0% tier hit rate, 2.4× the DB queries/request of default"} {
		if !strings.Contains(rec, want) {
			t.Errorf("recommendation %q lacks %q", rec, want)
		}
	}
	if !strings.Contains(md, "**Recommendation:** "+render.MarkdownText(rec)) {
		t.Error("md lacks the recommendation")
	}
	// The html is self-contained: charts inline, nothing fetched.
	html := read(t, filepath.Join(dir, HTMLFile))
	if n := strings.Count(html, `src="data:image/png;base64,`); n != 4 {
		t.Errorf("html has %d inline charts, want 4", n)
	}
	if strings.Contains(html, `src="http`) || strings.Contains(html, `href="http`) {
		t.Error("html references an external resource")
	}
	// The terminal table.
	var b bytes.Buffer
	if err := tbl.Write(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"metric", "default", "production", "none", "DB queries/request", "recommendation: production:"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("terminal table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestRenderWithoutFaults(t *testing.T) {
	dir := t.TempDir()
	// A fallback chart left over from an earlier render is removed.
	if err := os.WriteFile(filepath.Join(dir, ChartFallback), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	tbl, err := Render(dir, threeRuns(false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ChartFallback)); !os.IsNotExist(err) {
		t.Errorf("fallback chart exists without fault phases: %v", err)
	}
	var skipped string
	for _, c := range tbl.Charts {
		if c.File == ChartFallback {
			skipped = c.Skipped
		}
	}
	if skipped == "" {
		t.Error("the fallback chart is not marked skipped")
	}
	if md := read(t, filepath.Join(dir, MarkdownFile)); !strings.Contains(md, "not drawn (no run had a fault phase)") {
		t.Error("md does not say why the fallback chart is missing")
	}
}

func TestMarks(t *testing.T) {
	runs := threeRuns(false)
	// none kept only two repeats.
	for k, v := range runs[2].Summary.Samples {
		runs[2].Summary.Samples[k] = v[:2]
	}
	// A config with exactly the first config's figures.
	same := synthetic(cfgDefault, "redis-kill", false)
	same.Config = "default-again"
	runs = append(runs, Run{Config: "default-again", Summary: same})
	tbl := build(runs)
	tests := []struct {
		metric, config, mark string
	}{
		// Identical figures, 5 repeats each: not significant.
		{"latency.p99", "default-again", MarkNotSignificant},
		{"hit_rate.tier", "default-again", MarkNotSignificant},
		// 5 repeats against 5, far apart: significant.
		{"db_queries.per_request", "production", MarkSignificant},
		{"hit_rate.tier", "production", MarkSignificant},
		// 2 repeats against 5 cannot reach p < 0.05 (min p = 2/21): too few, however far apart.
		{"db_queries.per_request", "none", MarkTooFew},
		// The first column is the reference: no mark.
		{"db_queries.per_request", "default", ""},
	}
	for _, tt := range tests {
		if got := mark(tbl, tt.metric, tt.config); got != tt.mark {
			t.Errorf("%s of %s: mark %q, want %q", tt.metric, tt.config, got, tt.mark)
		}
	}
	// A phase's figure is not kept per repeat: a delta, but no mark.
	faults := build(threeRuns(true))
	if got := mark(faults, `phases["redis-down"].latency.p99`, "production"); got != "" {
		t.Errorf("phase p99 of production: mark %q, want none", got)
	}
}

func TestRecommendation(t *testing.T) {
	prodBad := cfgProduction
	prodBad.stale = 2
	worseP99 := cfgProduction
	worseP99.p99 = 40
	tests := []struct {
		runs []Run
		want []string // substrings of the recommendation
	}{
		// The first config is the best: said so, and the others' costs named.
		{[]Run{{Config: "production", Summary: synthetic(cfgProduction, "s", false)}, {Config: "default", Summary: synthetic(cfgDefault, "s", false)}},
			[]string{"production: the best figures of the 2 configs (91% tier hit rate, 0.430 DB queries/request, p99 24.5ms)", "default: 85% tier hit rate"}},
		// A config with stale reads is never recommended.
		{[]Run{{Config: "default", Summary: synthetic(cfgDefault, "s", false)}, {Config: "production", Summary: synthetic(prodBad, "s", false)}},
			[]string{"default: the best figures", "production: unsafe: 2 stale reads"}},
		// A worse p99 is named as a cost.
		{[]Run{{Config: "default", Summary: synthetic(cfgDefault, "s", false)}, {Config: "production", Summary: synthetic(worseP99, "s", false)}},
			[]string{"production: +6 pts tier hit rate and −17% DB queries/request vs default, at the cost of +60% p99 latency, longer staleness windows"}},
		// Names are not assumed: a file config without TTL information.
		{[]Run{{Config: "a.yaml", Summary: synthetic(cfgNone, "s", false)}, {Config: "b.yaml", Summary: synthetic(cfgDefault, "s", false)}},
			[]string{"b.yaml: +85 pts tier hit rate and −58% DB queries/request and −48% p99 latency vs a.yaml, with no measured cost"}},
		// One run: nothing to compare.
		{[]Run{{Config: "default", Summary: synthetic(cfgDefault, "s", false)}}, []string{"only default ran"}},
		// Every difference is within noise (~): no config is called the best.
		{[]Run{{Config: "default", Summary: synthetic(cfgDefault, "s", false)}, {Config: "again", Summary: synthetic(cfgDefault, "s", false)}},
			[]string{"no recommendation: the 2 configs' tier hit rate, DB queries per request and p99 latency do not differ significantly from default's (every difference is ~)"}},
	}
	for i, tt := range tests {
		tbl := build(tt.runs)
		for _, w := range tt.want {
			if !strings.Contains(tbl.Recommendation, w) {
				t.Errorf("case %d: recommendation %q lacks %q", i, tbl.Recommendation, w)
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	other := synthetic(cfgDefault, "mixed", false)
	tests := []struct {
		runs []Run
		want string
	}{
		// Nothing to render.
		{nil, "compare: no runs"},
		// A run without a summary.
		{[]Run{{Config: "default"}}, "run 1 (default): no summary"},
		// The same config twice.
		{[]Run{{Config: "a", Summary: synthetic(cfgDefault, "s", false)}, {Config: "a", Summary: synthetic(cfgDefault, "s", false)}}, `config "a" appears twice`},
		// Two scenarios.
		{[]Run{{Config: "a", Summary: synthetic(cfgDefault, "s", false)}, {Config: "b", Summary: other}}, `scenario "mixed", but a ran "s"`},
	}
	for _, tt := range tests {
		_, err := Render(t.TempDir(), tt.runs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Render error %v, want %q", err, tt.want)
		}
	}
	// An unwritable directory is an error, not a panic.
	if _, err := Render(filepath.Join(t.TempDir(), "missing"), threeRuns(false)); err == nil {
		t.Error("Render into a missing directory succeeded")
	}
}

func mark(t *Table, metric, config string) string {
	ci := -1
	for i, c := range t.Configs {
		if c == config {
			ci = i
		}
	}
	for _, r := range t.Rows {
		if r.Metric == metric {
			return r.Cells[ci].Mark
		}
	}
	return "no row"
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func line(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// checkPNG asserts a valid PNG of render.ChartWidth × render.ChartHeight that is not one colour and has
// the colours of the bars.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != render.ChartWidth || b.Dy() != render.ChartHeight {
		t.Errorf("%s: %dx%d, want %dx%d", path, b.Dx(), b.Dy(), render.ChartWidth, render.ChartHeight)
	}
	colours := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			colours[rgba(img, x, y)]++
		}
	}
	if len(colours) < 3 {
		t.Errorf("%s: %d colours: blank", path, len(colours))
	}
	// The first config's blue bars are there.
	if colours[color.RGBA{R: 0, G: 114, B: 178, A: 255}] < 50 {
		t.Errorf("%s: hardly any pixels of the first config's colour", path)
	}
}

func rgba(img image.Image, x, y int) color.RGBA {
	r, g, b, a := img.At(x, y).RGBA()
	return color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: uint8(a >> 8)}
}
