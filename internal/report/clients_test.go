package report

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestClientCacheSection: a run with client caches gets a section with each class's 304
// share, bytes saved, 304 and 200 latency and stale reads; a run without has none.
func TestClientCacheSection(t *testing.T) {
	t.Parallel()
	s := sampleSummary()
	if clientCacheSection(s) != nil {
		t.Fatal("a section without client caches")
	}
	s.Figures.ClientCache = &summary.ClientCache{Devices: 2,
		ByClass: map[string]summary.ClientCacheClass{"apiResponses": {Gets: 200, NotModified: 150, Share304: 0.75,
			BytesSaved: 3 << 20, P50304MS: 0.41, P50200MS: 1.9, RedisCommandsPer304: 1, DBLoadsSaved: 7, StaleReads: 0}},
		Total: summary.ClientCacheClass{Gets: 300, NotModified: 150, Share304: 0.5, BytesSaved: 3 << 20}}
	md := readFile(t, filepath.Join(renderRun(t, s), MarkdownFile))
	for _, want := range []string{"## Client caches", "2 devices per user", "| cache | apiResponses | 200 | 75.0% | 3.00 MiB | 0.410 / 1.90 | 1.00 | 7 | 0 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}
