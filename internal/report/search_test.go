package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// searchSummary is a run of both modes with a capacity search: the cache held 400 rps and
// missed at 450, no cache held 100 and missed at 125.
func searchSummary() *summary.Summary {
	s := sampleSummary()
	steps := func(held float64, offered ...float64) []summary.SearchStep {
		var out []summary.SearchStep
		for _, o := range offered {
			st := summary.SearchStep{OfferedRPS: o, AchievedRPS: min(o, held*1.05), Requests: int64(o * 4), P50MS: 2 + o/held, P99MS: 10 * o / held,
				LagP99MS: 1, HarnessCPU: o / 2000, Held: o <= held,
				Resources: &summary.StepResources{CPU: map[string]float64{"harness": o / 2000, "server-1": o / 500, "redis": o / 5000}, MachineBusy: o / held * 0.8}}
			if !st.Held {
				st.Why = "p99 too high"
			}
			out = append(out, st)
		}
		return out
	}
	s.CapacitySearch = &summary.CapacitySearch{SLO: "latency.p99 <= 50ms", SLOMS: 50, RPSHeld: 400, RPSMissed: 450, Stopped: "narrowed", Cores: 2,
		Steps:      steps(400, 100, 200, 400, 800, 600, 500, 450),
		Bottleneck: &summary.Bottleneck{Resource: "server-1", AtRPS: 800, Rule: "the rule", Evidence: []string{"server-1 used 1.6 of 2 cores at 800 rps"}}}
	s.NoCache.CapacitySearch = &summary.CapacitySearch{SLO: "latency.p99 <= 50ms", SLOMS: 50, RPSHeld: 100, RPSMissed: 125, Stopped: "narrowed", Cores: 2,
		Steps:      steps(100, 100, 200, 150, 125),
		Bottleneck: &summary.Bottleneck{Resource: "none", AtRPS: 200, Rule: "the rule", Evidence: []string{"no resource reached its mark"}}}
	r := summary.CapacityRatio(&s.Figures, s.NoCache)
	s.CapacityRatio = r
	return s
}

func TestRenderCapacitySearch(t *testing.T) {
	t.Parallel()
	s := searchSummary()
	if s.CapacityRatio == nil || *s.CapacityRatio != 4 {
		t.Fatalf("capacity ratio %v, want 4", s.CapacityRatio)
	}
	dir := renderRun(t, s)
	if *look != "" {
		lookAt(t, "search", s)
	}
	for _, name := range SearchCharts() {
		checkPNG(t, name, []byte(readFile(t, filepath.Join(dir, name))))
	}
	md := readFile(t, filepath.Join(dir, MarkdownFile))
	for _, want := range []string{
		"## Capacity",
		"held 400 rps within the SLO (latency.p99 \\<= 50ms, no errors, the offered rate achieved) and missed it at 450 rps; the first resource to saturate was server-1 (at 800 rps)",
		"The cache multiplies capacity by 4.00 (400 rps held with it, 100 without).",
		"Bottleneck (cache): server-1 — server-1 used 1.6 of 2 cores at 800 rps",
		"## Capacity search steps (cache)", "## Capacity search steps (no cache)",
		"| 450.0 |", "missed: p99 too high",
		"(capacity-latency.png)", "(capacity-throughput.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// The capacity line carries the Redis bytes per cached user when the run measured them.
	if s.Capacity != nil && !strings.Contains(md, "bytes per cached user, extrapolated to") {
		t.Errorf("the capacity line lacks the bytes per cached user")
	}
	var text strings.Builder
	if err := WriteText(&text, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"held 400 rps within the SLO", "multiplies capacity by 4.00", "Bottleneck (no cache): none", "The knee: capacity-latency.png and capacity-throughput.png"} {
		if !strings.Contains(strings.Join(strings.Fields(text.String()), " "), want) {
			t.Errorf("terminal output lacks %q:\n%s", want, text.String())
		}
	}

	// A run without a search in the same directory: the knee charts go.
	if err := Render(dir, sampleSummary()); err != nil {
		t.Fatal(err)
	}
	for _, name := range SearchCharts() {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s left behind for a run without a capacity search", name)
		}
	}
}

// A mode that held the search's top rate has a capacity of at least that: the multiple is a
// bound then, and not known when both modes held it.
func TestCapacityRatioAtTheTopRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                  string
		cacheMissed, noMissed float64
		want                  string
	}{
		{"both missed", 450, 125, "The cache multiplies capacity by 4.00 (400 rps held with it, 100 without)."},
		{"the cache held the top", 0, 125, "The cache multiplies capacity by at least 4.00 (400 rps held with it, 100 without; with the cache it held the search's top rate)."},
		{"no cache held the top", 450, 0, "The cache multiplies capacity by at most 4.00 (400 rps held with it, 100 without; without the cache it held the search's top rate)."},
		{"both held the top", 0, 0, "What the cache multiplies capacity by is not known: both modes held the search's top rate (400 rps); raise its to."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := searchSummary()
			s.CapacitySearch.RPSMissed, s.NoCache.CapacitySearch.RPSMissed = tc.cacheMissed, tc.noMissed
			got := strings.Join(capacityLines(s), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("capacity lines:\n%s\nwant %q", got, tc.want)
			}
		})
	}
}
