package compare

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/stats"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

// The files Render writes into its directory.
const (
	MarkdownFile   = "compare.md"
	HTMLFile       = "compare.html"
	ChartHitRate   = "compare-hit-rate.png"
	ChartLatency   = "compare-latency.png"
	ChartDBQueries = "compare-db-queries.png"
	ChartFallback  = "compare-fallback.png"
)

// significanceLvl is the alpha of the marks.
const significanceLvl = stats.DefaultAlpha

// Run is one configuration's result.
type Run struct {
	// Config names the configuration in the table and the charts ("default", a file name).
	Config string
	// Summary is the run's summary; its Samples (one value per repeat) feed the
	// significance marks, its figures the rest.
	Summary *summary.Summary
}

// Table is the comparison as Render built it.
type Table struct {
	Scenario string
	Configs  []string // column order; the first is the reference for deltas and marks
	Counts   []int    // repeats per config
	Rows     []Row
	// Recommendation is one line naming the best configuration and its trade-off.
	Recommendation string
	// Notes are caveats from the runs (embedded Redis, interrupted runs).
	Notes  []string
	Env    string
	Charts []Chart
}

// Row is one figure across the configurations.
type Row struct {
	Metric string // the summary path, e.g. "hit_rate.tier"
	Label  string // what a person reads, e.g. "tier hit rate"
	Cells  []Cell // one per config, in Table.Configs order
}

// Cell is one configuration's value of a row's figure.
type Cell struct {
	Present bool
	Value   float64 // the median of the repeats (or the figure, without samples)
	N       int     // repeats behind Value
	Text    string  // Value formatted: "82.1%", "12.3ms", "0.41"
	// Delta and Mark compare with the first config (empty in its own column): the change
	// ("+6.1 pts", "−18%", "2.4×") and "*" significant, "~" not significant, "?" too few
	// samples to test. Figures the runs did not keep per repeat (phases) have no mark.
	Delta string
	Mark  string
	P     float64 // the Mann-Whitney U p-value behind Mark; NaN without a test
}

// Chart is one PNG Render drew, or skipped with the reason.
type Chart struct {
	File    string
	Title   string
	Skipped string
	png     []byte
}

// Marks.
const (
	MarkSignificant    = "*"
	MarkNotSignificant = "~"
	MarkTooFew         = "?"
)

// Render builds the comparison of runs (one scenario, one run per configuration, the
// reference first) and writes compare.md, compare.html and the charts into dir, which must
// exist. A chart without data (the fallback chart when no run had a fault phase) is skipped
// and an old copy removed; only bad input and failing to write are errors.
func Render(dir string, runs []Run) (*Table, error) {
	if err := validate(runs); err != nil {
		return nil, err
	}
	t := build(runs)
	t.Charts = drawCharts(t, runs)
	var files []render.File
	for _, c := range t.Charts {
		files = append(files, render.File{Name: c.File, Data: c.png})
	}
	files = append(files, render.File{Name: MarkdownFile, Write: t.writeMarkdown}, render.File{Name: HTMLFile, Write: t.writeHTML})
	if err := render.WriteFiles(dir, files); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	return t, nil
}

// validate reports every problem with the runs at once.
func validate(runs []Run) error {
	if len(runs) == 0 {
		return errors.New("compare: no runs")
	}
	var errs []error
	seen := map[string]bool{}
	scenario := ""
	for i, r := range runs {
		switch {
		case r.Config == "":
			errs = append(errs, fmt.Errorf("compare: run %d: no config name", i+1))
		case seen[r.Config]:
			errs = append(errs, fmt.Errorf("compare: run %d: config %q appears twice", i+1, r.Config))
		}
		seen[r.Config] = true
		if r.Summary == nil {
			errs = append(errs, fmt.Errorf("compare: run %d (%s): no summary", i+1, r.Config))
			continue
		}
		if scenario == "" {
			scenario = r.Summary.Scenario
		} else if r.Summary.Scenario != scenario {
			errs = append(errs, fmt.Errorf("compare: run %d (%s): scenario %q, but %s ran %q: compare one scenario across configs",
				i+1, r.Config, r.Summary.Scenario, runs[0].Config, scenario))
		}
	}
	return errors.Join(errs...)
}

// rowSpec is a figure the table may show.
type rowSpec struct {
	metric, label string
}

// rowSpecs lists the table's rows for these runs: the key gated metrics (a row no run has,
// such as the both-mode effects, is dropped), and p99 and errors of each fault phase.
func rowSpecs(runs []Run) []rowSpec {
	var specs []rowSpec
	for _, m := range summary.GatedMetrics() {
		if m.Key {
			specs = append(specs, rowSpec{m.Path, m.Label})
		}
	}
	specs = append(specs, clientCacheRows(runs)...)
	for _, name := range faultPhases(runs) {
		q := "[" + strconv.Quote(name) + "]"
		specs = append(specs,
			rowSpec{"phases" + q + ".latency.p99", name + ": p99 latency"},
			rowSpec{"phases" + q + ".errors", name + ": errors"})
	}
	return specs
}

// faultPhases lists the names of the phases that are neither steady nor recovery, in the
// order the runs first have them.
func faultPhases(runs []Run) []string {
	var names []string
	for _, r := range runs {
		for _, p := range r.Summary.Phases {
			if summary.IsFaultPhase(p.Name) && !slices.Contains(names, p.Name) {
				names = append(names, p.Name)
			}
		}
	}
	return names
}

// build computes the table and the recommendation.
func build(runs []Run) *Table {
	t := &Table{Scenario: runs[0].Summary.Scenario, Env: runs[0].Summary.Env.String()}
	for _, r := range runs {
		t.Configs = append(t.Configs, r.Config)
		t.Counts = append(t.Counts, max(r.Summary.Count, 1))
		for _, n := range r.Summary.Notes {
			if note := r.Config + ": " + n.String(); !slices.Contains(t.Notes, note) {
				t.Notes = append(t.Notes, note)
			}
		}
		if r.Summary.Interrupted {
			t.Notes = append(t.Notes, r.Config+": the run was interrupted; its figures cover only part of the scenario")
		}
	}
	for _, sp := range rowSpecs(runs) {
		row := Row{Metric: sp.metric, Label: sp.label}
		var ref []float64
		refSampled := false
		for i, r := range runs {
			vals := threshold.Values(r.Summary, sp.metric)
			sampled := len(r.Summary.Samples[sp.metric]) > 0
			c := Cell{P: math.NaN()}
			if len(vals) > 0 {
				st := stats.Summarize(vals, stats.DefaultConfidence)
				c.Present, c.Value, c.N = true, st.Center, st.N
				c.Text = formatValue(sp.metric, st.Center)
			}
			if i == 0 {
				ref, refSampled = vals, sampled
			} else if c.Present && len(ref) > 0 {
				c.Delta = formatDelta(sp.metric, row.Cells[0].Value, c.Value)
			}
			if i > 0 && c.Present && len(ref) > 0 && sampled && refSampled {
				// Only figures kept per repeat are tested; a single figure (a phase's) gets no mark.
				test := stats.Significance(ref, vals, significanceLvl)
				c.P = test.P
				switch {
				case test.Significant:
					c.Mark = MarkSignificant
				case test.TooFew:
					c.Mark = MarkTooFew
				default:
					c.Mark = MarkNotSignificant
				}
			}
			row.Cells = append(row.Cells, c)
		}
		if slices.ContainsFunc(row.Cells, func(c Cell) bool { return c.Present }) {
			t.Rows = append(t.Rows, row)
		}
	}
	t.Recommendation = recommend(runs, t)
	return t
}

// cell returns config's cell of metric.
func (t *Table) cell(config, metric string) (Cell, bool) {
	ci := slices.Index(t.Configs, config)
	if ci < 0 {
		return Cell{}, false
	}
	for _, r := range t.Rows {
		if r.Metric == metric && r.Cells[ci].Present {
			return r.Cells[ci], true
		}
	}
	return Cell{}, false
}

// Value returns the table's value of metric for config, and whether it has one.
func (t *Table) Value(config, metric string) (float64, bool) {
	c, ok := t.cell(config, metric)
	return c.Value, ok
}
