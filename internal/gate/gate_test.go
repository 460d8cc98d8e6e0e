package gate

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/stats"
	"github.com/atlasbench/atlasbench/internal/summary"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// run is a summary of the smoke scenario with the given samples.
func run(samples map[string][]float64) *summary.Summary {
	n := 0
	for _, v := range samples {
		n = max(n, len(v))
	}
	return &summary.Summary{
		Schema: summary.Schema, Scenario: "smoke", Config: "default", Mode: "cache",
		Env:     summary.Env{CPUs: 2, RedisBackend: "process", DB: "sqlite"},
		Figures: summary.Figures{Mode: "cache"},
		Count:   n, Samples: samples,
	}
}

// Synthetic latencies (ms): tight around 10, and the same shifted.
var (
	tight10   = []float64{10.0, 10.2, 9.9, 10.1, 10.05, 9.95, 10.15, 10.0}
	tight13   = []float64{13.0, 13.2, 12.9, 13.1, 13.05, 12.95, 13.15, 13.0}       // +30%: clear regression
	tight10p3 = []float64{10.3, 10.5, 10.2, 10.4, 10.35, 10.25, 10.45, 10.3}       // +3%: significant but tiny
	noisyA    = []float64{7.0, 13.0, 10.0, 8.5, 11.5, 9.0, 12.0, 10.5}             // ±30% noise around 10
	noisyB    = []float64{12.5, 7.5, 9.5, 13.0, 8.0, 11.0, 10.0, 10.2}             // the same noise, reshuffled
	fast7     = []float64{7.0, 7.1, 6.9, 7.05, 6.95, 7.0, 7.1, 7.0}                // −30%: an improvement
	hit90     = []float64{0.90, 0.901, 0.899, 0.9, 0.902, 0.898, 0.9, 0.9005}      // hit rate ~90%
	hit85     = []float64{0.85, 0.851, 0.849, 0.85, 0.852, 0.848, 0.85, 0.8505}    // −5 points
	hit895    = []float64{0.895, 0.896, 0.894, 0.895, 0.897, 0.893, 0.895, 0.8955} // −0.5 points, significant
)

func TestJudge(t *testing.T) {
	tests := []struct {
		metric    string
		base, cur []float64
		o         Options
		want      Verdict
	}{
		// A clear latency regression: +30%, significant, beyond 10%.
		{"latency.p99", tight10, tight13, Options{}, Regression},
		// Noise of the same size (±30%) with no shift is not significant.
		{"latency.p99", noisyA, noisyB, Options{}, NotSignificant},
		// A significant but tiny change (+3%) is within the 10% tolerance.
		{"latency.p99", tight10, tight10p3, Options{}, WithinTolerance},
		// The same +30% with 3 samples a side cannot be tested: a warning, not a failure.
		{"latency.p99", tight10[:3], tight13[:3], Options{}, TooFewSamples},
		// One sample against many can never be significant either.
		{"latency.p99", tight10, tight13[:1], Options{}, TooFewSamples},
		// Four samples a side are enough at alpha 0.05.
		{"latency.p99", tight10[:4], tight13[:4], Options{}, Regression},
		// …but not at alpha 0.01.
		{"latency.p99", tight10[:4], tight13[:4], Options{Alpha: 0.01}, TooFewSamples},
		// Faster is an improvement.
		{"latency.p99", tight10, fast7, Options{}, Improved},
		// A looser tolerance lets +30% pass.
		{"latency.p99", tight10, tight13, Options{Tolerances: map[string]float64{"latency": 0.5}}, WithinTolerance},
		// The longest prefix wins: p99 loose, the family stays at 10%.
		{"latency.p99", tight10, tight13, Options{Tolerances: map[string]float64{"latency.p99": 0.5}}, WithinTolerance},
		{"latency.p50", tight10, tight13, Options{Tolerances: map[string]float64{"latency.p99": 0.5}}, Regression},
		// No-cache figures use their family's tolerance.
		{"nocache.latency.p99", tight10, tight13, Options{}, Regression},
		// An endpoint's latency is a latency.
		{`by_endpoint["GET /api/me/tier"].p99`, tight10, tight13, Options{}, Regression},
		// Hit rate: higher is better; −5 points is a regression.
		{"hit_rate.tier", hit90, hit85, Options{}, Regression},
		// …and +5 points an improvement.
		{"hit_rate.tier", hit85, hit90, Options{}, Improved},
		// −0.5 points is significant but within 2 points.
		{"hit_rate.tier", hit90, hit895, Options{}, WithinTolerance},
		// +0.5 points, significant, is within 2 points too: not "improved" (the gate says
		// improved only beyond its tolerance, as it says regression).
		{"hit_rate.tier", hit895, hit90, Options{}, WithinTolerance},
		// A significant +3% speed-up of latency is within its 10% tolerance, not improved.
		{"latency.p99", tight10p3, tight10, Options{}, WithinTolerance},
		// Strict, with a tolerance of 2 errors: one error fewer is within it.
		{"errors", []float64{3}, []float64{2}, Options{Tolerances: map[string]float64{"errors": 2}}, WithinTolerance},
		// Hit rate with one sample a side is judged on its value: −5 points fails…
		{"hit_rate.tier", hit90[:1], hit85[:1], Options{}, Regression},
		// …−0.5 points does not.
		{"hit_rate.tier", hit90[:1], hit895[:1], Options{}, NotSignificant},
		// DB queries per request, judged on value: +10% fails (tolerance 5%)…
		{"db_queries.per_request", []float64{1.0}, []float64{1.1}, Options{}, Regression},
		// …+3% does not.
		{"db_queries.per_request", []float64{1.0}, []float64{1.03}, Options{}, NotSignificant},
		// Deterministic, identical samples a side: the U test separates them (ties handled exactly).
		{"db_queries.per_request", []float64{1, 1, 1, 1, 1}, []float64{1.2, 1.2, 1.2, 1.2, 1.2}, Options{}, Regression},
		// All samples equal on both sides: no change.
		{"db_queries.per_request", []float64{1, 1, 1, 1, 1}, []float64{1, 1, 1, 1, 1}, Options{}, NotSignificant},
		// Strict: errors 0 → 1 fails with one sample.
		{"errors", []float64{0}, []float64{1}, Options{}, Regression},
		// Strict: the worst repeat counts, though the median is 0.
		{"errors", []float64{0, 0, 0, 0, 0}, []float64{0, 0, 1, 0, 0}, Options{}, Regression},
		// Strict, with a tolerance of 2 errors: +1 passes.
		{"errors", []float64{0}, []float64{1}, Options{Tolerances: map[string]float64{"errors": 2}}, WithinTolerance},
		// Strict: fewer errors is an improvement.
		{"errors", []float64{3}, []float64{0}, Options{}, Improved},
		// Strict: unchanged.
		{"isolation_violations", []float64{0, 0}, []float64{0, 0}, Options{}, NotSignificant},
		// Strict counts of a phase.
		{`phases["redis-down"].errors`, []float64{0}, []float64{4}, Options{}, Regression},
		{"stale_reads", []float64{0}, []float64{1}, Options{}, Regression},
		// Speed-up: higher is better, relative tolerance.
		{"speedup.p50", []float64{5, 5.1, 4.9, 5, 5.05, 4.95}, []float64{3, 3.1, 2.9, 3, 3.05, 2.95}, Options{}, Regression},
		// A neutral metric that moved is reported, never judged.
		{"requests", tight10, tight13, Options{}, Changed},
		// A metric only one run has is reported, not judged.
		{"speedup.p50", []float64{5}, nil, Options{}, Missing},
		{"speedup.p50", nil, []float64{5}, Options{}, Missing},
	}
	for _, tt := range tests {
		o, err := tt.o.resolve()
		if err != nil {
			t.Fatal(err)
		}
		base, cur := slices.Clone(tt.base), slices.Clone(tt.cur)
		r := judge(tt.metric, base, cur, o)
		if r.Verdict != tt.want {
			t.Errorf("%s %v → %v (%+v): verdict %q (%s), want %q; p=%v delta=%v", tt.metric, tt.base, tt.cur, tt.o, r.Verdict, r.Note, tt.want, r.Test.P, r.Delta)
		}
		if !slices.Equal(base, tt.base) || !slices.Equal(cur, tt.cur) {
			t.Errorf("%s: judge reordered the caller's samples", tt.metric)
		}
	}
}

func TestCompare(t *testing.T) {
	base := run(map[string][]float64{
		"latency.p99":   tight10,
		"latency.p50":   noisyA,
		"hit_rate.tier": hit90,
		"errors":        {0, 0, 0, 0, 0, 0, 0, 0},
		"speedup.p50":   {5, 5, 5, 5, 5, 5, 5, 5},
	})
	tests := []struct {
		cur       map[string][]float64
		regressed bool
		rows      map[string]Verdict // metric → verdict
	}{
		// Everything the same (noise only): pass; speedup missing in this run is reported.
		{map[string][]float64{"latency.p99": tight10, "latency.p50": noisyB, "hit_rate.tier": hit90, "errors": {0, 0, 0, 0, 0, 0, 0, 0}},
			false, map[string]Verdict{"latency.p99": NotSignificant, "latency.p50": NotSignificant, "hit_rate.tier": NotSignificant, "errors": NotSignificant, "speedup.p50": Missing}},
		// A latency regression fails the gate.
		{map[string][]float64{"latency.p99": tight13, "latency.p50": noisyB, "hit_rate.tier": hit90, "errors": {0, 0, 0, 0, 0, 0, 0, 0}},
			true, map[string]Verdict{"latency.p99": Regression}},
		// A tiny significant change and a better hit rate pass.
		{map[string][]float64{"latency.p99": tight10p3, "hit_rate.tier": {0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95}},
			false, map[string]Verdict{"latency.p99": WithinTolerance, "hit_rate.tier": Improved, "latency.p50": Missing}},
		// One error in one repeat fails.
		{map[string][]float64{"errors": {0, 0, 0, 1, 0, 0, 0, 0}}, true, map[string]Verdict{"errors": Regression}},
	}
	for i, tt := range tests {
		res, err := Compare(base, run(tt.cur), Options{})
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if res.Regressed() != tt.regressed {
			var b bytes.Buffer
			res.Write(&b)
			t.Errorf("case %d: Regressed() = %v, want %v\n%s", i, res.Regressed(), tt.regressed, b.String())
		}
		got := map[string]Verdict{}
		for _, r := range res.Rows {
			got[r.Metric] = r.Verdict
		}
		for m, v := range tt.rows {
			if got[m] != v {
				t.Errorf("case %d: %s verdict %q, want %q", i, m, got[m], v)
			}
		}
	}
	// The caller's samples are left in their order.
	if !slices.Equal(base.Samples["latency.p50"], noisyA) {
		t.Errorf("Compare sorted the baseline's samples in place: %v", base.Samples["latency.p50"])
	}
}

func TestCompareFigures(t *testing.T) {
	// Summaries without Samples (a single run each) are compared on their figures.
	base := run(nil)
	base.Figures.Latency.P99, base.Figures.HitRate.Tier, base.Figures.DBQueries.PerRequest = 10, 0.9, 1.0
	cur := run(nil)
	cur.Figures.Latency.P99, cur.Figures.HitRate.Tier, cur.Figures.DBQueries.PerRequest = 20, 0.7, 1.0
	cur.Figures.Errors = 2
	res, err := Compare(base, cur, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Verdict{
		"latency.p99":            TooFewSamples,  // +100%, but one sample a side: a warning
		"hit_rate.tier":          Regression,     // −20 points, judged on value
		"db_queries.per_request": NotSignificant, // unchanged
		"errors":                 Regression,     // 0 → 2, strict
		"speedup.p50":            "",             // neither run has both modes: no row
	}
	got := map[string]Verdict{}
	for _, r := range res.Rows {
		got[r.Metric] = r.Verdict
	}
	for m, v := range want {
		if got[m] != v {
			t.Errorf("%s: verdict %q, want %q", m, got[m], v)
		}
	}
	if !res.Regressed() {
		t.Error("Regressed() = false with a hit-rate drop and new errors")
	}
	if c := res.Conclusion(); !strings.HasPrefix(c, "FAIL: 2 regressions: hit_rate.tier -20.0 pts") || !strings.Contains(c, "errors 0 → 2 (strict") {
		t.Errorf("Conclusion() = %q", c)
	}
}

func TestIncompatible(t *testing.T) {
	tests := []struct {
		change func(s *summary.Summary)
		fields []string // the fields the error names
	}{
		// Another scenario.
		{func(s *summary.Summary) { s.Scenario = "mixed" }, []string{"scenario"}},
		// Another cache config.
		{func(s *summary.Summary) { s.Config = "production" }, []string{"config"}},
		// The other mode's figures on top.
		{func(s *summary.Summary) { s.Figures.Mode = "nocache" }, []string{"mode"}},
		// Another Redis backend.
		{func(s *summary.Summary) { s.Env.RedisBackend = "embedded" }, []string{"env.redis_backend"}},
		// Another database.
		{func(s *summary.Summary) { s.Env.DB = "postgres" }, []string{"env.db"}},
		// Another machine size.
		{func(s *summary.Summary) { s.Env.CPUs = 8 }, []string{"env.cpus"}},
		// Several at once are all named.
		{func(s *summary.Summary) { s.Config, s.Env.CPUs = "none", 16 }, []string{"config", "env.cpus"}},
	}
	for _, tt := range tests {
		cur := run(map[string][]float64{"errors": {0}})
		tt.change(cur)
		_, err := Compare(run(map[string][]float64{"errors": {0}}), cur, Options{})
		if !errors.Is(err, ErrIncompatible) {
			t.Errorf("%v: error %v, want ErrIncompatible", tt.fields, err)
			continue
		}
		var ie *IncompatibleError
		if !errors.As(err, &ie) {
			t.Fatalf("%v: not an *IncompatibleError: %T", tt.fields, err)
		}
		var got []string
		for _, d := range ie.Diffs {
			got = append(got, d.Field)
			if !strings.Contains(err.Error(), d.Field+" is ") {
				t.Errorf("message %q does not name %s", err, d.Field)
			}
		}
		if !slices.Equal(got, tt.fields) {
			t.Errorf("diffs %v, want %v", got, tt.fields)
		}
	}
	// Git commit, OS and Go version may differ: that is what a baseline is compared across.
	cur := run(map[string][]float64{"errors": {0}})
	cur.Env.Git, cur.Env.Go, cur.Env.OS = "abc", "go1.27", "darwin"
	if _, err := Compare(run(map[string][]float64{"errors": {0}}), cur, Options{}); err != nil {
		t.Errorf("a new commit is incompatible: %v", err)
	}
	if _, err := Compare(nil, cur, Options{}); !errors.Is(err, ErrNoBaseline) {
		t.Errorf("no baseline: %v, want ErrNoBaseline", err)
	}
	_, err := Compare(cur, cur, Options{Alpha: 2, Tolerances: map[string]float64{"latency": -1}})
	if err == nil || errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "alpha 2") || !strings.Contains(err.Error(), `tolerance "latency" = -1`) {
		t.Errorf("bad options: %v", err)
	}
}

func TestTolerance(t *testing.T) {
	o, err := Options{Tolerances: map[string]float64{"latency.p99": 0.3, "phases": 0.5}}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		metric string
		want   float64
	}{
		// The family default.
		{"latency.p50", 0.10},
		// An exact override.
		{"latency.p99", 0.3},
		// The override applies to the no-cache figure too.
		{"nocache.latency.p99", 0.3},
		// An endpoint's latency falls back to the latency family.
		{`by_endpoint["GET /x"].p99`, 0.10},
		// A prefix with a bracket.
		{`phases["redis-down"].errors`, 0.5},
		// Ratios: absolute points.
		{"hit_rate.tier", 0.02},
		{"hit_rate_headers.tier", 0.02},
		// DB queries.
		{"db_queries.per_request", 0.05},
		// Strict counts.
		{"isolation_violations", 0},
		// Unknown: the catch-all.
		{"requests", defaultTolerance},
	}
	for _, tt := range tests {
		if got := o.tolerance(tt.metric, classify(tt.metric).family); got != tt.want {
			t.Errorf("tolerance(%s) = %v, want %v", tt.metric, got, tt.want)
		}
	}
}

func TestParseTolerance(t *testing.T) {
	tests := []struct {
		in     string
		prefix string
		value  float64
		err    bool
	}{
		// A percentage.
		{"latency=20%", "latency", 0.20, false},
		// A fraction.
		{"latency.p99=0.15", "latency.p99", 0.15, false},
		// Points of a ratio.
		{"hit_rate=3pts", "hit_rate", 0.03, false},
		{"hit_rate = 1 pt", "hit_rate", 0.01, false},
		// A count.
		{"errors=2", "errors", 2, false},
		// Missing parts and bad numbers.
		{"latency", "", 0, true},
		{"=5%", "", 0, true},
		{"latency=", "", 0, true},
		{"latency=-5%", "", 0, true},
		{"latency=NaN", "", 0, true},
		{"latency=lots", "", 0, true},
	}
	for _, tt := range tests {
		p, v, err := ParseTolerance(tt.in)
		if (err != nil) != tt.err || p != tt.prefix || (v-tt.value) > 1e-12 || (tt.value-v) > 1e-12 {
			t.Errorf("ParseTolerance(%q) = %q, %v, %v", tt.in, p, v, err)
		}
	}
}

func TestMinP(t *testing.T) {
	tests := []struct {
		n1, n2  int
		tooFew  bool // at alpha 0.05
		comment string
	}{
		{1, 1, true, "one sample a side"},
		{3, 3, true, "benchmath's own limit: need >= 4"},
		{4, 4, false, "four a side: min p = 0.029"},
		{3, 10, false, "unbalanced but enough: min p = 0.007"},
		{1, 39, true, "one against 39: min p = 0.05, not below"},
		{1, 40, false, "one against 40: min p = 0.049"},
	}
	for _, tt := range tests {
		if got := stats.MinP(tt.n1, tt.n2) >= 0.05; got != tt.tooFew {
			t.Errorf("%s: stats.MinP(%d, %d) = %v", tt.comment, tt.n1, tt.n2, stats.MinP(tt.n1, tt.n2))
		}
	}
	if n := stats.SamplesNeeded(0.05); n != 4 {
		t.Errorf("stats.SamplesNeeded(0.05) = %d, want 4", n)
	}
}

func TestWriteGolden(t *testing.T) {
	base := run(map[string][]float64{
		"hit_rate.tier":          hit90,
		"hit_rate.overall":       {0.7, 0.71, 0.69, 0.7, 0.7, 0.705, 0.695, 0.7},
		"db_queries.per_request": {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
		"latency.p50":            noisyA,
		"latency.p99":            tight10,
		"nocache.latency.p99":    {40, 41, 39, 40, 40.5, 39.5, 40, 40},
		"errors":                 {0, 0, 0, 0, 0, 0, 0, 0},
		"isolation_violations":   {0, 0, 0, 0, 0, 0, 0, 0},
		"stale_reads":            {0, 0, 0, 0, 0, 0, 0, 0},
		"speedup.p50":            {5, 5.1, 4.9, 5, 5.05, 4.95, 5, 5},
	})
	base.Env.Git = "0123456789abcdef"
	cur := run(map[string][]float64{
		"hit_rate.tier":          hit895,
		"hit_rate.overall":       {0.75, 0.76, 0.74, 0.75, 0.75, 0.755, 0.745, 0.75},
		"db_queries.per_request": {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
		"latency.p50":            noisyB,
		"latency.p99":            tight13,
		"nocache.latency.p99":    {40, 41, 39, 40, 40.5, 39.5, 40},
		"errors":                 {0, 0, 0, 2, 0, 0, 0, 0},
		"isolation_violations":   {0, 0, 0, 0, 0, 0, 0, 0},
		"stale_reads":            {0, 0, 0, 0, 0, 0, 0, 0},
		"service_time.p99":       {9, 9.1, 8.9},
	})
	cur.Env.Git = "fedcba9876543210"
	cur.Notes = []summary.Note{{Kind: summary.NoteRedis, Text: "embedded Redis (miniredis): latencies not representative"}}
	pass := run(map[string][]float64{"latency.p99": tight10[:3], "hit_rate.tier": hit90[:3], "errors": {0, 0, 0}})
	passCur := run(map[string][]float64{"latency.p99": tight13[:3], "hit_rate.tier": hit895[:3], "errors": {0, 0, 0}})

	var b bytes.Buffer
	for _, pair := range [][2]*summary.Summary{{base, cur}, {pass, passCur}} {
		res, err := Compare(pair[0], pair[1], Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Write(&b); err != nil {
			t.Fatal(err)
		}
		b.WriteString("----\n")
	}
	checkGolden(t, "table.golden", b.Bytes())
}

// checkGolden compares got with testdata/name (go test -update rewrites it).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("Write output differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

// TestSaturatedLatencyInconclusive: a latency regression is INCONCLUSIVE when either run's
// load generator was saturated; a count regression still fails; too few samples stay a
// warning.
func TestSaturatedLatencyInconclusive(t *testing.T) {
	six := func(v float64) []float64 { return []float64{v, v * 1.01, v * 0.99, v * 1.02, v * 0.98, v} }
	mk := func(p99 float64, errs float64, why string) *summary.Summary {
		return &summary.Summary{Scenario: "s", Config: "default", Mode: summary.ModeCache, Inconclusive: why,
			Figures: summary.Figures{Mode: summary.ModeCache}, Count: 6,
			Samples: map[string][]float64{"latency.p99": six(p99), "errors": six(errs), "service_time.p50": {1}}}
	}
	verdicts := func(r *Result) map[string]Verdict {
		out := map[string]Verdict{}
		for _, row := range r.Rows {
			out[row.Metric] = row.Verdict
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		base, cur  *summary.Summary
		latency    Verdict
		regressed  bool
		incomplete bool
	}{
		{"calm: judged", mk(10, 0, ""), mk(20, 0, ""), Regression, true, false},
		{"saturated run", mk(10, 0, ""), mk(20, 0, "saturated"), Inconclusive, false, true},
		{"saturated baseline", mk(10, 0, "saturated"), mk(20, 0, ""), Inconclusive, false, true},
		{"a count still fails", mk(10, 0, ""), mk(20, 2, "saturated"), Inconclusive, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Compare(tc.base, tc.cur, Options{})
			if err != nil {
				t.Fatal(err)
			}
			v := verdicts(r)
			if v["latency.p99"] != tc.latency || r.Regressed() != tc.regressed || r.Inconclusive() != tc.incomplete {
				t.Fatalf("latency %s, regressed %v, inconclusive %v; rows %v", v["latency.p99"], r.Regressed(), r.Inconclusive(), v)
			}
			if v["service_time.p50"] != Missing && v["service_time.p50"] != TooFewSamples {
				t.Errorf("service_time.p50: %s, want it left unjudged", v["service_time.p50"])
			}
			if tc.incomplete && !tc.regressed && !strings.HasPrefix(r.Conclusion(), "INCONCLUSIVE: ") {
				t.Errorf("conclusion %q", r.Conclusion())
			}
		})
	}
}
