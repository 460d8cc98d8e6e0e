package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// WriteText prints the summary table a terminal shows at the end of a run: notes, the
// verdict, the key figures side by side, and the thresholds.
func WriteText(w io.Writer, s *summary.Summary) error {
	v := newView(s, nil)
	var b strings.Builder
	b.WriteString(wrapText(v.Title+" — "+v.Subtitle, textWidth, "  "))
	b.WriteString(wrapText(v.Verdict+": "+v.Detail, textWidth, "  "))
	if v.Effect != "" {
		b.WriteString(wrapText(v.Effect, textWidth, "  "))
	}
	for _, l := range capacityLines(s) {
		b.WriteString(wrapText(l, textWidth, "  "))
	}
	for _, f := range searchModes(s) {
		if bn := f.CapacitySearch.Bottleneck; bn != nil && len(bn.Evidence) > 0 {
			b.WriteString(wrapText(fmt.Sprintf("Bottleneck (%s): %s — %s", modeLabel(f), bn.Resource, bn.Evidence[0]), textWidth, "  "))
		}
	}
	if len(searchModes(s)) > 0 {
		b.WriteString(wrapText("The knee: "+strings.Join(SearchCharts(), " and ")+" beside the report, and each step in it.", textWidth, "  "))
	}
	for _, n := range v.Notes {
		b.WriteString(wrapText("NOTE: "+n, textWidth, "      "))
	}
	for _, n := range repeatNote(s) {
		b.WriteString(wrapText(n, textWidth, "  "))
	}
	b.WriteByte('\n')
	writeTextTable(&b, figuresTable(s))
	if len(s.Thresholds) > 0 {
		b.WriteByte('\n')
		sec := thresholdSection(s.Thresholds)
		writeTextTable(&b, sec.Table)
		for _, f := range sec.Foot {
			b.WriteString(wrapText(f, textWidth, "    "))
		}
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

// textWidth is the width the terminal output keeps to.
const textWidth = 100

// wrapText breaks s at spaces into lines of at most width runes (a longer word stays whole),
// indenting every line after the first; it ends with a newline.
func wrapText(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		switch {
		case i == 0:
		case n+1+utf8.RuneCountInString(w) > width:
			b.WriteString("\n" + indent)
			n = utf8.RuneCountInString(indent)
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += utf8.RuneCountInString(w)
	}
	b.WriteByte('\n')
	return b.String()
}
