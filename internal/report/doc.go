// Package report owns what a person reads after a run: report.md (the table a PR comment
// wants), report.html (self-contained, charts inline) and the PNG charts drawn with
// gonum/plot. It reads only a *summary.Summary, so `bench report DIR` can re-render a run
// from its summary.json without attacking again.
//
// The content is built once as a view (view.go), then written as Markdown (markdown.go) and
// HTML (html.go); charts are drawn in charts.go; number formatting lives in format.go.
package report
