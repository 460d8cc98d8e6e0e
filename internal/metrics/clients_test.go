package metrics

import (
	"math"
	"net/http"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
)

// TestClientCacheFigures: 304s, bytes saved, service times, Redis commands and saved loads
// per class, from the verdicts and the server's headers; nothing without client caches.
func TestClientCacheFigures(t *testing.T) {
	get := func(class string, device int, kept *driver.Copy, code int, ms int, hdr map[string]string) check.Verdict {
		h := http.Header{}
		for k, v := range hdr {
			h.Set(k, v)
		}
		return check.Verdict{Record: driver.Record{
			Req: &driver.Request{Method: "GET", Class: class, Device: device, Kept: kept},
			Res: &vegeta.Result{Code: uint16(code), Latency: time.Duration(ms) * time.Millisecond, Headers: h},
		}}
	}
	copyOf := func(n int) *driver.Copy { return &driver.Copy{ETag: `"e"`, Body: make([]byte, n)} }

	var off clientAcc
	off.add(get("apiResponses", 1, nil, 200, 4, nil))
	if f := off.figures(check.Report{}); f != nil {
		t.Fatalf("no conditional request, yet client-cache figures %+v", f)
	}

	var a clientAcc
	for _, v := range []check.Verdict{
		get("apiResponses", 0, nil, 200, 8, nil),
		get("apiResponses", 1, copyOf(1000), 304, 2, map[string]string{"X-Atlas-Revalidated": "entry", "X-Atlas-Redis-Commands": "1"}),
		get("apiResponses", 1, copyOf(500), 304, 2, map[string]string{"X-Atlas-Revalidated": "generations", "X-Atlas-Redis-Commands": "1"}),
		get("apiResponses", 0, copyOf(700), 200, 8, nil), // the copy was out of date
		get("userProfile", 1, copyOf(100), 304, 3, map[string]string{"X-Atlas-Revalidated": "body"}),
		{Record: driver.Record{Req: &driver.Request{Method: "POST", Class: "writes"}, Res: &vegeta.Result{Code: 201}}},
	} {
		a.add(v)
	}
	f := a.figures(check.Report{ClientStale: map[string]int64{"userProfile": 1}})
	if f == nil || f.Devices != 2 {
		t.Fatalf("figures %+v", f)
	}
	m := f.ByClass["apiResponses"]
	if m.Gets != 4 || m.Conditional != 3 || m.NotModified != 2 || m.Share304 != 0.5 || m.BytesSaved != 1500 ||
		m.DBLoadsSaved != 1 || m.RedisCommandsPer304 != 1 || math.Abs(m.P50304MS-2) > 0.01 || math.Abs(m.P50200MS-8) > 0.01 || m.StaleReads != 0 {
		t.Errorf("apiResponses %+v", m)
	}
	p := f.ByClass["userProfile"]
	if p.NotModified != 1 || p.FromBody != 1 || p.RedisCommandsPer304 != 0 || p.StaleReads != 1 {
		t.Errorf("userProfile %+v", p)
	}
	if tot := f.Total; tot.Gets != 5 || tot.NotModified != 3 || tot.BytesSaved != 1600 || tot.StaleReads != 1 || tot.Share304 != 0.6 {
		t.Errorf("total %+v", tot)
	}
	if _, ok := f.ByClass["writes"]; ok {
		t.Error("writes counted as a cache class")
	}
}
