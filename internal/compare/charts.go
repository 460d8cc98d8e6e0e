package compare

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// configColors gives each configuration its bar colour (render.Cycle in config order); a
// disabled cache is drawn grey whatever its position.
func configColors(runs []Run) []color.Color {
	out := make([]color.Color, len(runs))
	n := 0
	for i, r := range runs {
		c := cacheOf(r)
		if c != nil && !c.Enabled || r.Summary.Figures.Mode == summary.ModeNoCache {
			out[i] = render.LightGrey
			continue
		}
		out[i] = render.Cycle(n)
		n++
	}
	return out
}

// panel is one bar chart: groups along x, one bar per configuration in each group.
type panel struct {
	yLabel string
	groups []string
	values [][]float64 // [config][group]; NaN: no bar ("n/a")
	format func(float64) string
	yMax   float64 // fixed top of the value range (100 for percentages); 0: from the data
	ticks  plot.Ticker
	counts bool   // whole numbers: integer ticks only
	empty  string // said across the panel when every value is 0
}

// figure is a titled image of one or more panels side by side with one legend of configs.
type figure struct {
	title   string
	configs []string
	colors  []color.Color
	panels  []panel
}

// drawCharts draws the four charts of the comparison.
func drawCharts(t *Table, runs []Run) []Chart {
	colors := configColors(runs)
	specs := []struct {
		file, title string
		build       func() (*figure, string)
	}{
		{ChartHitRate, "Hit rate per class", func() (*figure, string) { return hitRateFigure(t) }},
		{ChartLatency, "Latency", func() (*figure, string) { return latencyFigure(t) }},
		{ChartDBQueries, "DB queries per request", func() (*figure, string) { return dbFigure(t, runs) }},
		{ChartFallback, "Fault phases: p99 latency and errors", func() (*figure, string) { return fallbackFigure(t, runs) }},
	}
	var out []Chart
	for _, sp := range specs {
		c := Chart{File: sp.file, Title: sp.title}
		f, why := sp.build()
		if f == nil {
			c.Skipped = why
			out = append(out, c)
			continue
		}
		f.title = sp.title + " — " + t.Scenario
		f.configs, f.colors = t.Configs, colors
		png, err := f.png()
		if err != nil {
			c.Skipped = "drawing failed: " + err.Error()
		}
		c.png = png
		out = append(out, c)
	}
	return out
}

// values reads one table figure per config and group; scale multiplies (100 for percent).
func values(t *Table, metrics []string, scale float64) [][]float64 {
	out := make([][]float64, len(t.Configs))
	for ci, cfg := range t.Configs {
		for _, m := range metrics {
			v, ok := t.Value(cfg, m)
			if !ok {
				v = math.NaN()
			}
			out[ci] = append(out[ci], v*scale)
		}
	}
	return out
}

func hasData(vs [][]float64) bool {
	for _, row := range vs {
		for _, v := range row {
			if !math.IsNaN(v) {
				return true
			}
		}
	}
	return false
}

func hitRateFigure(t *Table) (*figure, string) {
	classes := summary.HitRateClasses()
	var ms []string
	for _, c := range classes {
		ms = append(ms, "hit_rate."+c)
	}
	vs := values(t, ms, 100)
	if !hasData(vs) {
		return nil, "no run has hit rates"
	}
	return &figure{panels: []panel{{
		yLabel: "hit rate (%)", groups: classes, values: vs, yMax: 100,
		format: func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "%" },
		ticks:  plot.ConstantTicks(render.PercentTicks()),
	}}}, ""
}

func latencyFigure(t *Table) (*figure, string) {
	vs := values(t, []string{"latency.p50", "latency.p99"}, 1)
	if !hasData(vs) {
		return nil, "no run has latency figures"
	}
	return &figure{panels: []panel{{
		yLabel: "latency (ms)", groups: []string{"p50", "p99"}, values: vs,
		format: func(v float64) string { return sig3(v) + " ms" },
	}}}, ""
}

// dbFigure: DB queries per request, in total and per class (the classes any run queried).
func dbFigure(t *Table, runs []Run) (*figure, string) {
	groups := []string{"total"}
	vs := values(t, []string{"db_queries.per_request"}, 1)
	classes := summary.QueryClasses()
	for _, r := range runs {
		for c := range r.Summary.DBQueries.ByClass {
			if !slices.Contains(classes, c) {
				classes = append(classes, c)
			}
		}
	}
	for _, class := range classes {
		col := make([]float64, len(runs))
		used := false
		for i, r := range runs {
			f := r.Summary.Figures
			col[i] = math.NaN()
			if f.Requests > 0 && f.DBQueries.ByClass != nil {
				col[i] = float64(f.DBQueries.ByClass[class]) / float64(f.Requests)
				used = used || col[i] > 0
			}
		}
		if !used {
			continue
		}
		groups = append(groups, class)
		for i := range vs {
			vs[i] = append(vs[i], col[i])
		}
	}
	if !hasData(vs) {
		return nil, "no run has DB query figures"
	}
	return &figure{panels: []panel{{
		yLabel: "DB queries per request", groups: groups, values: vs,
		// Two decimals keep the labels as narrow as the bars; the table has the exact figures.
		format: func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
	}}}, ""
}

// fallbackFigure: p99 latency and errors of each fault phase, steady state for reference.
func fallbackFigure(t *Table, runs []Run) (*figure, string) {
	faults := faultPhases(runs)
	if len(faults) == 0 {
		return nil, "no run had a fault phase"
	}
	groups := append([]string{summary.PhaseSteady}, faults...)
	lat := make([][]float64, len(runs))
	errs := make([][]float64, len(runs))
	for i, r := range runs {
		for _, g := range groups {
			p99, n, ok := phaseFigures(r.Summary.Phases, g)
			if !ok {
				p99, n = math.NaN(), math.NaN()
			}
			lat[i] = append(lat[i], p99)
			errs[i] = append(errs[i], n)
		}
	}
	return &figure{panels: []panel{
		{yLabel: "p99 latency (ms)", groups: groups, values: lat, format: sig3},
		{yLabel: "errors (requests)", groups: groups, values: errs, counts: true, empty: "no errors in any phase",
			format: func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }},
	}}, ""
}

// phaseFigures sums a phase's errors and takes its worst p99 over every window of that name.
func phaseFigures(ps []summary.Phase, name string) (p99, errs float64, ok bool) {
	for _, p := range ps {
		if p.Name != name {
			continue
		}
		p99, errs, ok = max(p99, p.Latency.P99), errs+float64(p.Errors), true
	}
	return p99, errs, ok
}

// png lays the figure out: the title across the top, the panels side by side, and the
// legend in a column on the right where it cannot cover a bar.
func (f *figure) png() ([]byte, error) {
	page := render.NewPage(f.title)
	var legend []render.LegendEntry
	for i, name := range f.configs {
		legend = append(legend, render.LegendEntry{Label: name, Thumb: swatch{f.colors[i]}})
	}
	area := page.Legend(legend, 11, vg.Points(18))

	n := len(f.panels)
	gap := vg.Points(24)
	pw := (area.Size().X - gap*vg.Length(n-1)) / vg.Length(n)
	for i, p := range f.panels {
		left := vg.Length(i) * (pw + gap)
		c := draw.Crop(area, left, -(area.Size().X - left - pw), 0, 0)
		if err := f.drawPanel(c, p); err != nil {
			return nil, err
		}
	}
	return page.PNG()
}

// drawPanel draws one grouped bar chart into c.
func (f *figure) drawPanel(c draw.Canvas, pn panel) error {
	p := plot.New()
	render.StyleAxes(p, 11, 11)
	p.Y.Label.Text = pn.yLabel
	p.Add(render.Grid(false))
	p.NominalX(pn.groups...)
	p.X.Min, p.X.Max = -0.5, float64(len(pn.groups))-0.5

	top := pn.yMax
	if top == 0 {
		for _, row := range pn.values {
			for _, v := range row {
				if !math.IsNaN(v) {
					top = max(top, v)
				}
			}
		}
	}
	allZero := top == 0
	if allZero {
		top = 1
	}
	if pn.counts {
		top = max(top, 5)
	}
	p.Y.Min, p.Y.Max = 0, top*1.12 // room for the value labels above the tallest bar
	if pn.ticks != nil {
		p.Y.Tick.Marker = pn.ticks
	} else {
		p.Y.Tick.Marker = niceTicks{top: top, integer: pn.counts}
	}

	data := p.DataCanvas(c)
	groupW := data.Size().X / vg.Length(len(pn.groups))
	nc := len(f.configs)
	barW := min(groupW*0.85/vg.Length(nc), vg.Points(60))
	lstyle := render.ValueLabelStyle()
	// Labels side by side when every one fits its bar, else all upright: mixed looks broken.
	upright := false
	for _, row := range pn.values {
		for _, v := range row {
			if !math.IsNaN(v) && lstyle.Width(pn.format(v)) > barW-vg.Points(2) {
				upright = true
			}
		}
	}
	if upright {
		lstyle.Rotation = math.Pi / 2
		lstyle.XAlign, lstyle.YAlign = draw.XLeft, draw.YCenter
	}
	for ci := range nc {
		vals := make(plotter.Values, len(pn.groups))
		for gi := range pn.groups {
			if v := pn.values[ci][gi]; !math.IsNaN(v) {
				vals[gi] = v
			}
		}
		bc, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return fmt.Errorf("bars of %s: %w", f.configs[ci], err)
		}
		bc.Offset = (vg.Length(ci) - vg.Length(nc-1)/2) * barW
		bc.Color = f.colors[ci]
		bc.LineStyle.Width = 0
		p.Add(bc, &render.ValueLabels{Values: pn.values[ci], Offset: bc.Offset, Format: pn.format, Style: lstyle})
	}
	p.Draw(c)
	if allZero && pn.empty != "" {
		st := text.Style{Color: color.NRGBA{R: 90, G: 90, B: 90, A: 255}, Font: render.Font(13),
			XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
		data = p.DataCanvas(c)
		data.FillText(st, data.Center(), pn.empty)
	}
	return nil
}

// swatch is a legend thumbnail: a filled square of the config's colour.
type swatch struct{ c color.Color }

// Thumbnail implements plot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	side := min(c.Size().X, c.Size().Y)
	x0 := c.Center().X - side/2
	y0 := c.Center().Y - side/2
	c.FillPolygon(s.c, []vg.Point{{X: x0, Y: y0}, {X: x0 + side, Y: y0}, {X: x0 + side, Y: y0 + side}, {X: x0, Y: y0 + side}})
}

// niceTicks labels about five round values from 0 to top (1, 2, 2.5 or 5 × 10^k apart;
// whole numbers only for counts).
type niceTicks struct {
	top     float64
	integer bool
}

// Ticks implements plot.Ticker.
func (n niceTicks) Ticks(lo, hi float64) []plot.Tick {
	top := n.top
	if !(top > 0) {
		top = hi
	}
	step := render.NiceStep(top, 5)
	if n.integer {
		step = max(1, math.Ceil(step))
	}
	var ticks []plot.Tick
	for i := 0.0; i*step <= hi+step*1e-9; i++ {
		v := i * step
		ticks = append(ticks, plot.Tick{Value: v, Label: render.TickLabel(v)})
	}
	return ticks
}
