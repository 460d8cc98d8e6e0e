package report

import (
	"encoding/base64"
	"html/template"
	"io"
)

// htmlTmpl writes the view as one self-contained HTML page: inline CSS, charts as data:
// URIs, no external reference of any kind.
var htmlTmpl = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"col":     htmlAlign,
	"dataURI": pngDataURI,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; max-width: 980px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.7em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #d8dee4; padding-bottom: .2em; }
.sub, .env, .foot { color: #59636e; }
.foot { font-size: .9em; font-style: italic; }
.note { background: #fff8c5; border: 2px solid #d4a72c; border-radius: 6px; padding: .6em .9em; margin: .8em 0; font-weight: 600; }
.verdict { font-size: 1.3em; font-weight: 700; border-radius: 6px; padding: .5em .9em; margin-top: 1em; }
.pass { background: #dafbe1; border: 2px solid #1a7f37; color: #116329; }
.fail { background: #ffebe9; border: 2px solid #cf222e; color: #a40e26; }
.effect { font-weight: 600; }
.loud { color: #a40e26; font-weight: 700; }
table { border-collapse: collapse; margin: .6em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .3em .65em; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
tr:nth-child(even) td { background: #fafbfc; }
td.r { text-align: right; white-space: nowrap; }
td.c { text-align: center; }
td.pass, td.fail, td.na { text-align: center; font-weight: 700; border: 1px solid #d0d7de; background: none; }
td.pass { color: #116329; }
td.fail { color: #a40e26; }
td.na { color: #59636e; font-weight: 400; }
td.m { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; word-break: break-all; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #59636e; font-size: .9em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="sub">{{.Subtitle}}</p>
{{range .Notes}}<p class="note">Note: {{.}}</p>
{{end -}}
<p class="verdict {{if .Pass}}pass{{else}}fail{{end}}">{{.Verdict}}: {{.Detail}}</p>
{{with .Effect}}<p class="effect">{{.}}</p>
{{end -}}
{{range .Sections}}
<h2>{{.Title}}</h2>
{{range .Lines}}<p{{if .Loud}} class="loud">{{else}}>{{end}}{{.Text}}</p>
{{end -}}
{{with $t := .Table}}<table>
<thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range $i, $c := .}}<td class="{{col $t.Align $i $c}}">{{$c}}</td>{{end}}</tr>
{{end -}}
</tbody>
</table>
{{end -}}
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

// pngDataURI inlines a PNG we drew ourselves; html/template would otherwise refuse data: URLs.
func pngDataURI(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// htmlAlign is the CSS class of column i, holding cell, for a table's Align letters; a
// verdict cell gets its colour.
func htmlAlign(align string, i int, cell string) string {
	switch cell {
	case verdictPass:
		return "pass"
	case verdictFail:
		return "fail"
	case verdictNA:
		return "na"
	}
	if i < len(align) {
		return string(align[i])
	}
	return "l"
}
