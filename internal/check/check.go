package check

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// Finding kinds, as in summary.Example.Kind.
const (
	KindIsolation = "isolation" // a body that is not the requester's
	KindTier      = "tier"      // served as another tier than the acknowledged one
	KindStale     = "stale"     // an acknowledged write missing from a later read
	KindError     = "error"     // an unexpected status or a transport failure
)

// Defaults of Options.
const (
	DefaultReorder     = 500 * time.Millisecond
	DefaultMaxExamples = 10
	// DefaultHorizon is how long after a request ended a PUT that overlapped it may still
	// arrive: the driver's request timeout plus a second.
	DefaultHorizon = driver.DefaultTimeout + time.Second
)

// maxAcks bounds the acknowledged writes remembered per conversation (and per user for
// conversations): the reference server never pages more than 200 messages, so a message
// with maxAcks newer acknowledged ones can appear on no page.
const maxAcks = 256

// Options configure a Checker. Zero values mean the defaults.
type Options struct {
	// Reorder is how long a record waits for records that ended before it. Default DefaultReorder.
	Reorder time.Duration
	// Horizon is how long a suspected tier violation waits for overlapping PUTs to arrive:
	// at least the driver's request timeout. Default DefaultHorizon.
	Horizon time.Duration
	// MaxExamples is how many examples are kept per kind. Default DefaultMaxExamples.
	MaxExamples int
	// Next receives every record's verdict, in order of completion time.
	Next func(Verdict)
	// Owner is where a body names its owner (ParsePointer). Zero: the Atlas model, the
	// top-level "userId" and that of every item of "conversations" and "messages"; another
	// pointer judges the top-level owner it names. Either way, when no measured body names
	// an owner, isolation is not applicable (Report.IsolationNA) instead of 0 violations.
	Owner Pointer
}

// Finding is one violation found in a response.
type Finding struct {
	Kind     string // KindIsolation, KindTier or KindStale
	Expected string
	Got      string
	// ownerless marks a body without a top-level owner: a violation when other bodies of
	// the run name theirs, nothing when none does (isolation is then not applicable).
	ownerless bool
	// Age is, for KindStale, how long before the read was sent the missing write had been
	// acknowledged: how stale the answer was at least.
	Age time.Duration
}

// Verdict is the judgement of one record.
type Verdict struct {
	driver.Record
	// Error is the error kind when the response is an error ("transport", "5xx",
	// "unexpected 404", "429 for core", …); empty when it is what was expected.
	Error string
	// Findings are the isolation and staleness violations found in this response (tier
	// violations are decided later and only reach the Report).
	Findings []Finding
}

// Report is the tally of the measured records (warm-up excluded).
type Report struct {
	Checked      int64            // measured records judged
	Errors       int64            // measured records with an Error
	ErrorsByKind map[string]int64 // by Verdict.Error
	Isolation    int64            // bodies that were not the requester's
	Tier         int64            // responses served as another tier than the acknowledged one
	Stale        int64            // acknowledged writes missing from later reads
	// ClientStale counts, by class, the stale reads (included in Stale) a device showed from
	// its kept copy on a 304: client-visible stale reads (clients.go).
	ClientStale map[string]int64
	Examples    []summary.Example
	StaleMax    time.Duration // the oldest acknowledged write a read missed (Finding.Age), 0 without stale reads
	// Owners and Ownerless count the measured 2xx bodies judged for isolation that named
	// an owner and that did not.
	Owners, Ownerless int64
	// IsolationNA is why isolation could not be judged (no measured body named an owner);
	// Isolation then counts no body for lacking one. Empty when it was judged.
	IsolationNA string
	ownerless   int64 // Isolation's share of bodies without an owner
}

// IsolationViolations is what summary.Figures.IsolationViolations counts: foreign bodies
// and tier violations.
func (r Report) IsolationViolations() int64 { return r.Isolation + r.Tier }

// Checker judges records; see the package comment for the rules. Add and Close are meant to
// be called from one goroutine (driver.Config.Sink); Report may be called from any.
type Checker struct {
	o        Options
	mu       sync.Mutex
	pending  recordHeap
	newest   time.Time // the latest end time added
	released time.Time // the latest end time judged
	users    map[string]*userState
	suspect  map[*userState]struct{} // users with tier suspects waiting: settleSuspects visits only these
	convs    map[string]*convState
	report   Report
	examples map[string]int
	own      map[string][]ownAck // own routes: acknowledged writes by the path of a read they change (own.go)
}

// New returns a Checker.
func New(o Options) *Checker {
	if o.Reorder <= 0 {
		o.Reorder = DefaultReorder
	}
	if o.Horizon <= 0 {
		o.Horizon = DefaultHorizon
	}
	if o.MaxExamples <= 0 {
		o.MaxExamples = DefaultMaxExamples
	}
	return &Checker{
		o:        o,
		users:    map[string]*userState{},
		suspect:  map[*userState]struct{}{},
		convs:    map[string]*convState{},
		report:   Report{ErrorsByKind: map[string]int64{}, ClientStale: map[string]int64{}},
		examples: map[string]int{},
	}
}

// Add takes one record; it is judged once no record ending before it can still arrive.
func (c *Checker) Add(r driver.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := r.Res.End()
	c.pending.push(r)
	if end.After(c.newest) {
		c.newest = end
	}
	cutoff := c.newest.Add(-c.o.Reorder)
	for len(c.pending) > 0 && c.pending[0].rec.Res.End().Before(cutoff) {
		c.judge(c.pending.pop())
	}
	c.settleSuspects(false)
}

// Close judges every record still waiting and settles every pending decision. Add must not
// be called after Close.
func (c *Checker) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) > 0 {
		c.judge(c.pending.pop())
	}
	c.settleSuspects(true)
}

// Report returns the tally so far (final after Close).
func (c *Checker) Report() Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.report
	r.ErrorsByKind = maps.Clone(c.report.ErrorsByKind)
	r.ClientStale = maps.Clone(c.report.ClientStale)
	r.Examples = slices.Clone(c.report.Examples)
	if r.Owners == 0 && r.Ownerless > 0 {
		at := c.o.Owner.String()
		if at == "" {
			at = DefaultOwner
		}
		r.IsolationNA = fmt.Sprintf("none of the %d answers judged names an owner at %s (bench run -owner names where yours do)", r.Ownerless, at)
		r.Isolation -= r.ownerless
		r.Examples = slices.DeleteFunc(r.Examples, func(e summary.Example) bool { return e.Kind == KindIsolation && e.Got == noOwner })
	}
	return r
}

// noOwner is what a finding on a body without an owner got.
const noOwner = "no owner"

// isolation judges whether a 2xx body belongs to the requester, and counts whether it
// named an owner at all (measured records only).
func (c *Checker) isolation(r driver.Record, b *body) []Finding {
	req := r.Req
	var out []Finding
	named := b.UserID != nil
	if at := c.o.Owner.String(); at != "" {
		owner, ok := c.o.Owner.Owner(r.Res.Body)
		named = ok
		switch {
		case !ok:
			out = append(out, Finding{Kind: KindIsolation, Expected: at + " " + strconv.Quote(req.UserID), Got: noOwner, ownerless: true})
		case owner != req.UserID:
			out = append(out, Finding{Kind: KindIsolation, Expected: at + " " + strconv.Quote(req.UserID), Got: at + " " + strconv.Quote(owner)})
		}
	} else {
		out = isolation(req, b)
	}
	if !r.Warmup {
		if named {
			c.report.Owners++
		} else {
			c.report.Ownerless++
		}
	}
	return out
}

// body is what the checks read of a JSON answer.
type body struct {
	UserID        *string `json:"userId"`
	Tier          *string `json:"tier"`
	ID            string  `json:"id"`
	CreatedAt     string  `json:"createdAt"`
	Conversations []item  `json:"conversations"`
	Messages      []item  `json:"messages"`
}

type item struct {
	ID        string  `json:"id"`
	UserID    *string `json:"userId"`
	CreatedAt string  `json:"createdAt"`
}

// judge applies every check to one record, in order of completion time.
func (c *Checker) judge(r driver.Record) {
	if r.Res.End().After(c.released) {
		c.released = r.Res.End()
	}
	v := Verdict{Record: r}
	req, res := r.Req, r.Res
	if req == nil {
		v.Error = "unmatched"
		c.count(v)
		return
	}
	v.Error = Status(req, res)
	if req.Own {
		c.judgeOwn(&v)
		c.count(v)
		if c.o.Next != nil {
			c.o.Next(v)
		}
		return
	}
	if req.Attack != "" {
		c.judgeAttack(&v)
		c.count(v)
		if c.o.Next != nil {
			c.o.Next(v)
		}
		return
	}
	revalidated := r.Revalidated()
	ok := res.Code >= 200 && res.Code < 300 || revalidated
	var b body
	if ok && v.Error == "" {
		if err := decodeBody(r.Shown(), &b, &req.UserID); err != nil {
			v.Error = "invalid json"
			ok = false
		}
	}
	u := c.user(req.UserID)
	if ok && v.Error == "" {
		v.Findings = append(v.Findings, c.isolation(r, &b)...)
		if len(v.Findings) == 0 { // a foreign body says nothing about the requester's writes
			v.Findings = append(v.Findings, c.staleness(u, r, &b)...)
		}
	}
	if req.Method != "PUT" && res.Code != 0 && res.Code != 401 && res.Code < 500 {
		c.checkTier(u, r, &b, ok && v.Error == "" && !revalidated)
		if revalidated && v.Error == "" {
			c.checkKeptTier(u, r, &b)
		}
	}
	c.remember(u, r, &b, ok && v.Error == "")
	c.count(v)
	if c.o.Next != nil {
		c.o.Next(v)
	}
}

// judgeAttack judges the answer to a hostile request (v.Error already set by Status): any
// 2xx body, expected or not, must be the requester's own; an expected 2xx answer must be
// served as the tier last acknowledged for the requester. Attacks add nothing to the state
// the other checks rely on (acknowledged writes and tier changes).
func (c *Checker) judgeAttack(v *Verdict) {
	req, res := v.Req, v.Res
	if res.Code < 200 || res.Code >= 300 {
		return
	}
	var b body
	if err := decodeBody(res.Body, &b, &req.UserID); err != nil {
		if v.Error == "" {
			v.Error = "attack " + req.Attack + ": invalid json"
		}
		return
	}
	v.Findings = append(v.Findings, isolation(req, &b)...)
	if v.Error == "" && req.Method != "PUT" {
		c.checkTier(c.user(req.UserID), v.Record, &b, true)
	}
}

// count adds a verdict to the report when it is in the measured window.
func (c *Checker) count(v Verdict) {
	if v.Warmup {
		return
	}
	c.report.Checked++
	if v.Error != "" {
		c.report.Errors++
		c.report.ErrorsByKind[v.Error]++
		c.example(KindError, v.Record, expectedStatus(v.Req), gotStatus(v.Res))
	}
	for _, f := range v.Findings {
		c.countFinding(v.Record, f)
	}
}

// countFinding adds one finding of a measured record to the report.
func (c *Checker) countFinding(r driver.Record, f Finding) {
	if r.Warmup {
		return
	}
	switch f.Kind {
	case KindIsolation:
		c.report.Isolation++
		if f.ownerless {
			c.report.ownerless++
		}
	case KindStale:
		c.report.Stale++
		if r.Revalidated() {
			c.report.ClientStale[r.Req.Class]++
		}
		c.report.StaleMax = max(c.report.StaleMax, f.Age)
	case KindTier:
		c.report.Tier++
	}
	c.example(f.Kind, r, f.Expected, f.Got)
}

func (c *Checker) example(kind string, r driver.Record, expected, got string) {
	if c.examples[kind] >= c.o.MaxExamples {
		return
	}
	c.examples[kind]++
	what := "(unmatched) " + r.Res.Method + " " + r.Res.URL
	if r.Req != nil {
		what = r.Req.String()
	}
	c.report.Examples = append(c.report.Examples, summary.Example{
		Kind: kind, Request: what, Expected: expected, Got: got, AtS: r.Sent.Seconds(),
	})
}

// Status classifies a response: "" when its status is one the request expects, else the
// error kind. POST …/messages may answer 429 only to a free-tier user (X-Atlas-Tier: free).
// An attack's answer must be one of its Expect, never a 5xx; else the kind is
// "attack <kind>: <status>" ("attack <kind>: transport" or "…: timeout" without one).
func Status(req *driver.Request, res *vegeta.Result) string {
	if req.Attack != "" {
		switch {
		case res.Code == 0 && isTimeout(res.Error):
			return "attack " + req.Attack + ": timeout"
		case res.Code == 0:
			return "attack " + req.Attack + ": transport"
		case res.Code >= 500 || !slices.Contains(req.Expect, int(res.Code)):
			return "attack " + req.Attack + ": " + strconv.Itoa(int(res.Code))
		}
		return ""
	}
	switch {
	case res.Code == 0:
		if isTimeout(res.Error) {
			return "timeout"
		}
		return "transport"
	case res.Code >= 500:
		return "5xx"
	case res.Code == 304 && req.Kept != nil:
		return "" // the device's copy is current: judged as the copy it shows
	case res.Code == 429 && req.Method == "POST" && req.ConversationID != "":
		if t := res.Headers.Get("X-Atlas-Tier"); t != "free" {
			if t == "" {
				t = "unknown tier"
			}
			return "429 for " + t
		}
		return ""
	case slices.Contains(req.Expect, int(res.Code)):
		return ""
	}
	return "unexpected " + strconv.Itoa(int(res.Code))
}

func isTimeout(msg string) bool {
	return strings.Contains(msg, "Client.Timeout") || strings.Contains(msg, "deadline exceeded") ||
		strings.Contains(msg, "timeout")
}

func expectedStatus(req *driver.Request) string {
	if req == nil {
		return "a planned request"
	}
	s := make([]string, len(req.Expect))
	for i, c := range req.Expect {
		s[i] = strconv.Itoa(c)
	}
	return "status " + strings.Join(s, " or ")
}

func gotStatus(res *vegeta.Result) string {
	if res.Code == 0 {
		return "transport error: " + res.Error
	}
	b := string(res.Body)
	if len(b) > 160 {
		b = b[:160] + "…"
	}
	return strconv.Itoa(int(res.Code)) + " " + strings.TrimSpace(b)
}

// isolation checks that a body and its items belong to the requester.
func isolation(req *driver.Request, b *body) []Finding {
	var out []Finding
	if b.UserID == nil {
		out = append(out, Finding{Kind: KindIsolation, Expected: `"userId": "` + req.UserID + `"`, Got: noOwner, ownerless: true})
	} else if *b.UserID != req.UserID {
		out = append(out, Finding{Kind: KindIsolation, Expected: `"userId": "` + req.UserID + `"`, Got: `"userId": "` + *b.UserID + `"`})
	}
	check := func(list string, items []item) {
		for i, it := range items {
			switch {
			case it.UserID == nil:
				out = append(out, Finding{Kind: KindIsolation, Expected: fmt.Sprintf(`%s[%d].userId "%s"`, list, i, req.UserID), Got: "no userId"})
			case *it.UserID != req.UserID:
				out = append(out, Finding{Kind: KindIsolation, Expected: fmt.Sprintf(`%s[%d].userId "%s"`, list, i, req.UserID), Got: fmt.Sprintf(`%q (%s)`, *it.UserID, it.ID)})
			default:
				continue
			}
			return // one finding per list is enough
		}
	}
	check("conversations", b.Conversations)
	check("messages", b.Messages)
	return out
}

// recordHeap is a binary min-heap of records by end time, typed: container/heap would box
// every record (a large struct) into an interface on Push and Pop. Each entry carries its
// end time, so that sifting compares within the heap's own array instead of following every
// record's Res pointer (a cache miss per comparison with thousands of records waiting).
type recordHeap []pendingRecord

type pendingRecord struct {
	end time.Duration // rec.End(): durations are cheaper to compare than time.Time
	rec driver.Record
}

func (h recordHeap) less(i, j int) bool { return h[i].end < h[j].end }

func (h *recordHeap) push(r driver.Record) {
	*h = append(*h, pendingRecord{end: r.End(), rec: r})
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *recordHeap) pop() driver.Record {
	s := *h
	n := len(s) - 1
	top := s[0].rec
	s[0] = s[n]
	s[n] = pendingRecord{}
	s = s[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
