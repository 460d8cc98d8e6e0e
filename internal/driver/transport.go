package driver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// tracker matches vegeta results to planned requests. The targeter parks each request under
// its plan index; the RoundTripper, which sees both X-Request-Id and X-Vegeta-Seq, moves it
// under the seq before the request leaves; the result consumer takes it by Result.Seq.
//
// It also recycles the targets' header maps: vegeta copies a target's header into the
// http.Request it builds before the round trip, so once the RoundTripper has seen the
// request, the map the targeter filled is free again.
type tracker struct {
	mu      sync.Mutex
	byIndex map[uint64]parked
	bySeq   map[uint64]*Request
	headers sync.Pool // of *targetHeader
}

// parked is a planned request waiting for its round trip, with the header it was sent with.
type parked struct {
	req *Request
	hdr *targetHeader
}

// targetHeader is one target's header map, with room for the request ID's value.
type targetHeader struct {
	h  http.Header
	id [1]string
}

func newTracker() *tracker {
	return &tracker{byIndex: map[uint64]parked{}, bySeq: map[uint64]*Request{}}
}

// header returns an empty header map for a target.
func (t *tracker) header() *targetHeader {
	if th, ok := t.headers.Get().(*targetHeader); ok {
		return th
	}
	return &targetHeader{h: make(http.Header, 8)}
}

func (t *tracker) park(r *Request, th *targetHeader) {
	t.mu.Lock()
	t.byIndex[r.Index] = parked{req: r, hdr: th}
	t.mu.Unlock()
}

// bind moves the request with plan index idx under vegeta's seq, and takes its header map
// back for reuse.
func (t *tracker) bind(idx, seq uint64) {
	t.mu.Lock()
	p, ok := t.byIndex[idx]
	if ok {
		delete(t.byIndex, idx)
		t.bySeq[seq] = p.req
	}
	t.mu.Unlock()
	if p.hdr != nil {
		clear(p.hdr.h)
		p.hdr.id[0] = ""
		t.headers.Put(p.hdr)
	}
}

// take returns and forgets the request sent as seq.
func (t *tracker) take(seq uint64) (*Request, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.bySeq[seq]
	if ok {
		delete(t.bySeq, seq)
	}
	return r, ok
}

// roundTripper records seq → request before sending, counts sends, and bounds each request,
// reading the body included, by timeout (what http.Client.Timeout would do, without its
// per-request goroutine for round trippers it does not know, and without a context and a
// timer per request: see sharedDeadline).
type roundTripper struct {
	next      http.RoundTripper
	tracker   *tracker
	deadlines *sharedDeadline // nil: no timeout
	sent      atomic.Int64
}

// RoundTrip implements http.RoundTripper.
func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	idx, err1 := strconv.ParseUint(headerValue(req.Header, "X-Request-Id"), 10, 64)
	seq, err2 := strconv.ParseUint(headerValue(req.Header, "X-Vegeta-Seq"), 10, 64)
	if err1 == nil && err2 == nil {
		rt.tracker.bind(idx, seq)
	}
	rt.sent.Add(1)
	if rt.deadlines == nil {
		return rt.next.RoundTrip(req)
	}
	return rt.next.RoundTrip(req.WithContext(rt.deadlines.context()))
}

// deadlineStep is the precision of the request timeout: a request ends with a timeout
// between timeout and timeout+deadlineStep after it was sent.
const deadlineStep = 10 * time.Millisecond

// sharedDeadline hands out request contexts that end at least timeout from now. Requests
// sent within one deadlineStep share a context, which ends by its own deadline: a request
// costs no context, timer or cancel of its own (at full speed those were a tenth of the
// pipeline's cost per request). The contexts derive from context.Background(), which is what
// vegeta builds every request with; nothing else cancels a request (an interrupt aborts by
// closing the connections, connSet.closeAll).
type sharedDeadline struct {
	timeout time.Duration
	cur     atomic.Pointer[deadlineCtx]
	mu      sync.Mutex    // serialises replacing cur, guards live
	live    []deadlineCtx // the contexts made, oldest first, until their deadline has passed
}

type deadlineCtx struct {
	ctx    context.Context
	end    time.Time
	cancel context.CancelFunc
}

func newSharedDeadline(timeout time.Duration) *sharedDeadline {
	if timeout <= 0 {
		return nil
	}
	return &sharedDeadline{timeout: timeout}
}

// context returns a context that ends no earlier than timeout from now, and no later than
// timeout+deadlineStep.
func (d *sharedDeadline) context() context.Context {
	now := time.Now()
	want := now.Add(d.timeout)
	if c := d.cur.Load(); c != nil && !c.end.Before(want) {
		return c.ctx
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.cur.Load(); c != nil && !c.end.Before(want) {
		return c.ctx
	}
	// Contexts whose deadline has passed were released by their own timers; forget them.
	for len(d.live) > 0 && d.live[0].end.Before(now) {
		d.live[0].cancel()
		d.live = d.live[1:]
	}
	end := want.Add(deadlineStep)
	ctx, cancel := context.WithDeadline(context.Background(), end)
	c := deadlineCtx{ctx: ctx, end: end, cancel: cancel}
	d.live = append(d.live, c)
	d.cur.Store(&c)
	return ctx
}

// stop releases every context's timer once no request is in flight. nil does nothing.
func (d *sharedDeadline) stop() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.live {
		c.cancel()
	}
	d.live = nil
}

// connSet tracks the transport's connections so that Run can abort every request in flight
// at once after an interrupt's grace period, at no cost per request.
type connSet struct {
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

// errAborted fails the dials after closeAll.
var errAborted = errors.New("driver: attack aborted")

// dial wraps a dialer so that its connections join the set.
func (s *connSet) dial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, set: s}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			c.Close()
			return nil, errAborted
		}
		s.conns[tc] = struct{}{}
		return tc, nil
	}
}

// closeAll closes every connection: the requests on them fail at once.
func (s *connSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.Conn.Close()
	}
	clear(s.conns)
}

// trackedConn leaves its set when closed.
type trackedConn struct {
	net.Conn
	set *connSet
}

func (c *trackedConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.conns, c)
	c.set.mu.Unlock()
	return c.Conn.Close()
}

// newTransport is the HTTP transport under the attack: no proxy, keep-alive connections
// kept for reuse (one per concurrent request), no transparent compression, HTTP/1.1; its
// connections are tracked in the returned set.
func newTransport() (*http.Transport, *connSet) {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	conns := &connSet{conns: map[*trackedConn]struct{}{}}
	return &http.Transport{
		Proxy:               nil,
		DialContext:         conns.dial(d),
		MaxIdleConns:        0, // no global limit
		MaxIdleConnsPerHost: 10000,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}, conns
}
