package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/atlasbench/atlasbench/internal/report"
	"github.com/atlasbench/atlasbench/internal/summary"
)

const reportUsage = `report DIR

Re-renders report.md, report.html and the charts of a run directory from its summary.json,
without attacking again. Example: bench report reports/latest`

func runReport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", reportUsage, stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("report: want exactly one run directory, e.g. bench report reports/latest")
	}
	dir := fs.Arg(0)
	s, err := summary.Read(dir)
	if err != nil {
		return usageError{err}
	}
	if err := report.Render(dir, s); err != nil {
		return envError{err}
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", filepath.Join(dir, report.MarkdownFile), filepath.Join(dir, report.HTMLFile))
	return nil
}
