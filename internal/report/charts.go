package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// The charts' file names, in report order.
const (
	chartLatency     = "latency.png"
	chartPercentiles = "latency-percentiles.png"
	chartHitRate     = "hit-rate.png"
	chartDBQPS       = "db-qps.png"
)

// Charts returns the file names of the PNG charts Render draws for every run, in report
// order; a run on a Redis Cluster also gets ClusterCharts.
func Charts() []string {
	return []string{chartLatency, chartPercentiles, chartHitRate, chartDBQPS, chartRedisMemory, chartHealth}
}

// chart is one PNG the report embeds: either drawn, or skipped with the reason.
type chart struct {
	Name    string // file name, one of Charts()
	Title   string // what it shows, for captions and alt text
	PNG     []byte
	Skipped string // why there is no PNG: no data, or drawing failed
}

// drawCharts draws every chart the summary has data for. Missing data is a skipped chart,
// never an error.
func drawCharts(s *summary.Summary) []chart {
	specs := []struct {
		name, title string
		build       func(*summary.Summary) (*figure, string)
	}{
		{chartLatency, "Latency over time", latencyFigure},
		{chartPercentiles, "Latency by percentile", percentileFigure},
		{chartHitRate, "Hit rate per class over time", hitRateFigure},
		{chartDBQPS, "DB queries per second", dbQPSFigure},
		{chartRedisMemory, "Redis used memory over time", redisMemoryFigure},
		{chartHealth, "Generator health: scheduling lag and the harness's scheduler latency over time", healthFigure},
	}
	if isCluster(s) {
		specs = append(specs, []struct {
			name, title string
			build       func(*summary.Summary) (*figure, string)
		}{
			{chartSlotRangeHitRate, "Hit rate per Redis Cluster slot range over time", slotRangeHitRateFigure},
			{chartNodeKeys, "Keys per Redis node at the end", nodeKeysFigure},
		}...)
	}
	if len(searchModes(s)) > 0 {
		specs = append(specs, []struct {
			name, title string
			build       func(*summary.Summary) (*figure, string)
		}{
			{chartKneeLatency, "Latency against offered rate (capacity search)", kneeLatencyFigure},
			{chartKneeThroughput, "Achieved against offered rate (capacity search)", kneeThroughputFigure},
		}...)
	}
	charts := make([]chart, 0, len(specs))
	for _, sp := range specs {
		c := chart{Name: sp.name, Title: sp.title}
		c.PNG, c.Skipped = drawChart(s, sp.title, sp.build)
		charts = append(charts, c)
	}
	return charts
}

// drawChart builds and encodes one chart. A panic inside gonum/plot on odd data costs the
// chart, not the report.
func drawChart(s *summary.Summary, title string, build func(*summary.Summary) (*figure, string)) (png []byte, skipped string) {
	defer func() {
		if r := recover(); r != nil {
			png, skipped = nil, fmt.Sprintf("drawing failed: %v", r)
		}
	}()
	f, why := build(s)
	if f == nil {
		return nil, why
	}
	f.title = title
	if s.Scenario != "" {
		f.title += " — " + s.Scenario
	}
	png, err := f.png()
	if err != nil {
		return nil, fmt.Sprintf("drawing failed: %v", err)
	}
	return png, ""
}

// latencyFigure: p50 and p99 per second (ms) of the main mode, no-cache p50 and p99 dashed
// (p50 is where the cache wins), faults shaded.
func latencyFigure(s *summary.Summary) (*figure, string) {
	main, nc := s.Series, noCacheSeries(s)
	f := newFigure("time since warm-up (s)", "latency (ms)")
	f.faults(faultMarks(s))
	label := modeLabel(&s.Figures)
	if main != nil {
		f.series("p50 "+label, main.LatencyP50, positive, 1, solid(render.Blue, 1.5))
		f.series("p99 "+label, main.LatencyP99, positive, 1, solid(render.Vermillion, 1.5))
	}
	if nc != nil {
		f.series("p50 no cache", nc.LatencyP50, positive, 1, dashed(render.Sky, 1.5))
		f.series("p99 no cache", nc.LatencyP99, positive, 1, dashed(render.Grey, 1.5))
	}
	if f.points == 0 {
		return nil, "the summary has no per-second latency series"
	}
	f.timeAxis()
	f.valueAxis(true)
	return f, ""
}

// percentileFigure: HDR-style latency by percentile, x = 1/(1-p) on a log scale.
func percentileFigure(s *summary.Summary) (*figure, string) {
	f := newFigure("percentile", "latency (ms)")
	f.curve(modeLabel(&s.Figures), s.Percentiles, solid(render.Blue, 2))
	if s.NoCache != nil {
		f.curve("no cache", s.NoCache.Percentiles, dashed(render.Grey, 2))
	}
	if f.points == 0 {
		return nil, "the summary has no latency percentiles"
	}
	p := f.plot
	p.X.Scale = plot.LogScale{}
	p.X.Min = min(2, f.xMin) // start at 50% unless the curve starts lower
	p.X.Max = math.Pow(10, max(2, math.Ceil(math.Log10(f.xMax)-1e-9)))
	p.X.Tick.Marker = plot.TickerFunc(percentileTicks)
	f.valueAxis(true)
	return f, ""
}

// hitRateFigure: hit rate per class over time, 0–100%, seconds without lookups left out.
func hitRateFigure(s *summary.Summary) (*figure, string) {
	if s.Series == nil || len(s.Series.HitRate) == 0 {
		if s.Figures.Mode == summary.ModeNoCache {
			return nil, "a no-cache run does no cache lookups"
		}
		return nil, "the summary has no per-second hit-rate series"
	}
	f := newFigure("time since warm-up (s)", "hit rate (%)")
	f.faults(faultMarks(s))
	styles := map[string]draw.LineStyle{summary.Overall: solid(render.Black, 2.5)}
	classColors := []color.Color{render.Blue, render.Green, render.Orange, render.Purple} // in summary.CacheClasses order
	for i, class := range summary.CacheClasses() {
		styles[class] = solid(classColors[i%len(classColors)], 1.5)
	}
	others := []color.Color{render.Sky, render.Vermillion, render.Grey}
	for i, class := range classOrder(s.Series.HitRate) {
		sty, ok := styles[class]
		if !ok {
			sty = dashed(others[i%len(others)], 1.5)
		}
		f.series(class, s.Series.HitRate[class], nonNegative, 100, sty)
	}
	if f.points == 0 {
		return nil, "no second of the run had a cache lookup"
	}
	f.timeAxis()
	p := f.plot
	p.Y.Min, p.Y.Max = -2, 102 // keep lines at 0% and 100% off the frame
	p.Y.Tick.Marker = plot.ConstantTicks(render.PercentTicks())
	f.addHeadroom()
	return f, ""
}

// dbQPSFigure: DB queries per second, main mode against no cache.
func dbQPSFigure(s *summary.Summary) (*figure, string) {
	f := newFigure("time since warm-up (s)", "DB queries per second")
	f.faults(faultMarks(s))
	if s.Series != nil {
		f.series(modeLabel(&s.Figures), s.Series.DBQPS, nonNegative, 1, solid(render.Blue, 1.5))
	}
	if nc := noCacheSeries(s); nc != nil {
		f.series("no cache", nc.DBQPS, nonNegative, 1, dashed(render.Grey, 1.5))
	}
	if f.points == 0 {
		return nil, "the summary has no per-second DB query series"
	}
	f.timeAxis()
	f.valueAxis(false)
	return f, ""
}

func noCacheSeries(s *summary.Summary) *summary.Series {
	if s.NoCache == nil {
		return nil
	}
	return s.NoCache.Series
}

// faultMarks are the fault windows to shade: the main mode's, else the no-cache run's.
func faultMarks(s *summary.Summary) []summary.FaultMark {
	if s.Series != nil && len(s.Series.Faults) > 0 {
		return s.Series.Faults
	}
	if nc := noCacheSeries(s); nc != nil {
		return nc.Faults
	}
	return nil
}

// classOrder lists the hit-rate series: the cache classes in API order, overall, then others.
func classOrder(m map[string][]float64) []string {
	known := summary.HitRateClasses()
	var order, rest []string
	for _, k := range known {
		if _, ok := m[k]; ok {
			order = append(order, k)
		}
	}
	for k := range m {
		if !slices.Contains(known, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(order, rest...)
}

func positive(v float64) bool    { return v > 0 && !math.IsInf(v, 0) }
func nonNegative(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

func solid(c color.Color, w float64) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(w)}
}

func dashed(c color.Color, w float64) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(w), Dashes: []vg.Length{vg.Points(6), vg.Points(3)}}
}

// figure is a plot under construction plus what gonum/plot does not lay out for us: a
// legend outside the data area, a title across the whole image, and room for fault labels.
type figure struct {
	title  string
	yLabel string // drawn by png, centred on the data area (gonum misplaces it on log axes)
	plot   *plot.Plot
	legend []legendEntry
	bands  *faultBands

	points                  int     // data points added
	xMin, xMax, yMax, yMinP float64 // data extent; yMinP is the smallest positive y
	headroom                float64 // share of the data area's height kept free on top for fault labels
}

type legendEntry struct {
	label string
	thumb plot.Thumbnailer
}

func newFigure(xLabel, yLabel string) *figure {
	p := plot.New()
	render.StyleAxes(p, 11, 10)
	p.X.Label.Text = xLabel
	p.Add(render.Grid(true))
	return &figure{plot: p, yLabel: yLabel, xMin: math.Inf(1), xMax: math.Inf(-1), yMax: math.Inf(-1), yMinP: math.Inf(1)}
}

// series adds a per-second series (index i covers [i, i+1) s, drawn at its middle) as one
// legend entry. Values keep rejects are gaps, not zeros; scale multiplies the rest.
func (f *figure) series(label string, ys []float64, keep func(float64) bool, scale float64, sty draw.LineStyle) {
	var runs []plotter.XYs
	var run plotter.XYs
	for i, y := range ys {
		if !keep(y) {
			if len(run) > 0 {
				runs, run = append(runs, run), nil
			}
			continue
		}
		run = append(run, plotter.XY{X: float64(i) + 0.5, Y: y * scale})
	}
	if len(run) > 0 {
		runs = append(runs, run)
	}
	f.xMin, f.xMax = min(f.xMin, 0), max(f.xMax, float64(len(ys)))
	f.addRuns(label, runs, sty)
}

// curve adds a latency-by-percentile curve; the percentiles may be fractions (0.99) or
// percents (99), and 100% itself has no place on a 1/(1-p) axis.
func (f *figure) curve(label string, pts []summary.PercentilePoint, sty draw.LineStyle) {
	scale := 1.0
	for _, pt := range pts {
		if pt.Percentile > 1 {
			scale = 0.01
			break
		}
	}
	var xy plotter.XYs
	for _, pt := range pts {
		q := pt.Percentile * scale
		if !(q >= 0 && q < 1) || !positive(pt.LatencyMS) {
			continue
		}
		xy = append(xy, plotter.XY{X: 1 / (1 - q), Y: pt.LatencyMS})
	}
	sort.SliceStable(xy, func(i, j int) bool { return xy[i].X < xy[j].X })
	for _, p := range xy {
		f.xMin, f.xMax = min(f.xMin, p.X), max(f.xMax, p.X)
	}
	f.addRuns(label, []plotter.XYs{xy}, sty)
}

func (f *figure) addRuns(label string, runs []plotter.XYs, sty draw.LineStyle) {
	n := 0
	for _, run := range runs {
		for _, p := range run {
			f.yMax = max(f.yMax, p.Y)
			if p.Y > 0 {
				f.yMinP = min(f.yMinP, p.Y)
			}
		}
		n += len(run)
		if len(run) == 1 { // a lone second between gaps: a dot, or it would not show
			sc, _ := plotter.NewScatter(run)
			sc.GlyphStyle = draw.GlyphStyle{Color: sty.Color, Radius: sty.Width * 1.2, Shape: draw.CircleGlyph{}}
			f.plot.Add(sc)
			continue
		}
		f.plot.Add(&plotter.Line{XYs: run, LineStyle: sty})
	}
	if n == 0 {
		return
	}
	f.points += n
	f.legend = append(f.legend, legendEntry{label, &plotter.Line{LineStyle: sty}})
}

// faults shades the fault windows. Call it before adding series so lines draw over the shade.
func (f *figure) faults(marks []summary.FaultMark) {
	if len(marks) == 0 {
		return
	}
	f.bands = newFaultBands(marks)
	f.plot.Add(f.bands)
}

// timeAxis sets the x axis to the measured window in seconds; fault windows past its end
// are cut off.
func (f *figure) timeAxis() {
	f.plot.X.Min, f.plot.X.Max = 0, max(f.xMax, 1)
	f.plot.X.Tick.Marker = plot.TickerFunc(niceTicks)
}

// valueAxis sets the y axis from the data: linear from 0, or a log scale (when allowed)
// once the values span more than two decades, so p50 does not vanish under a p99 spike.
func (f *figure) valueAxis(allowLog bool) {
	p := f.plot
	if allowLog && f.yMinP > 0 && f.yMax/f.yMinP > 100 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.TickerFunc(logTicks)
		p.Y.Min, p.Y.Max = f.yMinP/1.3, f.yMax*1.3
		f.yLabel += ", log scale"
	} else {
		p.Y.Min, p.Y.Max = 0, f.yMax*1.05
		if !(p.Y.Max > 0) {
			p.Y.Max = 1
		}
		p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	}
	f.addHeadroom()
}

// addHeadroom raises the y axis' top so the fault labels sit above the data, not on it.
func (f *figure) addHeadroom() {
	if f.bands == nil {
		return
	}
	rows := f.bands.rowsUsed(estimatedDataWidth(len(f.legend) > 0) /* plus the fault window entry */, f.plot.X.Min, f.plot.X.Max)
	if rows == 0 {
		return
	}
	h := vg.Length(rows)*f.bands.lineHeight() + vg.Points(12)
	frac := float64(h / estimatedDataHeight())
	p := f.plot
	if _, isLog := p.Y.Scale.(plot.LogScale); isLog {
		p.Y.Max = p.Y.Min * math.Pow(p.Y.Max/p.Y.Min, 1/(1-frac))
	} else {
		p.Y.Max = p.Y.Min + (p.Y.Max-p.Y.Min)/(1-frac)
	}
}

// estimatedDataHeight and estimatedDataWidth are the rough size of the data area, for
// placing fault labels before the layout exists.
func estimatedDataHeight() vg.Length {
	return vg.Length(render.ChartHeight)*vg.Inch/render.ChartDPI - vg.Points(90)
}

func estimatedDataWidth(legend bool) vg.Length {
	w := vg.Length(render.ChartWidth)*vg.Inch/render.ChartDPI - vg.Points(70)
	if legend {
		w -= vg.Points(130)
	}
	return w
}

// png lays the figure out at render.ChartWidth × render.ChartHeight: title on top across the image,
// the plot, and the legend in a column on the right where it cannot cover data.
func (f *figure) png() ([]byte, error) {
	entries := f.legend
	if f.bands != nil {
		entries = append(slices.Clip(entries), legendEntry{"fault window", f.bands})
	}
	title := f.title
	if len(entries) == 1 { // one series: name it in the title instead of a legend
		title += " (" + entries[0].label + ")"
		entries = nil
	}
	page := render.NewPage(title)
	var legend []render.LegendEntry
	for _, e := range entries {
		legend = append(legend, render.LegendEntry{Label: e.label, Thumb: e.thumb})
	}
	plotArea := page.Legend(legend, 10, vg.Points(26))
	// The y label, centred on the data area: gonum centres its glyph box on the arithmetic
	// mid-range, which on a log axis is near the top and squeezes the plot down.
	ls := f.plot.Y.Label.TextStyle
	ls.Rotation = math.Pi / 2
	lh := ls.Height(f.yLabel)
	plotArea = draw.Crop(plotArea, lh+render.Pad/2, 0, 0, 0)
	data := f.plot.DataCanvas(plotArea)
	page.Body.FillText(ls, vg.Point{X: page.Body.Min.X + lh - ls.FontExtents().Descent, Y: data.Center().Y}, f.yLabel)
	f.plot.Draw(plotArea)
	return page.PNG()
}

// faultBands shades fault windows over the whole height of the data area and names them
// at the top, stacking names in rows when windows are too close for them to fit side by side.
type faultBands struct {
	marks []summary.FaultMark
	fill  color.Color
	edge  draw.LineStyle
	label text.Style
}

const maxLabelRows = 3

func newFaultBands(marks []summary.FaultMark) *faultBands {
	return &faultBands{
		marks: marks,
		fill:  render.FaultFill,
		edge:  draw.LineStyle{Color: render.FaultEdge, Width: vg.Points(0.75)},
		label: text.Style{
			Color: render.FaultText, Font: render.Font(9), XAlign: draw.XLeft, YAlign: draw.YTop,
			Handler: plot.DefaultTextHandler,
		},
	}
}

func (b *faultBands) lineHeight() vg.Length { return b.label.Height("Xg") + vg.Points(2) }

// labelSpot is where a fault's name goes: its left edge and row, or row -1 for no room.
type labelSpot struct {
	x   vg.Length
	row int
}

// place lays the names out from left to right in the first row where each fits.
func (b *faultBands) place(trX func(float64) vg.Length, left, right vg.Length) []labelSpot {
	gap := vg.Points(6)
	ends := make([]vg.Length, 0, maxLabelRows)
	spots := make([]labelSpot, len(b.marks))
	for i, m := range b.marks {
		spots[i].row = -1
		w := b.label.Width(m.Name)
		x0, x1 := max(trX(m.StartS), left), min(trX(m.EndS), right)
		if m.Name == "" || x0 > right || x1 < left {
			continue
		}
		x := x0 + vg.Points(3)
		if x+w > right { // a window at the end: name it leftwards from its right edge
			x = max(x1-vg.Points(3)-w, left)
		}
		for r := range maxLabelRows {
			if r == len(ends) {
				ends = append(ends, x+w)
				spots[i] = labelSpot{x, r}
				break
			}
			if ends[r]+gap <= x {
				ends[r] = x + w
				spots[i] = labelSpot{x, r}
				break
			}
		}
	}
	return spots
}

// rowsUsed is how many label rows the names need on a data area width wide.
func (b *faultBands) rowsUsed(width vg.Length, xmin, xmax float64) int {
	tr := func(x float64) vg.Length { return vg.Length((x - xmin) / (xmax - xmin) * float64(width)) }
	rows := 0
	for _, s := range b.place(tr, 0, width) {
		rows = max(rows, s.row+1)
	}
	return rows
}

// Plot implements plot.Plotter.
func (b *faultBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, m := range b.marks {
		x0, x1 := max(trX(m.StartS), c.Min.X), min(trX(m.EndS), c.Max.X)
		if x0 > c.Max.X || x1 < c.Min.X {
			continue
		}
		if x1-x0 < vg.Points(1) { // an instant fault (flush-redis): a line
			c.StrokeLine2(b.edge, x0, c.Min.Y, x0, c.Max.Y)
			continue
		}
		c.FillPolygon(b.fill, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		c.StrokeLine2(b.edge, x0, c.Min.Y, x0, c.Max.Y)
		c.StrokeLine2(b.edge, x1, c.Min.Y, x1, c.Max.Y)
	}
	lh := b.lineHeight()
	for i, s := range b.place(trX, c.Min.X, c.Max.X) {
		if s.row < 0 {
			continue
		}
		c.FillText(b.label, vg.Point{X: s.x, Y: c.Max.Y - vg.Points(3) - vg.Length(s.row)*lh}, b.marks[i].Name)
	}
}

// Thumbnail implements plot.Thumbnailer for the legend.
func (b *faultBands) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(b.fill, pts)
	c.StrokeLines(b.edge, append(pts, pts[0]))
}

// niceTicks labels about six round values (1, 2, 2.5 or 5 × 10^k apart) with minor ticks between.
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	step := render.NiceStep(hi-lo, 6)
	var ticks []plot.Tick
	for i := math.Ceil(lo / step); i*step <= hi+step*1e-9; i++ {
		v := i * step
		ticks = append(ticks, plot.Tick{Value: v, Label: render.TickLabel(v)})
		if mid := v + step/2; mid <= hi {
			ticks = append(ticks, plot.Tick{Value: mid})
		}
	}
	return ticks
}

// logTicks labels 1, 2 and 5 × 10^k on a log axis (only the powers of ten past three decades).
func logTicks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	wide := math.Log10(hi/lo) > 3
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 3, 4, 5, 6, 7, 8, 9} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (!wide && (m == 2 || m == 5)) {
				t.Label = render.TickLabel(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// percentileTicks labels 1/(1-p) at 0%, 50%, 90%, 99%, … within the axis.
func percentileTicks(lo, hi float64) []plot.Tick {
	labels := []struct {
		x     float64
		label string
	}{{1, "0%"}, {2, "50%"}, {10, "90%"}, {100, "99%"}, {1e3, "99.9%"}, {1e4, "99.99%"}, {1e5, "99.999%"}, {1e6, "99.9999%"}}
	var ticks []plot.Tick
	for _, l := range labels {
		if l.x >= lo*(1-1e-9) && l.x <= hi*(1+1e-9) {
			ticks = append(ticks, plot.Tick{Value: l.x, Label: l.label})
		}
	}
	return ticks
}
