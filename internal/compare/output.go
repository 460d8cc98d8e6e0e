package compare

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"
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

// mdText escapes the characters that would change a line's meaning in Markdown.
func mdText(s string) string {
	return strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
		"<", `\<`, ">", `\>`, "|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

// writeMarkdown writes compare.md: the table a PR comment wants, charts linked by file name.
func (t *Table) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# atlasbench compare: %s\n\n", mdText(t.Scenario))
	fmt.Fprintf(&b, "%s\n\n", mdText(t.runsLine()))
	for _, n := range t.Notes {
		fmt.Fprintf(&b, "> **Note: %s**\n\n", mdText(n))
	}
	fmt.Fprintf(&b, "**Recommendation:** %s\n\n", mdText(t.Recommendation))
	b.WriteString("| metric |")
	for _, c := range t.Configs {
		b.WriteString(" " + mdText(c) + " |")
	}
	b.WriteString("\n|---|")
	for range t.Configs {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("| " + mdText(r.Label) + " |")
		for _, c := range r.Cells {
			b.WriteString(" " + mdText(cellText(c)) + " |")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n_%s_\n\n## Charts\n\n", mdText(t.legendText()))
	for _, c := range t.Charts {
		if c.Skipped != "" {
			fmt.Fprintf(&b, "- %s: not drawn (%s).\n\n", mdText(c.Title), mdText(c.Skipped))
			continue
		}
		fmt.Fprintf(&b, "![%s](%s)\n\n", mdText(c.Title), c.File)
	}
	fmt.Fprintf(&b, "---\n%s\n", mdText(t.Env))
	_, err := io.WriteString(w, b.String())
	return err
}

// htmlTmpl writes compare.html: one self-contained page, inline CSS, charts as data: URIs.
var htmlTmpl = template.Must(template.New("compare.html").Funcs(template.FuncMap{
	"cell": cellText,
	"dataURI": func(png []byte) template.URL {
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>atlasbench compare: {{.T.Scenario}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; max-width: 980px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.7em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #d8dee4; padding-bottom: .2em; }
.sub, .env, .foot { color: #59636e; }
.foot { font-size: .9em; font-style: italic; }
.note { background: #fff8c5; border: 2px solid #d4a72c; border-radius: 6px; padding: .6em .9em; margin: .8em 0; font-weight: 600; }
.rec { font-size: 1.1em; background: #ddf4ff; border: 2px solid #54aeff; border-radius: 6px; padding: .6em .9em; }
table { border-collapse: collapse; margin: .6em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .3em .65em; }
th { background: #f6f8fa; text-align: left; }
tr:nth-child(even) td { background: #fafbfc; }
td.r { text-align: right; white-space: nowrap; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #59636e; font-size: .9em; }
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
