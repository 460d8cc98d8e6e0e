package report

import (
	"math"
	"testing"

	"gonum.org/v1/plot/plotter"

	"github.com/atlasbench/atlasbench/internal/render"
)

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ms below 1 keeps 3 significant digits", ms(0.4234), "0.423"},
		{"ms tiny", ms(0.04234), "0.0423"},
		{"ms single digit", ms(4.266), "4.27"},
		{"ms tens", ms(42.66), "42.7"},
		{"ms hundreds round to integers", ms(426.6), "427"},
		{"ms thousands are not rounded away", ms(4266.4), "4266"},
		{"ms zero", ms(0), "0"},
		{"ms keeps trailing zeros for even columns", ms(2.5), "2.50"},
		{"ms NaN is a dash", ms(math.NaN()), dash},
		{"ms with unit", msUnit(27.5), "27.5 ms"},
		{"percent one decimal", pct(0.8123), "81.2%"},
		{"percent whole", pct(1), "100.0%"},
		{"percent zero", pct(0), "0.0%"},
		{"percent just under 100 is not rounded up", pct(0.99983), "99.98%"},
		{"percent very close to 100", pct(0.999996), "99.9996%"},
		{"percent just over 0 is not rounded down", pct(0.0002), "0.02%"},
		{"count separators", count(int64(1234567)), "1,234,567"},
		{"count small", count(int64(999)), "999"},
		{"count negative", count(-1234), "-1,234"},
		{"count uint64", count(uint64(30960)), "30,960"},
		{"num integral", num(3), "3"},
		{"num fraction", num(0.7123), "0.712"},
		{"rps below 1000", rps(299.96), "300.0"},
		{"rps above 1000", rps(12345.6), "12,346"},
		{"times", times(9.421), "9.42×"},
		// One format per kind of figure: an efficiency of 1 and one of 0.97 in one table.
		{"efficiency of 1 keeps two decimals", efficiency(1), "1.00"},
		{"efficiency below 1", efficiency(0.9712), "0.97"},
		{"seconds whole", seconds(20), "20"},
		{"seconds one decimal", seconds(4.25), "4.3"},
		{"faster", faster(3.87), "3.87× faster"},
		{"slower is inverted", faster(0.8), "1.25× slower"},
		{"no speed-up", faster(0), dash},
		{"fewer queries", reduction(0.5872), "58.7% fewer"},
		{"more queries", reduction(-0.1), "10.0% more"},
		{"threshold latency in ms", thresholdValue("latency.p99 <= 50ms", 27.5), "27.5 ms"},
		{"threshold service time in ms", thresholdValue("service_time.p50<5ms", 1.2), "1.20 ms"},
		{"threshold hit rate as percent", thresholdValue("hit_rate.tier >= 0.80", 0.8123), "81.2%"},
		{"threshold reduction as percent", thresholdValue("db_query_reduction >= 40%", 0.4), "40.0%"},
		{"threshold speed-up as factor", thresholdValue("speedup.p50 >= 2", 3.5), "3.50×"},
		{"threshold count", thresholdValue("errors == 0", 3), "3"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestMarkdownEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"pipes and emphasis in text", render.MarkdownText("a|b *c* _d_"), `a\|b \*c\* \_d\_`},
		{"html in text", render.MarkdownText("<script>"), `\<script\>`},
		{"newlines in text", render.MarkdownText("a\nb"), "a b"},
		{"code span", mdCode("x | y"), "`x \\| y`"},
		{"code span with a backtick", mdCode("a`b"), "``a`b``"},
		{"code span starting with a backtick", mdCode("`a"), "`` `a ``"},
		{"dash is not code", mdCode(dash), dash},
		{"row", mdRow("lm", []string{"a", "b"}), "| a | `b` |"},
		{"rule", mdRule("lrcm"), "|---|---:|:---:|---|"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestSplitAtGaps: samples every 2 s with two missing (Redis down) become two runs, so the
// chart draws no line where nothing was measured; steady samples stay one run.
func TestSplitAtGaps(t *testing.T) {
	t.Parallel()
	pts := plotter.XYs{{X: 0}, {X: 2}, {X: 4}, {X: 10}, {X: 12}, {X: 14}}
	runs := splitAtGaps(pts)
	if len(runs) != 2 || len(runs[0]) != 3 || runs[1][0].X != 10 {
		t.Errorf("splitAtGaps = %v, want [0 2 4] and [10 12 14]", runs)
	}
	if runs := splitAtGaps(plotter.XYs{{X: 0}, {X: 2.1}, {X: 3.9}, {X: 6}}); len(runs) != 1 {
		t.Errorf("steady samples split into %d runs", len(runs))
	}
}
