package report

import (
	"errors"
	"fmt"
	"io"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// The report files Render writes next to the charts.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
)

// Render writes report.md, report.html and the PNG charts (Charts()) for s into dir, reading
// nothing but s. A chart without data is left out (and an old one from an earlier render
// removed) and the report says so; only failing to write a file is an error.
func Render(dir string, s *summary.Summary) error {
	if s == nil {
		return errors.New("report: no summary")
	}
	charts := drawCharts(s)
	var files []render.File
	for _, c := range charts {
		files = append(files, render.File{Name: c.Name, Data: c.PNG})
	}
	if !isCluster(s) {
		for _, name := range ClusterCharts() {
			files = append(files, render.File{Name: name}) // removes one an earlier render left
		}
	}
	if len(searchModes(s)) == 0 {
		for _, name := range SearchCharts() {
			files = append(files, render.File{Name: name})
		}
	}
	v := newView(s, charts)
	files = append(files,
		render.File{Name: MarkdownFile, Write: func(w io.Writer) error { return writeMarkdown(w, v) }},
		render.File{Name: HTMLFile, Write: func(w io.Writer) error { return writeHTML(w, v) }})
	if err := render.WriteFiles(dir, files); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
