package driver

import (
	"context"
	"io"
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
type tracker struct {
	mu      sync.Mutex
	byIndex map[uint64]*Request
	bySeq   map[uint64]*Request
}

func newTracker() *tracker {
	return &tracker{byIndex: map[uint64]*Request{}, bySeq: map[uint64]*Request{}}
}

func (t *tracker) park(r *Request) {
	t.mu.Lock()
	t.byIndex[r.Index] = r
	t.mu.Unlock()
}

// bind moves the request with plan index idx under vegeta's seq.
func (t *tracker) bind(idx, seq uint64) {
	t.mu.Lock()
	if r, ok := t.byIndex[idx]; ok {
		delete(t.byIndex, idx)
		t.bySeq[seq] = r
	}
	t.mu.Unlock()
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

// roundTripper records seq → request before sending, counts sends, and lets Run abort
// requests still in flight after an interrupt's grace period.
type roundTripper struct {
	next    http.RoundTripper
	tracker *tracker
	abort   context.Context // cancelled to abort every request in flight
	sent    atomic.Int64
}

// RoundTrip implements http.RoundTripper.
func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	idx, err1 := strconv.ParseUint(req.Header.Get("X-Request-Id"), 10, 64)
	seq, err2 := strconv.ParseUint(req.Header.Get("X-Vegeta-Seq"), 10, 64)
	if err1 == nil && err2 == nil {
		rt.tracker.bind(idx, seq)
	}
	rt.sent.Add(1)

	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(rt.abort, cancel)
	release := sync.OnceFunc(func() { stop(); cancel() })
	resp, err := rt.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody releases the request's abort hook when vegeta closes the body.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// newTransport is the HTTP transport under the attack: no proxy, keep-alive connections
// kept for reuse (one per concurrent request), no transparent compression, HTTP/1.1.
func newTransport() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		MaxIdleConns:        0, // no global limit
		MaxIdleConnsPerHost: 10000,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}
