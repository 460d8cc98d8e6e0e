package check

import (
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/internal/driver"
)

// ownRec is an own route's record: a write to /v1/items/a carrying marker, or a read of it
// answering body; sent and lasting so many milliseconds.
func ownRec(method, marker string, sentMS, durMS, code int, body string) driver.Record {
	origin := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	req := &driver.Request{UserID: "u1", UserIndex: 1, Method: method, Route: method + " /v1/items/{item}",
		Path: "/v1/items/a", Own: true, Expect: []int{200}}
	if method != "GET" {
		req.Write, req.Marker, req.Changes, req.Expect = true, marker, []string{"/v1/items/a"}, []int{200, 201, 204}
	}
	res := &vegeta.Result{Code: uint16(code), Timestamp: origin.Add(time.Duration(sentMS) * time.Millisecond),
		Latency: time.Duration(durMS) * time.Millisecond, Body: []byte(body)}
	return driver.Record{Req: req, Res: res, Sent: time.Duration(sentMS) * time.Millisecond}
}

func TestOwnReadYourWrites(t *testing.T) {
	const m1, m2, old = "atlasbench-run1-1", "atlasbench-run1-2", "atlasbench-run0-7"
	w1 := ownRec("POST", m1, 0, 10, 201, "")
	w2 := ownRec("PUT", m2, 20, 10, 204, "")
	for _, tc := range []struct {
		name string
		recs []driver.Record
		want int64
	}{
		// The read after the ack shows the write.
		{"shows it", []driver.Record{w1, ownRec("GET", "", 15, 5, 200, `{"v":"`+m1+`"}`)}, 0},
		// It does not: stale.
		{"misses it", []driver.Record{w1, ownRec("GET", "", 15, 5, 200, `{"v":"nothing"}`)}, 1},
		// Only a marker of an earlier run: stale.
		{"earlier run's marker", []driver.Record{w1, ownRec("GET", "", 15, 5, 200, `{"v":"`+old+`"}`)}, 1},
		// Sent before the ack: may miss it.
		{"read before ack", []driver.Record{w1, ownRec("GET", "", 5, 20, 200, `{}`)}, 0},
		// w2 was sent after w1's ack and acknowledged: w1's marker is superseded.
		{"superseded", []driver.Record{w1, w2, ownRec("GET", "", 40, 5, 200, `{"v":"`+m1+`"}`)}, 1},
		{"latest", []driver.Record{w1, w2, ownRec("GET", "", 40, 5, 200, `{"v":"`+m2+`"}`)}, 0},
		// A newer write not yet acknowledged may show already.
		{"newer in flight", []driver.Record{w1, ownRec("GET", "", 15, 5, 200, `{"v":"atlasbench-run1-9"}`)}, 0},
		// A failed write acknowledges nothing.
		{"failed write", []driver.Record{ownRec("POST", m1, 0, 10, 500, ""), ownRec("GET", "", 15, 5, 200, `{}`)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := report(t, tc.recs...)
			if r.Stale != tc.want {
				t.Errorf("stale %d, want %d (%+v)", r.Stale, tc.want, r.Examples)
			}
			if tc.want > 0 && !strings.Contains(r.Examples[len(r.Examples)-1].Expected, "atlasbench-run1-") {
				t.Errorf("example does not name the marker: %+v", r.Examples)
			}
		})
	}
	// An own route's answer need not be JSON, and carries no owner unless a pointer is given.
	if r := report(t, ownRec("GET", "", 0, 5, 200, "plain text")); r.Errors != 0 || r.Isolation != 0 || r.Owners+r.Ownerless != 0 {
		t.Errorf("plain-text own answer: %+v", r)
	}
	if r := reportWith(t, "/owner", ownRec("GET", "", 0, 5, 200, `{"owner":"u2"}`), ownRec("GET", "", 10, 5, 200, `{"owner":"u1"}`)); r.Isolation != 1 {
		t.Errorf("own route with an owner pointer: isolation %d, want 1", r.Isolation)
	}
}
