package refserver_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/atlasbench/atlasbench/refserver"
	"github.com/atlasbench/atlasbench/refserver/store"
)

// lifeEnv is a reference server on a real listener over a real Redis and SQLite, whose
// first cache fill of a conversation list blocks until the test releases it: a request in
// flight that the test controls.
type lifeEnv struct {
	t       *testing.T
	srv     *refserver.Server
	hs      *http.Server
	addr    string
	entered chan struct{} // closed when the blocked fill is reached
	release chan struct{} // close to let it go on
}

func newLifeEnv(t *testing.T) *lifeEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/atlas.db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Seed(ctx, store.SeedConfig{Seed: 7, Users: 10, Conversations: 2, Messages: 3, Tiers: atlas.DefaultTierMix()}); err != nil {
		t.Fatal(err)
	}
	rds := testutil.Redis(t)
	cfg := cache.DefaultConfig()
	client, err := cache.NewClient(rds.URL(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	e := &lifeEnv{t: t, entered: make(chan struct{}), release: make(chan struct{})}
	var once sync.Once
	hooks := cache.Hooks{AfterLoad: func(key string) {
		if strings.Contains(key, "conversations") {
			once.Do(func() { close(e.entered); <-e.release })
		}
	}}
	fences, _ := st.(atlas.FenceLog)
	c := cache.New(client, cache.Options{Config: cfg, Fences: fences, Hooks: hooks})
	bg, stop := context.WithCancel(ctx)
	t.Cleanup(func() { stop(); c.Wait() })
	c.Start(bg)
	e.srv = refserver.New(refserver.Config{JWTSecret: testSecret}, st, c)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.hs = &http.Server{Handler: e.srv}
	go e.hs.Serve(ln)
	t.Cleanup(func() { e.hs.Close() })
	return e
}

// get sends one request on a connection of its own and returns the status, or the error.
func (e *lifeEnv) get(path, user string) (int, error) {
	req, err := http.NewRequest("GET", "http://"+e.addr+path, nil)
	if err != nil {
		return 0, err
	}
	if user != "" {
		tok, err := atlas.NewToken(testSecret, user, time.Now(), time.Hour)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// inFlight starts a request that blocks in its cache fill and waits until it is there.
func (e *lifeEnv) inFlight() <-chan error {
	done := make(chan error, 1)
	go func() {
		code, err := e.get("/api/conversations", "u1")
		if err == nil && code != http.StatusOK {
			err = errors.New(http.StatusText(code))
		}
		done <- err
	}()
	<-e.entered
	return done
}

// listenerClosed waits until new connections are refused.
func (e *lifeEnv) listenerClosed() {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatal("the listener still accepts connections")
}

// TestShutdownDrains: once the shutdown began, /readyz answers 503 while /healthz and the
// API keep answering through the delay; then the listener closes, and the request that was
// in flight the whole time completes with 200 before Shutdown returns.
func TestShutdownDrains(t *testing.T) {
	e := newLifeEnv(t)
	if code, err := e.get("/readyz", ""); err != nil || code != http.StatusOK {
		t.Fatalf("/readyz before the shutdown = %d, %v; want 200", code, err)
	}
	blocked := e.inFlight()
	if n := e.srv.InFlight(); n != 1 {
		t.Fatalf("InFlight = %d with one request blocked in its handler", n)
	}
	inDelay, endDelay := make(chan struct{}), make(chan struct{})
	type result struct {
		rep refserver.ShutdownReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := e.srv.Shutdown(context.Background(), e.hs, refserver.ShutdownOptions{
			Delay: time.Hour, // ended by the test through Wait
			Wait:  func(context.Context, time.Duration) { close(inDelay); <-endDelay },
		})
		done <- result{rep, err}
	}()
	<-inDelay
	if code, err := e.get("/readyz", ""); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the shutdown delay = %d, %v; want 503", code, err)
	}
	if code, err := e.get("/healthz", ""); err != nil || code != http.StatusOK {
		t.Fatalf("/healthz during the shutdown delay = %d, %v; want 200 (liveness)", code, err)
	}
	if code, err := e.get("/api/me/tier", "u2"); err != nil || code != http.StatusOK {
		t.Fatalf("an API request during the shutdown delay = %d, %v; want 200", code, err)
	}
	close(endDelay)
	e.listenerClosed()
	select {
	case r := <-done:
		t.Fatalf("Shutdown returned (%+v, %v) while a request was still in flight", r.rep, r.err)
	default:
	}
	close(e.release)
	if err := <-blocked; err != nil {
		t.Fatalf("the request in flight at the shutdown: %v; want 200", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Shutdown: %v", r.err)
	}
	if r.rep.InFlight != 1 || r.rep.AtClose != 1 || r.rep.CutOff != 0 || r.rep.Cache.Lost != 0 {
		t.Fatalf("Shutdown report %+v; want 1 in flight at the start and at the close, none cut off or lost", r.rep)
	}
}

// TestShutdownDrainTimeout: a request still running at the drain timeout is cut off and
// counted, and Shutdown says so.
func TestShutdownDrainTimeout(t *testing.T) {
	e := newLifeEnv(t)
	blocked := e.inFlight()
	rep, err := e.srv.Shutdown(context.Background(), e.hs, refserver.ShutdownOptions{DrainTimeout: time.Millisecond})
	close(e.release)
	if err == nil {
		t.Fatal("Shutdown with a request running past the drain timeout returned no error")
	}
	if rep.CutOff != 1 {
		t.Fatalf("Shutdown report %+v; want 1 cut off", rep)
	}
	if err := <-blocked; err == nil {
		t.Fatal("the request cut off at the drain timeout got its answer")
	}
}

// TestShutdownAbrupt: the weakened server (unsafe.abruptShutdown) never fails readiness and
// drops the request in flight.
func TestShutdownAbrupt(t *testing.T) {
	e := newLifeEnv(t)
	blocked := e.inFlight()
	rep, _ := e.srv.Shutdown(context.Background(), e.hs, refserver.ShutdownOptions{Abrupt: true})
	close(e.release)
	if err := <-blocked; err == nil {
		t.Fatal("the abrupt shutdown answered the request in flight")
	}
	if rep.CutOff != 1 {
		t.Fatalf("abrupt Shutdown report %+v; want 1 cut off", rep)
	}
}
