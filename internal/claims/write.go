package claims

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/atlasbench/atlasbench/internal/render"
)

// Files of a scorecard's directory.
const (
	FileMD   = "claims.md"
	FileHTML = "claims.html"
	FileJSON = "claims.json"
)

// SchemaJSON is the JSON Schema (draft-07) of claims.json.
//
//go:embed schema.json
var SchemaJSON []byte

// Write writes claims.md, claims.html, claims.json and a chart per swept claim into dir.
func Write(dir string, s *Scorecard) error {
	charts := map[string][]byte{}
	var files []render.File
	for _, r := range s.Rows {
		if r.Sweep == nil || r.Sweep.Chart == "" {
			continue
		}
		png, err := sweepChart(r)
		if err != nil {
			return fmt.Errorf("claims: chart %s: %w", r.ID, err)
		}
		charts[r.Sweep.Chart] = png
		files = append(files, render.File{Name: r.Sweep.Chart, Data: png})
	}
	files = append(files,
		render.File{Name: FileMD, Write: func(w io.Writer) error { return WriteMarkdown(w, s) }},
		render.File{Name: FileHTML, Write: func(w io.Writer) error { return writeHTML(w, s, charts) }},
		render.File{Name: FileJSON, Write: func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(s)
		}})
	if err := render.WriteFiles(dir, files); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	return nil
}

// headline is the scorecard's verdict in one line.
func headline(s *Scorecard) string {
	mode := "default run"
	if s.Quick {
		mode = "-quick run (seconds-long runs: a smoke test, not the measurement)"
	}
	inc := ""
	if s.Inconclusive > 0 {
		inc = fmt.Sprintf(", %d INCONCLUSIVE (latency measured on a saturated load generator)", s.Inconclusive)
	}
	return fmt.Sprintf("%d hold, %d fail, %d not measured%s — cache config under test: %s; %s",
		s.Holds, s.Fails, s.NotMeasured, inc, s.Layer, mode)
}

// WriteText prints the scorecard for a terminal: one line per claim, then where the swept
// claims hold.
func WriteText(w io.Writer, s *Scorecard) error {
	fmt.Fprintf(w, "The Atlas write-up, claim by claim: %s\n", headline(s))
	if s.Calibration != nil {
		fmt.Fprintf(w, "calibration: %s\n", s.Calibration)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tCLAIM\tMEASURED")
	for _, r := range s.Rows {
		m := r.Measured
		if (r.Verdict == NotMeasured || r.Verdict == Inconclusive) && r.Reason != "" {
			m = r.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Verdict, oneLine(r.Quote), oneLine(m))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	first := true
	for _, r := range s.Rows {
		if r.Sweep == nil {
			continue
		}
		if first {
			fmt.Fprintln(w, "\nWhere they hold:")
			first = false
		}
		fmt.Fprintf(w, "  %s: %s\n", r.ID, r.Sweep.Statement)
	}
	return nil
}

// rel is path relative to the scorecard's directory when it lies inside it (the links of
// claims.md then survive moving the directory), else path.
func rel(dir, path string) string {
	if dir == "" || path == "" {
		return path
	}
	r, err := filepath.Rel(dir, path)
	if err != nil || strings.HasPrefix(r, "..") {
		return path
	}
	return r
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\t", " ").Replace(s) }

// WriteMarkdown writes claims.md.
func WriteMarkdown(w io.Writer, s *Scorecard) error {
	var b strings.Builder
	md := render.MarkdownText
	b.WriteString("# Does the Atlas write-up hold?\n\n")
	fmt.Fprintf(&b, "**%s**\n\n", md(headline(s)))
	if s.Calibration != nil {
		fmt.Fprintf(&b, "The write-up's world: %s.\n\n", md(s.Calibration.String()))
	}
	b.WriteString("| claim (the write-up's words) | figure | measured | verdict | evidence |\n|---|---|---|---|---|\n")
	for _, r := range s.Rows {
		verdict := "**" + string(r.Verdict) + "**"
		if r.Reason != "" {
			verdict += " — " + md(r.Reason)
		}
		var ev []string
		for _, e := range r.Evidence {
			ev = append(ev, "`"+strings.ReplaceAll(rel(s.Dir, e.Summary), "|", `\|`)+"`")
		}
		fmt.Fprintf(&b, "| “%s” | %s | %s | %s | %s |\n", md(r.Quote), md(r.Figure), md(r.Measured), verdict, strings.Join(ev, "<br>"))
	}
	swept := false
	for _, r := range s.Rows {
		if r.Sweep == nil {
			continue
		}
		if !swept {
			b.WriteString("\n## Where each claim holds\n\nA hit rate or a reduction is a property of the traffic as much as of the cache: " +
				"each sweep point ran the world's mix with uniform keys and one short TTL for every class, warming off, " +
				"at a different number of users, so that lookups per user per TTL vary. The shaded band is the write-up's; " +
				"the dashed orange line is the ideal cache on the same requests, the dotted grey line where the claim starts to hold.\n")
			swept = true
		}
		fmt.Fprintf(&b, "\n### “%s”\n\n%s\n", md(r.Quote), md(r.Sweep.Statement))
		if r.Sweep.Chart != "" {
			fmt.Fprintf(&b, "\n![%s](%s)\n", md(r.ID), r.Sweep.Chart)
		}
	}
	b.WriteString("\n## Runs\n\n| run | what | summary | error |\n|---|---|---|---|\n")
	for _, r := range s.Runs {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", md(r.Name), md(r.Describe), strings.ReplaceAll(rel(s.Dir, r.Summary), "|", `\|`), md(r.Error))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var pageTmpl = template.Must(template.New("claims").Funcs(render.Funcs(template.FuncMap{"rel": rel})).Parse(render.HTMLHead + `<title>Does the Atlas write-up hold?</title>
<style>{{css}}
.HOLDS { color: #1a7f37; font-weight: 700; } .FAILS { color: #cf222e; font-weight: 700; } .NOT { color: #59636e; font-weight: 700; } .INCONCLUSIVE { color: #9a6700; font-weight: 700; }
td.ev { font-size: .85em; word-break: break-all; }
</style>
</head>
<body>
<h1>Does the Atlas write-up hold?</h1>
<p class="sub"><b>{{.Headline}}</b></p>
{{with .S.Calibration}}<p>The write-up's world: {{.String}}.</p>{{end}}
<table>
<tr><th>claim (the write-up's words)</th><th>figure</th><th>measured</th><th>verdict</th><th>evidence</th></tr>
{{range .S.Rows}}<tr><td>“{{.Quote}}”</td><td>{{.Figure}}</td><td>{{.Measured}}</td>
<td><span class="{{if eq .Verdict "NOT MEASURED"}}NOT{{else}}{{.Verdict}}{{end}}">{{.Verdict}}</span>{{with .Reason}}<br>{{.}}{{end}}</td>
<td class="ev">{{range .Evidence}}{{rel $.S.Dir .Summary}}<br>{{end}}</td></tr>
{{end}}</table>
{{if .Swept}}<h2>Where each claim holds</h2>
<p>Each sweep point ran the world's mix with uniform keys and one short TTL for every class, warming off, at a different number of users. The shaded band is the write-up's; the dashed orange line is the ideal cache on the same requests, the dotted grey line where the claim starts to hold.</p>
{{range .S.Rows}}{{if .Sweep}}<h3>“{{.Quote}}”</h3><p>{{.Sweep.Statement}}</p>
{{with index $.Charts .Sweep.Chart}}<figure><img src="{{dataURI .}}" alt="sweep chart"></figure>{{end}}
{{end}}{{end}}{{end}}
<h2>Runs</h2>
<table><tr><th>run</th><th>what</th><th>summary</th><th>error</th></tr>
{{range .S.Runs}}<tr><td>{{.Name}}</td><td>{{.Describe}}</td><td class="ev">{{rel $.S.Dir .Summary}}</td><td>{{.Error}}</td></tr>
{{end}}</table>
</body>
</html>
`))

func writeHTML(w io.Writer, s *Scorecard, charts map[string][]byte) error {
	swept := false
	for _, r := range s.Rows {
		swept = swept || r.Sweep != nil
	}
	return pageTmpl.Execute(w, map[string]any{"S": s, "Headline": headline(s), "Swept": swept, "Charts": charts})
}

// sweepChart draws a swept claim: its figure against lookups per user per TTL (log scale),
// the claimed band shaded, the ideal cache's figure dashed beside it.
func sweepChart(r Row) ([]byte, error) {
	sw := r.Sweep
	page := render.NewPage("“" + r.Quote + "”: where it holds")
	p := plot.New()
	render.StyleAxes(p, 11, 10)
	what := "requests"
	if sw.Class != "" {
		what = sw.Class + " lookups"
	}
	p.X.Label.Text = what + " per user per TTL (log scale)"
	p.Y.Label.Text = sw.Path
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 100
	p.Y.Tick.Marker = plot.ConstantTicks(render.PercentTicks())
	p.Add(render.Grid(true))
	lo, hi := sw.Points[0].X, sw.Points[len(sw.Points)-1].X
	if hi <= lo {
		hi = lo * 2
	}
	lo, hi = lo/1.5, hi*1.5
	band, err := plotter.NewPolygon(plotter.XYs{{X: lo, Y: 100 * sw.Band[0]}, {X: hi, Y: 100 * sw.Band[0]}, {X: hi, Y: 100 * sw.Band[1]}, {X: lo, Y: 100 * sw.Band[1]}})
	if err != nil {
		return nil, err
	}
	band.Color = color.NRGBA{R: 0, G: 158, B: 115, A: 50}
	band.LineStyle.Width = 0
	p.Add(band)
	var entries []render.LegendEntry
	entries = append(entries, render.LegendEntry{Label: fmt.Sprintf("claimed %.0f–%.0f%%", 100*sw.Band[0], 100*sw.Band[1]), Thumb: band})
	measured, ideal := plotter.XYs{}, plotter.XYs{}
	for _, pt := range sw.Points {
		measured = append(measured, plotter.XY{X: math.Max(pt.X, 1e-3), Y: 100 * pt.Y})
		if pt.Ideal != nil {
			ideal = append(ideal, plotter.XY{X: math.Max(pt.X, 1e-3), Y: 100 * *pt.Ideal})
		}
	}
	line, points, err := plotter.NewLinePoints(measured)
	if err != nil {
		return nil, err
	}
	line.Color, line.Width = render.Blue, vg.Points(2)
	points.Shape, points.Color, points.Radius = draw.CircleGlyph{}, render.Blue, vg.Points(3)
	p.Add(line, points)
	entries = append(entries, render.LegendEntry{Label: "measured", Thumb: line})
	if len(ideal) > 0 {
		il, err := plotter.NewLine(ideal)
		if err != nil {
			return nil, err
		}
		il.Color, il.Width, il.Dashes = render.Orange, vg.Points(2), []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(il)
		entries = append(entries, render.LegendEntry{Label: "ideal cache", Thumb: il})
	}
	if sw.Boundary != nil {
		bl, err := plotter.NewLine(plotter.XYs{{X: *sw.Boundary, Y: 0}, {X: *sw.Boundary, Y: 100}})
		if err != nil {
			return nil, err
		}
		bl.Color, bl.Width, bl.Dashes = render.Grey, vg.Points(1), []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(bl)
		entries = append(entries, render.LegendEntry{Label: "holds from here", Thumb: bl})
	}
	p.X.Min, p.X.Max = lo, hi
	p.Draw(page.Legend(entries, 10, vg.Points(20)))
	return page.PNG()
}
