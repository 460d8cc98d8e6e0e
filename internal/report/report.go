package report

import (
	"errors"
	"fmt"
	"github.com/atlasbench/atlasbench/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"

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
	for _, c := range charts {
		path := filepath.Join(dir, c.Name)
		if c.PNG == nil {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("report: %w", err)
			}
			continue
		}
		if err := writeFile(path, func(w io.Writer) error { _, err := w.Write(c.PNG); return err }); err != nil {
			return err
		}
	}
	v := newView(s, charts)
	if err := writeFile(filepath.Join(dir, MarkdownFile), func(w io.Writer) error { return writeMarkdown(w, v) }); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, HTMLFile), func(w io.Writer) error { return writeHTML(w, v) })
}

// writeFile writes path atomically (see atomicfile).
func writeFile(path string, render func(io.Writer) error) error {
	if err := atomicfile.Write(path, render); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
