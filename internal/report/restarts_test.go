package report

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestRestartsTable: a run with restarts has their table in report.md and report.html, one
// row each; a stop without a start shows dashes where a restart has its first seconds.
func TestRestartsTable(t *testing.T) {
	t.Parallel()
	s := sampleSummary()
	ready := 1.25
	s.Restarts = []summary.Restart{
		{Server: 1, TermS: 10, ExitS: 1.1, ReadyS: &ready, InFlight: 4, Errors: 0,
			Drain: &summary.Drain{InFlight: 4, DelayMS: 1000, DrainMS: 12.5, Pending: 3, HandedOver: 3},
			First: &summary.FirstWindow{Seconds: 3, Requests: 150, HitRate: 0.9, P99: 21.5}},
		{Server: 2, TermS: 20, ExitS: 0.01, InFlight: 2, Errors: 2},
	}
	dir := renderRun(t, s)
	md := readFile(t, filepath.Join(dir, MarkdownFile))
	for _, want := range []string{
		"Restarts (",
		"| 1 | 10.0 | 4 | 1.10 | 12.5 | 0 | 3 / 0 | 1.25 | 0 | 150 | 90.0% | 21.5 |",
		"| 2 | 20.0 | 2 | 0.01 | — | — | — | — | 2 | — | — | — |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if html := readFile(t, filepath.Join(dir, HTMLFile)); !strings.Contains(html, "Restarts (") {
		t.Error("report.html lacks the restarts table")
	}
}
