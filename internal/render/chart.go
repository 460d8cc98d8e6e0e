package render

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart geometry: every PNG is ChartWidth × ChartHeight pixels at ChartDPI.
const (
	ChartWidth  = 900 // pixels
	ChartHeight = 450 // pixels
	ChartDPI    = 96
)

// Font is the charts' typeface at size points: Liberation Sans, embedded by gonum/plot, so
// charts look the same everywhere.
func Font(size vg.Length) font.Font {
	return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, size)
}

// The palette: Okabe-Ito, readable by colour-blind people. No cache (or a disabled cache)
// is always grey.
var (
	Blue       = color.NRGBA{R: 0, G: 114, B: 178, A: 255}
	Orange     = color.NRGBA{R: 230, G: 159, B: 0, A: 255}
	Green      = color.NRGBA{R: 0, G: 158, B: 115, A: 255}
	Purple     = color.NRGBA{R: 204, G: 121, B: 167, A: 255} // reddish purple
	Sky        = color.NRGBA{R: 86, G: 180, B: 233, A: 255}
	Vermillion = color.NRGBA{R: 213, G: 94, B: 0, A: 255}
	Yellow     = color.NRGBA{R: 240, G: 228, B: 66, A: 255}
	Black      = color.NRGBA{A: 255}
	Grey       = color.NRGBA{R: 85, G: 85, B: 85, A: 255}    // no-cache lines
	LightGrey  = color.NRGBA{R: 140, G: 140, B: 140, A: 255} // no-cache bars
	GridGrey   = color.Gray{Y: 225}
	FaultFill  = color.NRGBA{R: 200, G: 30, B: 30, A: 28}  // a fault window's shade
	FaultEdge  = color.NRGBA{R: 200, G: 30, B: 30, A: 110} // its edges
	FaultText  = color.NRGBA{R: 160, G: 20, B: 20, A: 255} // its name
)

// Cycle is the i-th colour of the palette for things of equal rank (configurations).
func Cycle(i int) color.Color {
	cs := []color.NRGBA{Blue, Orange, Green, Purple, Sky, Vermillion, Yellow}
	return cs[i%len(cs)]
}

// StyleAxes sets the fonts and padding of a plot's axes.
func StyleAxes(p *plot.Plot, labelSize, tickSize vg.Length) {
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = Font(labelSize)
		a.Tick.Label.Font = Font(tickSize)
		a.Padding = vg.Points(2)
	}
}

// Grid is the light background grid; vertical says whether it has vertical lines too.
func Grid(vertical bool) *plotter.Grid {
	g := plotter.NewGrid()
	g.Horizontal.Color = GridGrey
	if vertical {
		g.Vertical.Color = GridGrey
	} else {
		g.Vertical.Width = 0
	}
	return g
}

// Pad is the margin around a page's parts.
var Pad = vg.Points(8)

// Page is one chart image: white, ChartWidth × ChartHeight, a title across the top.
type Page struct {
	img *vgimg.Canvas
	// Body is the canvas below the title, inside the margins.
	Body draw.Canvas
}

// NewPage starts a chart image with title drawn across its top.
func NewPage(title string) *Page {
	w := vg.Length(ChartWidth) * vg.Inch / ChartDPI
	h := vg.Length(ChartHeight) * vg.Inch / ChartDPI
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(ChartDPI))
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	ts := text.Style{Color: Black, Font: Font(14), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
	dc.FillText(ts, vg.Point{X: dc.Center().X, Y: dc.Max.Y - Pad}, title)
	return &Page{img: img, Body: draw.Crop(dc, Pad, -Pad, Pad/2, -(ts.Height(title) + 2*Pad))}
}

// LegendEntry is one line of a legend.
type LegendEntry struct {
	Label string
	Thumb plot.Thumbnailer
}

// Legend draws entries in a column on the right of the body, where it cannot cover data,
// and returns the part of the body left of it (the whole body without entries).
func (p *Page) Legend(entries []LegendEntry, size, thumbWidth vg.Length) draw.Canvas {
	if len(entries) == 0 {
		return p.Body
	}
	leg := plot.NewLegend()
	leg.TextStyle.Font = Font(size)
	leg.Top, leg.Left = true, true
	leg.Padding = vg.Points(5)
	leg.ThumbnailWidth = thumbWidth
	for _, e := range entries {
		leg.Add(e.Label, e.Thumb)
	}
	lw := leg.Rectangle(p.Body).Size().X
	leg.Draw(draw.Crop(p.Body, p.Body.Size().X-lw, 0, 0, -Pad))
	return draw.Crop(p.Body, 0, -(lw + 2*Pad), 0, 0)
}

// PNG encodes the page.
func (p *Page) PNG() ([]byte, error) {
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: p.img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), nil
}
