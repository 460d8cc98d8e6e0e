package report

import (
	"bytes"
	"errors"
	"fmt"
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

// writeFile renders into memory, then replaces path atomically, so a failed render never
// leaves half a report behind.
func writeFile(path string, render func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return fmt.Errorf("report: %s: %w", filepath.Base(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err = tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
