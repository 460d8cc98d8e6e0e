package compare

import (
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestClientCacheRows: the client-cache rows appear when one run had client caches, with no
// value for the run without; they do not appear otherwise.
func TestClientCacheRows(t *testing.T) {
	off := synthetic(cfgDefault, "core", false)
	on := synthetic(cfgDefault, "core", false)
	if tbl, err := Render(t.TempDir(), []Run{{Config: "off", Summary: off}, {Config: "on", Summary: on}}); err != nil {
		t.Fatal(err)
	} else if _, ok := tbl.Value("on", "client_cache.total.share_304"); ok {
		t.Fatal("client-cache rows without client caches")
	}
	on.ClientCache = &summary.ClientCache{Devices: 2, Total: summary.ClientCacheClass{Gets: 100, NotModified: 40, Share304: 0.4, BytesSaved: 5000, StaleReads: 0}}
	tbl, err := Render(t.TempDir(), []Run{{Config: "off", Summary: off}, {Config: "on", Summary: on}})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := tbl.Value("on", "client_cache.total.share_304"); !ok || v != 0.4 {
		t.Errorf("share of 304s: %v %v, want 0.4", v, ok)
	}
	if v, ok := tbl.Value("on", "client_cache.total.bytes_saved"); !ok || v != 5000 {
		t.Errorf("bytes saved: %v %v, want 5000", v, ok)
	}
	if _, ok := tbl.Value("off", "client_cache.total.share_304"); ok {
		t.Error("the run without client caches has a 304 share")
	}
}
