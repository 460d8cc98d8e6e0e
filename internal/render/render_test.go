package render

import (
	"bytes"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFilesWritesAndRemovesStale(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "old.png")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteFiles(dir, []File{
		{Name: "old.png"}, // not drawn this time
		{Name: "a.png", Data: []byte("png")},
		{Name: "a.md", Write: func(w io.Writer) error { _, err := io.WriteString(w, "# a\n"); return err }},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale chart still there: %v", err)
	}
	for name, want := range map[string]string{"a.png": "png", "a.md": "# a\n"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestMarkdownTextAndTicks(t *testing.T) {
	if got := MarkdownText("a|b *c*\n<d>"); got != `a\|b \*c\* \<d\>` {
		t.Errorf("MarkdownText = %q", got)
	}
	for _, tt := range []struct {
		span float64
		n    int
		want float64
	}{{100, 5, 20}, {7, 6, 2}, {0.9, 6, 0.2}, {12, 5, 2.5}} {
		if got := NiceStep(tt.span, tt.n); got != tt.want {
			t.Errorf("NiceStep(%v, %d) = %v, want %v", tt.span, tt.n, got, tt.want)
		}
	}
	if TickLabel(0.1+0.2) != "0.3" || TickLabel(0) != "0" {
		t.Errorf("TickLabel(0.1+0.2) = %q", TickLabel(0.1+0.2))
	}
	ticks := PercentTicks()
	if len(ticks) != 11 || ticks[10].Label != "100%" || ticks[1].Label != "" {
		t.Errorf("PercentTicks = %v", ticks)
	}
}

func TestPageIsAChartSizedPNG(t *testing.T) {
	p := NewPage("title")
	p.Legend([]LegendEntry{}, 10, 20)
	data, err := p.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != ChartWidth || b.Dy() != ChartHeight {
		t.Errorf("page is %dx%d, want %dx%d", b.Dx(), b.Dy(), ChartWidth, ChartHeight)
	}
}
