package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// WriteText prints the summary table a terminal shows at the end of a run: notes, the
// verdict, the key figures side by side, and the thresholds.
func WriteText(w io.Writer, s *summary.Summary) error {
	v := newView(s, nil)
	var b strings.Builder
	for _, n := range v.Notes {
		fmt.Fprintf(&b, "NOTE: %s\n", n)
	}
	fmt.Fprintf(&b, "%s — %s\n", v.Title, v.Subtitle)
	fmt.Fprintf(&b, "%s: %s\n", v.Verdict, v.Detail)
	if v.Effect != "" {
		fmt.Fprintln(&b, v.Effect)
	}
	b.WriteByte('\n')
	writeTextTable(&b, figuresTable(s))
	if len(s.Thresholds) > 0 {
		b.WriteByte('\n')
		writeTextTable(&b, thresholdSection(s.Thresholds).Table)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTextTable aligns a table's columns with spaces.
func writeTextTable(w io.Writer, t *table) {
	if t == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Head, "\t"))
	for _, row := range t.Rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}
