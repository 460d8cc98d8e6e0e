package report

import (
	"html/template"
	"io"

	"github.com/atlasbench/atlasbench/internal/render"
)

// htmlTmpl writes the view as one self-contained HTML page: inline CSS, charts as data:
// URIs, no external reference of any kind.
var htmlTmpl = template.Must(template.New("report.html").Funcs(render.Funcs(template.FuncMap{"col": htmlAlign, "folded": folded})).Parse(render.HTMLHead + `<title>{{.Title}}</title>
<style>
{{css}}body { max-width: 1400px; }
details > summary { cursor: pointer; color: #59636e; margin: .4em 0; }
.verdict { font-size: 1.3em; font-weight: 700; border-radius: 6px; padding: .5em .9em; margin-top: 1em; }
.pass { background: #dafbe1; border: 2px solid #1a7f37; color: #116329; }
.fail { background: #ffebe9; border: 2px solid #cf222e; color: #a40e26; }
.interrupted { background: #f6f8fa; border: 2px solid #59636e; color: #1f2328; }
.inconclusive { background: #fff8c5; border: 2px solid #9a6700; color: #7d4e00; }
.effect { font-weight: 600; }
.loud { color: #a40e26; font-weight: 700; }
td.c { text-align: center; }
td.pass, td.fail, td.na { text-align: center; font-weight: 700; border: 1px solid #d0d7de; background: none; }
td.pass { color: #116329; }
td.fail { color: #a40e26; }
td.na { color: #59636e; font-weight: 400; }
td.inconclusive { text-align: center; font-weight: 700; border: 1px solid #d0d7de; background: none; color: #7d4e00; }
td.m { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; word-break: break-all; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="sub">{{.Subtitle}}</p>
<p class="verdict {{.Class}}">{{.Verdict}}: {{.Detail}}</p>
{{with .Effect}}<p class="effect">{{.}}</p>
{{end -}}
{{range .Notes}}<p class="note">Note: {{.}}</p>
{{end -}}
{{range .Sections}}
<h2>{{.Title}}</h2>
{{range .Lines}}<p{{if .Loud}} class="loud">{{else}}>{{end}}{{.Text}}</p>
{{end -}}
{{with $t := .Table}}{{if folded $t}}<details><summary>{{len $t.Rows}} rows (show)</summary>
{{end}}<table>
<thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range $i, $c := .}}<td class="{{col $t.Align $i $c}}">{{$c}}</td>{{end}}</tr>
{{end -}}
</tbody>
</table>
{{if folded $t}}</details>
{{end}}{{end -}}
{{range .Foot}}<p class="foot">{{.}}</p>
{{end -}}
{{end}}
<h2>Charts</h2>
{{range .Charts}}{{if .Skipped}}<p class="foot">{{.Title}}: not drawn ({{.Skipped}}).</p>
{{else}}<figure><img src="{{dataURI .PNG}}" alt="{{.Title}}" width="900" height="450"><figcaption>{{.Title}} ({{.Name}})</figcaption></figure>
{{end}}{{end -}}
<hr>
<p class="env">{{.Env}}</p>
</body>
</html>
`))

func writeHTML(w io.Writer, v *view) error {
	return htmlTmpl.Execute(w, v)
}

// foldRows is how many rows a table of the HTML report shows open; a longer one (the
// cross-checks of -count 4, say) is folded in a <details> element.
const foldRows = 12

// folded reports whether t is long enough to fold.
func folded(t *table) bool { return len(t.Rows) > foldRows }

// htmlAlign is the CSS class of column i, holding cell, for a table's Align letters; a
// verdict cell gets its colour.
func htmlAlign(align string, i int, cell string) string {
	switch cell {
	case verdictPass:
		return "pass"
	case verdictFail:
		return "fail"
	case verdictNA, verdictNotJudged:
		return "na"
	case verdictInconclusive:
		return "inconclusive"
	}
	if i < len(align) {
		return string(align[i])
	}
	return "l"
}
