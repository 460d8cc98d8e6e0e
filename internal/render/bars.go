package render

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ValueLabels writes each bar's value above it ("n/a" for NaN): the bar at x = i, moved
// by Offset like its plotter.BarChart. The text is Labels[i] when Labels is set, else
// Format of the value.
type ValueLabels struct {
	Values []float64
	Labels []string
	Offset vg.Length
	Format func(float64) string
	Style  text.Style
}

// Plot implements plot.Plotter.
func (l *ValueLabels) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, v := range l.Values {
		s, y := "n/a", 0.0
		switch {
		case i < len(l.Labels):
			s, y = l.Labels[i], max(v, 0)
		case !math.IsNaN(v):
			s, y = l.Format(v), v
		}
		c.FillText(l.Style, vg.Point{X: trX(float64(i)) + l.Offset, Y: trY(y) + vg.Points(2)}, s)
	}
}

// ValueLabelStyle is the text of the values written above bars: dark grey, 9 pt, centred
// over the bar, standing on it.
func ValueLabelStyle() text.Style {
	return text.Style{Color: color.NRGBA{R: 40, G: 40, B: 40, A: 255}, Font: Font(9),
		XAlign: draw.XCenter, YAlign: draw.YBottom, Handler: plot.DefaultTextHandler}
}
