package report

import (
	"io"
	"strings"
	"text/template"

	"github.com/atlasbench/atlasbench/internal/render"
)

// markdownTmpl writes the view as GitHub-flavoured Markdown, the table a PR comment wants.
// Charts are linked by file name, relative to the run directory.
var markdownTmpl = template.Must(template.New("report.md").Funcs(template.FuncMap{
	"md":   render.MarkdownText,
	"row":  mdRow,
	"rule": mdRule,
}).Parse(`# {{md .Title}}

{{md .Subtitle}}

## {{.Verdict}}: {{md .Detail}}
{{with .Effect}}
**{{md .}}**
{{end}}
{{- range .Notes}}
> **Note: {{md .}}**
{{end}}
{{- range .Sections}}
## {{md .Title}}
{{range .Lines}}
{{if .Loud}}**{{md .Text}}**{{else}}{{md .Text}}{{end}}
{{end}}
{{- with $t := .Table}}
{{row "" .Head}}
{{rule .Align}}
{{range .Rows}}{{row $t.Align .}}
{{end}}
{{- end}}
{{- range .Foot}}
_{{md .}}_
{{end}}
{{- end}}
## Charts
{{range .Charts}}
{{if .Skipped}}- {{md .Title}}: not drawn ({{md .Skipped}}).{{else}}![{{md .Title}}]({{.Name}}){{end}}
{{end}}
---
{{md .Env}}
`))

func writeMarkdown(w io.Writer, v *view) error {
	return markdownTmpl.Execute(w, v)
}

// mdCode is s as an inline code span; GFM still needs pipes escaped inside tables.
func mdCode(s string) string {
	if s == "" || s == dash {
		return s
	}
	s = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// mdRow writes one table row; columns aligned "m" are code spans.
func mdRow(align string, cells []string) string {
	var b strings.Builder
	b.WriteString("|")
	for i, c := range cells {
		b.WriteString(" ")
		if i < len(align) && align[i] == 'm' {
			b.WriteString(mdCode(c))
		} else {
			b.WriteString(render.MarkdownText(c))
		}
		b.WriteString(" |")
	}
	return b.String()
}

// mdRule is the header separator row with each column's alignment.
func mdRule(align string) string {
	var b strings.Builder
	b.WriteString("|")
	for _, a := range align {
		switch a {
		case 'r':
			b.WriteString("---:|")
		case 'c':
			b.WriteString(":---:|")
		default:
			b.WriteString("---|")
		}
	}
	return b.String()
}
