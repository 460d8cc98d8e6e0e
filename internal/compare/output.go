package compare

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/atlasbench/atlasbench/internal/render"
)

// legendText explains the marks, for every output.
func (t *Table) legendText() string {
	return fmt.Sprintf("Values are medians of the repeats. Marks compare each config with %s (the first): "+
		"%s significant (Mann-Whitney U, p < %v), %s not significant, %s too few samples to test (run with -count 4 or more); "+
		"figures without a mark are not kept per repeat.",
		t.Configs[0], MarkSignificant, significanceLvl, MarkNotSignificant, MarkTooFew)
}

// cellText is a cell as one string: "88.2% +6.1 pts *".
func cellText(c Cell) string {
	if !c.Present {
		return "—"
	}
	s := c.Text
	if c.Delta != "" {
		s += " " + c.Delta
	}
	if c.Mark != "" {
		s += " " + c.Mark
	}
	return s
}

func (t *Table) runsLine() string {
	parts := make([]string, len(t.Configs))
	for i, c := range t.Configs {
		parts[i] = fmt.Sprintf("%s (n=%d)", c, t.Counts[i])
	}
	return strings.Join(parts, ", ")
}

// Write prints the table for a terminal: the configs as columns, one figure per line, each
// value with its change and mark against the first config, then the legend and the
// recommendation.
func (t *Table) Write(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "compare: scenario %s; %s\n\n", t.Scenario, t.runsLine()); err != nil {
		return fmt.Errorf("compare: write: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprint(tw, "metric")
	for _, c := range t.Configs {
		fmt.Fprint(tw, "\t"+c)
	}
	fmt.Fprintln(tw)
	for _, r := range t.Rows {
		fmt.Fprint(tw, r.Label)
		for _, c := range r.Cells {
			fmt.Fprint(tw, "\t"+cellText(c))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("compare: write: %w", err)
	}
	var b strings.Builder
	b.WriteString("\n" + t.legendText() + "\n")
	for _, n := range t.Notes {
		b.WriteString("note: " + n + "\n")
	}
	b.WriteString("\nrecommendation: " + t.Recommendation + "\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("compare: write: %w", err)
	}
	return nil
}

// writeMarkdown writes compare.md: the table a PR comment wants, charts linked by file name.
func (t *Table) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# atlasbench compare: %s\n\n", render.MarkdownText(t.Scenario))
	fmt.Fprintf(&b, "%s\n\n", render.MarkdownText(t.runsLine()))
	for _, n := range t.Notes {
		fmt.Fprintf(&b, "> **Note: %s**\n\n", render.MarkdownText(n))
	}
	fmt.Fprintf(&b, "**Recommendation:** %s\n\n", render.MarkdownText(t.Recommendation))
	b.WriteString("| metric |")
	for _, c := range t.Configs {
		b.WriteString(" " + render.MarkdownText(c) + " |")
	}
	b.WriteString("\n|---|")
	for range t.Configs {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("| " + render.MarkdownText(r.Label) + " |")
		for _, c := range r.Cells {
			b.WriteString(" " + render.MarkdownText(cellText(c)) + " |")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n_%s_\n\n## Charts\n\n", render.MarkdownText(t.legendText()))
	for _, c := range t.Charts {
		if c.Skipped != "" {
			fmt.Fprintf(&b, "- %s: not drawn (%s).\n\n", render.MarkdownText(c.Title), render.MarkdownText(c.Skipped))
			continue
		}
		fmt.Fprintf(&b, "![%s](%s)\n\n", render.MarkdownText(c.Title), c.File)
	}
	fmt.Fprintf(&b, "---\n%s\n", render.MarkdownText(t.Env))
	_, err := io.WriteString(w, b.String())
	return err
}

// htmlTmpl writes compare.html: one self-contained page, inline CSS, charts as data: URIs.
var htmlTmpl = template.Must(template.New("compare.html").Funcs(render.Funcs(template.FuncMap{"cell": cellText})).Parse(render.HTMLHead + `<title>atlasbench compare: {{.T.Scenario}}</title>
<style>
{{css}}.rec { font-size: 1.1em; background: #ddf4ff; border: 2px solid #54aeff; border-radius: 6px; padding: .6em .9em; }
</style>
</head>
<body>
<h1>atlasbench compare: {{.T.Scenario}}</h1>
<p class="sub">{{.Runs}}</p>
{{range .T.Notes}}<p class="note">Note: {{.}}</p>
{{end -}}
<p class="rec"><strong>Recommendation:</strong> {{.T.Recommendation}}</p>
<table>
<thead><tr><th>metric</th>{{range .T.Configs}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .T.Rows}}<tr><td>{{.Label}}</td>{{range .Cells}}<td class="r">{{cell .}}</td>{{end}}</tr>
{{end -}}
</tbody>
</table>
<p class="foot">{{.Legend}}</p>
<h2>Charts</h2>
{{range .T.Charts}}{{if .Skipped}}<p class="foot">{{.Title}}: not drawn ({{.Skipped}}).</p>
{{else}}<figure><img src="{{dataURI .PNG}}" alt="{{.Title}}" width="900" height="450"><figcaption>{{.Title}} ({{.File}})</figcaption></figure>
{{end}}{{end -}}
<hr>
<p class="env">{{.T.Env}}</p>
</body>
</html>
`))

func (t *Table) writeHTML(w io.Writer) error {
	return htmlTmpl.Execute(w, struct {
		T      *Table
		Runs   string
		Legend string
	}{t, t.runsLine(), t.legendText()})
}

// PNG returns the chart's image (nil when skipped).
func (c Chart) PNG() []byte { return c.png }
