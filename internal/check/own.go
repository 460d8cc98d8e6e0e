package check

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/driver"
)

// Own routes (driver.Request.Own): routes of the target the harness has no model of. Their
// answers are judged for what the harness can know: the status (Status, against the mix
// entry's expect), the owner where an owner pointer is given (Options.Owner), and
// read-your-writes where a write declares the reads it changes:
//
//   - an own write carries a unique marker (driver.MarkerPrefix…) in its body and the
//     concrete paths of the reads it changes (Request.Changes);
//   - once it is acknowledged (2xx), a read of one of those paths sent after the
//     acknowledgement must carry the marker of a write that is not superseded: of the writes
//     to that path acknowledged before the read was sent, one whose acknowledgement is no
//     older than the latest send among them (a write sent after another was acknowledged
//     replaces it), or of a write the read could have seen that was not acknowledged
//     before it (in flight, failed, later). A read that carries none is a stale read.

// maxOwnAcks bounds the acknowledged writes remembered per path.
const maxOwnAcks = 256

// ownAck is an acknowledged own write, as a read of a path it changes sees it.
type ownAck struct {
	marker    string
	sent, end time.Time
}

// judgeOwn judges the answer to an own route's request (v.Error already set by Status).
func (c *Checker) judgeOwn(v *Verdict) {
	r := v.Record
	req, res := r.Req, r.Res
	if v.Error != "" || res.Code < 200 || res.Code >= 300 {
		return
	}
	if req.Write {
		c.ackOwn(r)
		return
	}
	if at := c.o.Owner.String(); at != "" {
		owner, ok := c.o.Owner.Owner(res.Body)
		switch {
		case !ok:
			v.Findings = append(v.Findings, Finding{Kind: KindIsolation, Expected: at + " " + strconv.Quote(req.UserID), Got: noOwner, ownerless: true})
		case owner != req.UserID:
			v.Findings = append(v.Findings, Finding{Kind: KindIsolation, Expected: at + " " + strconv.Quote(req.UserID), Got: at + " " + strconv.Quote(owner)})
		}
		if !r.Warmup {
			if ok {
				c.report.Owners++
			} else {
				c.report.Ownerless++
			}
		}
		if len(v.Findings) > 0 {
			return // a foreign body says nothing about the requester's writes
		}
	}
	v.Findings = append(v.Findings, c.readYourWrites(r)...)
}

// ackOwn remembers an acknowledged own write for every path it changes.
func (c *Checker) ackOwn(r driver.Record) {
	if len(r.Req.Changes) == 0 || r.Req.Marker == "" {
		return
	}
	if c.own == nil {
		c.own = map[string][]ownAck{}
	}
	a := ownAck{marker: r.Req.Marker, sent: r.Res.Timestamp, end: r.Res.End()}
	for _, path := range r.Req.Changes {
		list := append(c.own[path], a)
		if len(list) > maxOwnAcks {
			list = slices.Delete(list, 0, len(list)-maxOwnAcks)
		}
		c.own[path] = list
	}
}

// readYourWrites checks a read of an own path against the writes acknowledged before it
// was sent.
func (c *Checker) readYourWrites(r driver.Record) []Finding {
	path, _, _ := strings.Cut(r.Req.Path, "?")
	list := c.own[path]
	if len(list) == 0 {
		return nil
	}
	sent := r.Res.Timestamp
	var latestSend time.Time
	var last *ownAck
	acked := map[string]ownAck{}
	for i, a := range list {
		if !a.end.Before(sent) {
			continue // acknowledged after the read was sent: it may or may not show
		}
		acked[a.marker] = a
		if a.sent.After(latestSend) {
			latestSend = a.sent
		}
		if last == nil || a.end.After(last.end) {
			last = &list[i]
		}
	}
	if last == nil {
		return nil
	}
	run := last.marker[:strings.LastIndexByte(last.marker, '-')+1] // MarkerPrefix + this run's nonce + "-"
	found := slices.DeleteFunc(markers(r.Res.Body), func(m string) bool { return !strings.HasPrefix(m, run) })
	for _, m := range found {
		a, known := acked[m]
		if !known || !a.end.Before(latestSend) {
			return nil // a write not yet acknowledged when the read was sent, or one not superseded
		}
	}
	got := "no marker of this run's writes"
	if len(found) > 0 {
		got = "only superseded markers: " + strings.Join(found, ", ")
	}
	return []Finding{{Kind: KindStale, Expected: fmt.Sprintf("the marker %s of the write acknowledged %s before this read was sent (or a newer one)",
		last.marker, sent.Sub(last.end).Round(time.Microsecond)), Got: got}}
}

// markers returns the write markers in a body (driver.MarkerPrefix, then [0-9a-z-]).
func markers(body []byte) []string {
	var out []string
	prefix := []byte(driver.MarkerPrefix)
	for {
		i := bytes.Index(body, prefix)
		if i < 0 {
			return out
		}
		j := i + len(prefix)
		for j < len(body) && (body[j] >= '0' && body[j] <= '9' || body[j] >= 'a' && body[j] <= 'z' || body[j] == '-') {
			j++
		}
		out = append(out, string(body[i:j]))
		body = body[j:]
	}
}
