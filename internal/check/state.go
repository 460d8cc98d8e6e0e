package check

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/driver"
)

// userState is what the checks remember about one user.
type userState struct {
	puts     []put     // every PUT /api/me/tier seen, in order of completion
	suspects []suspect // tier mismatches waiting for overlapping PUTs
	convs    []ack     // acknowledged POST /api/conversations, newest last, at most maxAcks
}

// put is one PUT /api/me/tier as the harness saw it.
type put struct {
	sent, end time.Time
	tier      string
	applied   bool // 2xx: the server acknowledged the change
	unknown   bool // 5xx or transport failure: it may or may not have been applied
}

// suspect is a response whose tier disagreed with the last acknowledged change when it was
// judged; it is counted once no PUT that could explain it can still arrive.
type suspect struct {
	rec       driver.Record
	header    string  // X-Atlas-Tier
	bodyTier  *string // "tier" of a GET /api/me or /api/me/tier body; nil when not read
	bodyRead  bool
	sent, end time.Time
	kind      string // the finding's kind: KindTier, or KindStale for a device's kept copy
}

// convState is what the checks remember about one conversation.
type convState struct {
	acks []ack // acknowledged POST …/messages, at most maxAcks
}

// ack is one acknowledged creation.
type ack struct {
	id      string
	num     int64
	created time.Time
	acked   time.Time
	ackS    float64 // acked, in seconds from the end of warm-up
}

func (c *Checker) user(id string) *userState {
	u, ok := c.users[id]
	if !ok {
		u = &userState{}
		c.users[id] = u
	}
	return u
}

// expectedTier returns the tier a request of this user, in flight over [sent, end], must be
// served as, and false when no claim can be made (no acknowledged change yet, or ambiguous).
func (u *userState) expectedTier(sent, end time.Time) (string, bool) {
	var base *put
	for i := range u.puts {
		p := &u.puts[i]
		if !p.sent.Before(end) {
			continue // sent after the request ended: cannot have affected it
		}
		if p.end.After(sent) {
			return "", false // in flight while the request was: ambiguous
		}
		if p.applied && (base == nil || p.end.After(base.end)) {
			base = p
		}
	}
	if base == nil {
		return "", false
	}
	for i := range u.puts {
		p := &u.puts[i]
		if p == base || !p.end.Before(sent) {
			continue
		}
		// A failure of unknown effect not strictly before the baseline was sent may have
		// landed after it.
		if p.unknown && !p.end.Before(base.sent) {
			return "", false
		}
		// Two acknowledged changes that overlapped: either may have been applied last.
		if p.applied && p.tier != base.tier && p.sent.Before(base.end) && p.end.After(base.sent) {
			return "", false
		}
	}
	return base.tier, true
}

// checkTier compares what a response says about the tier with the last acknowledged change.
func (c *Checker) checkTier(u *userState, r driver.Record, b *body, bodyOK bool) {
	s := suspect{rec: r, header: r.Res.Headers.Get("X-Atlas-Tier"), sent: r.Res.Timestamp, end: r.Res.End(), kind: KindTier}
	if bodyOK && (r.Req.Route == "GET /api/me" || r.Req.Route == "GET /api/me/tier") {
		s.bodyRead, s.bodyTier = true, b.Tier
	}
	want, ok := u.expectedTier(s.sent, s.end)
	if !ok || s.mismatch(want) == "" {
		return
	}
	u.suspects = append(u.suspects, s)
	c.suspect[u] = struct{}{}
}

// mismatch describes how the response disagrees with want; empty when it does not.
func (s *suspect) mismatch(want string) string {
	var bad []string
	if s.header != want {
		h := s.header
		if h == "" {
			h = "(none)"
		}
		label := "X-Atlas-Tier: "
		if s.kind == KindStale {
			label = "revalidated a copy served as " // checkKeptTier: the kept copy's tier
		}
		bad = append(bad, label+h)
	}
	if s.bodyRead {
		switch {
		case s.bodyTier == nil:
			bad = append(bad, "no tier in the body")
		case *s.bodyTier != want:
			bad = append(bad, `body "tier": "`+*s.bodyTier+`"`)
		}
	}
	return strings.Join(bad, ", ")
}

// settleSuspects counts the suspects no PUT can clear any more (all of them when final).
func (c *Checker) settleSuspects(final bool) {
	for u := range c.suspect {
		keep := u.suspects[:0]
		for _, s := range u.suspects {
			if !final && !c.released.After(s.end.Add(c.o.Horizon)) {
				keep = append(keep, s)
				continue
			}
			// Decide again with every PUT seen since.
			if want, ok := u.expectedTier(s.sent, s.end); ok {
				if got := s.mismatch(want); got != "" {
					c.countFinding(s.rec, Finding{Kind: s.kind, Expected: "tier " + want + " (acknowledged change)", Got: got})
				}
			}
		}
		clear(u.suspects[len(keep):])
		u.suspects = keep
		if len(keep) == 0 {
			delete(c.suspect, u)
		}
	}
}

// staleness checks a read against the writes acknowledged before it was sent.
func (c *Checker) staleness(u *userState, r driver.Record, b *body) []Finding {
	sent := r.Res.Timestamp
	switch {
	case r.Req.Method == "GET" && r.Req.ConversationID != "" && strings.HasSuffix(r.Req.Route, "/messages"):
		cs := c.convs[r.Req.ConversationID]
		if cs == nil {
			return nil
		}
		full := r.Req.Limit > 0 && len(b.Messages) >= r.Req.Limit
		return missing(cs.acks, b.Messages, sent, full, "message", r.Req.ConversationID)
	case r.Req.Method == "GET" && r.Req.Route == "GET /api/conversations":
		// The list has no limit parameter; a server that caps it drops the oldest.
		return missing(u.convs, b.Conversations, sent, true, "conversation", "the list")
	}
	return nil
}

// missing reports the acks older than sent that a newest-first page does not show, unless
// the page may have been cut (full) and the ack is older than the oldest item shown.
func missing(acks []ack, page []item, sent time.Time, full bool, what, where string) []Finding {
	var out []Finding
	var ids map[string]bool
	var oldest *ack
	for _, a := range acks {
		if !a.acked.Before(sent) {
			continue
		}
		if ids == nil {
			ids = make(map[string]bool, len(page))
			for _, it := range page {
				ids[it.ID] = true
			}
			if len(page) > 0 {
				o := toAck(page[len(page)-1])
				for _, it := range page {
					if x := toAck(it); older(x, o) {
						o = x
					}
				}
				oldest = &o
			}
		}
		if ids[a.id] {
			continue
		}
		if full && oldest != nil && older(a, *oldest) {
			continue
		}
		out = append(out, Finding{
			Kind:     KindStale,
			Expected: what + " " + a.id + " (acknowledged at " + strconv.FormatFloat(a.ackS, 'f', 3, 64) + "s) in " + where,
			Got:      strconv.Itoa(len(page)) + " items without it",
			Age:      sent.Sub(a.acked),
		})
		if len(out) >= 3 {
			break
		}
	}
	return out
}

func toAck(it item) ack {
	t, _ := time.Parse(time.RFC3339Nano, it.CreatedAt)
	return ack{id: it.ID, num: idNum(it.ID), created: t}
}

// older orders by creation time, then by numeric ID.
func older(a, b ack) bool {
	if !a.created.Equal(b.created) {
		return a.created.Before(b.created)
	}
	return a.num < b.num
}

// idNum is the number of "m123" or "c45"; -1 when there is none.
func idNum(id string) int64 {
	if len(id) < 2 {
		return -1
	}
	n, err := strconv.ParseInt(id[1:], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// remember updates the state with what this record acknowledged.
func (c *Checker) remember(u *userState, r driver.Record, b *body, bodyOK bool) {
	req, res := r.Req, r.Res
	switch {
	case req.Method == "PUT" && req.NewTier != "":
		p := put{sent: res.Timestamp, end: res.End(), tier: req.NewTier}
		switch {
		case res.Code >= 200 && res.Code < 300:
			p.applied = true
			if bodyOK && b.Tier != nil && *b.Tier != "" {
				p.tier = *b.Tier
			}
		case res.Code == 0 || res.Code >= 500:
			p.unknown = true
		default:
			return // refused: nothing changed
		}
		u.puts = append(u.puts, p)
		c.prunePuts(u)
	case req.Method == "POST" && res.Code == 201 && bodyOK && b.ID != "":
		a := ack{id: b.ID, num: idNum(b.ID), acked: res.End(), ackS: r.End().Seconds()}
		a.created, _ = time.Parse(time.RFC3339Nano, b.CreatedAt)
		if req.ConversationID != "" {
			cs := c.convs[req.ConversationID]
			if cs == nil {
				cs = &convState{}
				c.convs[req.ConversationID] = cs
			}
			cs.acks = appendAck(cs.acks, a)
		} else if req.Route == "POST /api/conversations" {
			u.convs = appendAck(u.convs, a)
		}
	}
}

// appendAck adds a and keeps the maxAcks newest.
func appendAck(acks []ack, a ack) []ack {
	acks = append(acks, a)
	if len(acks) > maxAcks {
		slices.SortFunc(acks, func(x, y ack) int {
			if older(x, y) {
				return -1
			}
			if older(y, x) {
				return 1
			}
			return 0
		})
		acks = slices.Delete(acks, 0, len(acks)-maxAcks)
	}
	return acks
}

// prunePuts forgets the PUTs that can no longer matter: everything that ended before the
// latest acknowledged change was sent, once that change is older than the horizon.
func (c *Checker) prunePuts(u *userState) {
	if len(u.puts) < 16 {
		return
	}
	var base *put
	for i := range u.puts {
		p := &u.puts[i]
		if p.applied && p.end.Before(c.released.Add(-c.o.Horizon)) && (base == nil || p.end.After(base.end)) {
			base = p
		}
	}
	if base == nil {
		return
	}
	cut := base.sent
	for _, s := range u.suspects {
		if s.sent.Before(cut) {
			cut = s.sent
		}
	}
	b := *base
	keep := u.puts[:0]
	for _, p := range u.puts {
		if p.end.Before(cut) && p != b {
			continue
		}
		keep = append(keep, p)
	}
	u.puts = keep
}
