package faultproxy_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/faultproxy"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// clientTimeout is the read/write timeout of the fail-fast test clients: short
// like the cache's own 50ms, with room for -race on a busy 2-core machine.
const clientTimeout = 200 * time.Millisecond

// testLog writes the proxy's log lines (the library's at Debug) to the test
// log, and drops the lines that connection teardown logs after the test ended.
func testLog(t *testing.T) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// setup starts a child redis-server and a proxy in front of it.
func setup(t *testing.T) (*redisproc.Server, *faultproxy.Proxy) {
	t.Helper()
	srv := testutil.Redis(t)
	p, err := faultproxy.Start(context.Background(), srv.Addr(), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return srv, p
}

// client is the cache's own fail-fast client (no retries, one dial attempt)
// with readTimeout for reads and writes.
func client(t *testing.T, url string, readTimeout time.Duration) redis.UniversalClient {
	t.Helper()
	cfg := cache.DefaultConfig()
	cfg.Redis.DialTimeout = 250 * time.Millisecond
	cfg.Redis.ReadTimeout = readTimeout
	cfg.Redis.WriteTimeout = readTimeout
	c, err := cache.NewClient(url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// direct is a client of the Redis behind the proxy, for checks that bypass it.
func direct(t *testing.T, srv *redisproc.Server) redis.UniversalClient {
	t.Helper()
	return client(t, srv.URL(), time.Second)
}

// patience is how long eventually waits before it gives up: a cap that only ends a test
// whose event never comes, never a measure of how fast the event came (a busy machine
// may take seconds to run what a quiet one runs in milliseconds).
const patience = 30 * time.Second

// eventually retries f every 10ms until it succeeds, failing the test after patience.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	d := patience
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantState(t *testing.T, p *faultproxy.Proxy, want string) {
	t.Helper()
	if got := p.State(); got != want {
		t.Fatalf("State() = %q, want %q", got, want)
	}
}

func wantGet(t *testing.T, c redis.UniversalClient, key, want string) {
	t.Helper()
	ctx := context.Background()
	got, err := c.Get(ctx, key).Result()
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	if got != want {
		t.Fatalf("GET %s = %q, want %q", key, got, want)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func TestUp(t *testing.T) {
	srv, p := setup(t)
	ctx := context.Background()
	if !strings.HasPrefix(p.Addr(), "127.0.0.1:") || p.Addr() == srv.Addr() {
		t.Fatalf("Addr() = %q, want a loopback port of its own (redis is on %s)", p.Addr(), srv.Addr())
	}
	if p.URL() != "redis://"+p.Addr() {
		t.Fatalf("URL() = %q", p.URL())
	}
	wantState(t, p, faultproxy.StateUp)
	c := client(t, p.URL(), clientTimeout)
	if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatalf("SET through the proxy: %v", err)
	}
	wantGet(t, c, "k", "v1")
	wantGet(t, direct(t, srv), "k", "v1") // it really went to this Redis
}

func TestSlow(t *testing.T) {
	srv, p := setup(t)
	ctx := context.Background()
	c := client(t, p.URL(), time.Second) // room for the delay
	if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	const latency = 100 * time.Millisecond
	if err := p.Slow(latency, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	wantState(t, p, faultproxy.StateSlow)
	// The first GET reuses the pooled connection opened before Slow, the
	// second runs on a new one: both must be slowed. A lower bound only.
	for i, c := range []redis.UniversalClient{c, client(t, p.URL(), time.Second)} {
		start := time.Now()
		wantGet(t, c, "k", "v1")
		if took := time.Since(start); took < latency-10*time.Millisecond {
			t.Errorf("client %d: GET took %s under Slow(%s, 10ms), want >= %s", i, took, latency, latency-10*time.Millisecond)
		}
	}
	// Without jitter the bound is exact.
	if err := p.Slow(latency, 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	wantGet(t, c, "k", "v1")
	if took := time.Since(start); took < latency {
		t.Errorf("GET took %s under Slow(%s, 0), want >= %s", took, latency, latency)
	}
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	wantState(t, p, faultproxy.StateUp)
	// While the latency is there every GET takes at least latency; once it is gone, one
	// soon takes less (a busy machine may slow a few GETs past it, never all of them).
	gets := 0
	testutil.WaitFor(t, "a GET faster than the healed latency", func() bool {
		gets++
		if gets > 100 {
			t.Fatalf("100 GETs after Heal all took >= %s: the latency is still there", latency)
		}
		start := time.Now()
		wantGet(t, c, "k", "v1")
		return time.Since(start) < latency
	})
	wantGet(t, direct(t, srv), "k", "v1")
}

func TestSlowRejectsBadArguments(t *testing.T) {
	_, p := setup(t)
	for _, tc := range []struct {
		name            string
		latency, jitter time.Duration
	}{
		{"zero latency", 0, 0},
		{"negative latency", -time.Millisecond, 0},
		{"below toxiproxy's millisecond", 400 * time.Microsecond, 0},
		{"negative jitter", 10 * time.Millisecond, -time.Millisecond},
		{"jitter above latency", 10 * time.Millisecond, 11 * time.Millisecond},
	} {
		if err := p.Slow(tc.latency, tc.jitter); err == nil {
			t.Errorf("%s: Slow(%s, %s) = nil, want an error", tc.name, tc.latency, tc.jitter)
		}
	}
	wantState(t, p, faultproxy.StateUp)
}

func TestPartition(t *testing.T) {
	srv, p := setup(t)
	ctx := context.Background()
	c := client(t, p.URL(), clientTimeout)
	if err := c.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Partition(); err != nil {
		t.Fatal(err)
	}
	wantState(t, p, faultproxy.StatePartitioned)

	// An open connection (pooled) and a new one (fresh client): both time out,
	// neither is refused, and neither hangs (the margin catches a hang, it does not
	// measure the timeout: a busy machine may take seconds to fire a 200ms timer).
	const margin = 10 * time.Second
	for i, c := range []redis.UniversalClient{c, client(t, p.URL(), clientTimeout)} {
		start := time.Now()
		err := c.Get(ctx, "k").Err()
		took := time.Since(start)
		if err == nil {
			t.Fatalf("client %d: GET through a partition succeeded", i)
		}
		if errors.Is(err, syscall.ECONNREFUSED) || !isTimeout(err) {
			t.Fatalf("client %d: GET through a partition: %v, want a timeout (not a refusal)", i, err)
		}
		if took > clientTimeout+margin {
			t.Errorf("client %d: GET took %s to fail, want <= %s", i, took, clientTimeout+margin)
		}
	}

	// A new connection is accepted, and then nothing comes back: the worst case.
	conn, err := net.DialTimeout("tcp", p.Addr(), time.Second)
	if err != nil {
		t.Fatalf("dial during partition: %v, want accepted", err)
	}
	conn.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatalf("write during partition: %v", err)
	}
	if n, err := conn.Read(make([]byte, 16)); !isTimeout(err) {
		t.Fatalf("read during partition: %d bytes, %v; want a timeout", n, err)
	}
	conn.Close()

	// A write sent into the partition never reaches Redis, which keeps its data.
	if err := c.Set(ctx, "k", "during", 0).Err(); err == nil {
		t.Fatal("SET through a partition succeeded")
	}
	time.Sleep(50 * time.Millisecond)
	wantGet(t, direct(t, srv), "k", "before")

	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	wantState(t, p, faultproxy.StateUp)
	eventually(t, "GET after Heal", func() error { return c.Get(ctx, "k").Err() })
	wantGet(t, c, "k", "before")
}

func TestRefuse(t *testing.T) {
	srv, p := setup(t)
	ctx := context.Background()
	c := client(t, p.URL(), clientTimeout)
	if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Refuse(); err != nil {
		t.Fatal(err)
	}
	wantState(t, p, faultproxy.StateRefused)
	if conn, err := net.DialTimeout("tcp", p.Addr(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("dial a refusing proxy: %v, want connection refused", err)
	}
	// The pooled connection was dropped; the client's next dial is refused.
	eventually(t, "go-redis sees connection refused", func() error {
		if err := c.Get(ctx, "k").Err(); !errors.Is(err, syscall.ECONNREFUSED) {
			return errors.New("GET error " + errString(err) + ", want connection refused")
		}
		return nil
	})
	wantGet(t, direct(t, srv), "k", "v1") // Redis kept its data

	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	wantState(t, p, faultproxy.StateUp)
	eventually(t, "GET after Heal", func() error { return c.Get(ctx, "k").Err() })
	wantGet(t, c, "k", "v1")
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// pingFor pings through c every 10ms for d and counts the outcomes. d is a lower bound of
// the span the pings cover (a busy machine stretches it), which is what "no failure over d"
// needs; c must have a timeout no starvation reaches for that to hold.
func pingFor(c redis.UniversalClient, d time.Duration) (ok, failed int) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

// TestFlap waits for the events it wants (dials accepted and refused, pings that pass and
// fail) instead of counting them in a fixed window, which a starved machine may spend
// in one half period.
func TestFlap(t *testing.T) {
	_, p := setup(t)
	ctx := context.Background()
	c := client(t, p.URL(), clientTimeout)
	if err := p.Flap(ctx, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	wantState(t, p, faultproxy.StateFlapping)
	// The proxy itself: raw dials are accepted in one half period, refused in the other.
	accepted, refused := 0, 0
	testutil.WaitFor(t, "3 dials accepted and 3 refused or reset", func() bool {
		conn, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		switch {
		case err == nil:
			accepted++
			conn.Close()
		case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
			// A handshake that completed into the accept backlog just as the
			// listener closed is reset rather than refused: the proxy did not
			// accept either way.
			refused++
		default:
			t.Fatalf("dial a flapping proxy: %v, want accepted, refused or reset", err)
		}
		return accepted >= 3 && refused >= 3
	})
	t.Logf("flapping every 100ms: %d dials accepted, %d refused or reset", accepted, refused)
	// Through go-redis both outcomes are seen too (after PoolSize failed dials go-redis
	// fails every call with the last dial error until a background probe, once a
	// second, gets through: internal/pool tryDial).
	ok, failed := 0, 0
	testutil.WaitFor(t, "pings through go-redis both passing and failing", func() bool {
		if c.Ping(ctx).Err() == nil {
			ok++
		} else {
			failed++
		}
		return ok > 0 && failed > 0
	})
	t.Logf("flapping every 100ms: %d pings ok, %d failed", ok, failed)
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	wantState(t, p, faultproxy.StateUp)
	// Flapping has stopped: 500ms spans several of its 100ms half periods. A client whose
	// timeout no starvation reaches: a failure here is a refused or reset connection.
	patient := client(t, p.URL(), patience)
	eventually(t, "PING after Heal", func() error { return patient.Ping(ctx).Err() })
	if ok, failed := pingFor(patient, 500*time.Millisecond); failed > 0 {
		t.Fatalf("after Heal: %d pings ok, %d failed; want no failure", ok, failed)
	}
	wantState(t, p, faultproxy.StateUp)
}

func TestFlapEndsWithItsContext(t *testing.T) {
	_, p := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Flap(ctx, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the flap's first refusing half period", func() bool { return p.State() != faultproxy.StateUp })
	cancel()
	eventually(t, "state up after the flap context ended", func() error {
		if s := p.State(); s != faultproxy.StateUp {
			return errors.New("state " + s)
		}
		return nil
	})
	c := client(t, p.URL(), patience) // a failure below is a refusal, never a starved timeout
	eventually(t, "PING", func() error { return c.Ping(context.Background()).Err() })
	if ok, failed := pingFor(c, 200*time.Millisecond); failed > 0 {
		t.Fatalf("after the flap context ended: %d pings ok, %d failed; want no failure", ok, failed)
	}
	if err := p.Flap(ctx, 50*time.Millisecond); err == nil {
		t.Fatal("Flap with an ended context: nil error")
	}
	if err := p.Flap(context.Background(), time.Millisecond); err == nil {
		t.Fatal("Flap(1ms): nil error, want one (a half period must be >= 1ms)")
	}
}

func TestVerbsReplaceEachOther(t *testing.T) {
	srv, p := setup(t)
	ctx := context.Background()
	c := client(t, p.URL(), time.Second)
	if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// Slow, then Partition, then Slow again: the partition is gone and the latency is back.
	for _, step := range []func() error{
		func() error { return p.Slow(50*time.Millisecond, 0) },
		p.Partition,
		p.Refuse,
		func() error { return p.Flap(ctx, 100*time.Millisecond) },
		func() error { return p.Slow(50*time.Millisecond, 0) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	wantState(t, p, faultproxy.StateSlow)
	var took time.Duration
	eventually(t, "GET under Slow after other faults", func() error {
		start := time.Now()
		err := c.Get(ctx, "k").Err()
		took = time.Since(start)
		return err
	})
	if took < 50*time.Millisecond {
		t.Fatalf("GET took %s, want >= 50ms", took)
	}
	wantGet(t, direct(t, srv), "k", "v1")
}

func TestClose(t *testing.T) {
	_, p := setup(t)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	wantState(t, p, faultproxy.StateClosed)
	if conn, err := net.DialTimeout("tcp", p.Addr(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("dial after Close: %v, want connection refused", err)
	}
	for name, verb := range map[string]func() error{
		"Slow":      func() error { return p.Slow(time.Millisecond, 0) },
		"Partition": p.Partition,
		"Refuse":    p.Refuse,
		"Heal":      p.Heal,
		"Flap":      func() error { return p.Flap(context.Background(), time.Second) },
	} {
		if err := verb(); !errors.Is(err, faultproxy.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestStartRejectsBadUpstream(t *testing.T) {
	if _, err := faultproxy.Start(context.Background(), "no-port", nil); err == nil {
		t.Fatal("Start with upstream \"no-port\": nil error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := faultproxy.Start(ctx, "127.0.0.1:1", nil); err == nil {
		t.Fatal("Start with an ended context: nil error")
	}
}

// TestNoGoroutineLeak runs every verb with traffic, closes client and proxy,
// and expects the goroutine count back at its baseline (a small tolerance
// for runtime and test-framework goroutines).
func TestNoGoroutineLeak(t *testing.T) {
	srv := testutil.Redis(t) // its waiter goroutine is part of the baseline
	ctx := context.Background()
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()

	p, err := faultproxy.Start(ctx, srv.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := cache.DefaultConfig()
	cfg.Redis.ReadTimeout, cfg.Redis.WriteTimeout = clientTimeout, clientTimeout
	c, err := cache.NewClient(p.URL(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	traffic := func() {
		for i := 0; i < 5; i++ {
			c.Set(ctx, "k", i, 0)
			c.Get(ctx, "k")
		}
	}
	traffic()
	for _, step := range []func() error{
		func() error { return p.Slow(5*time.Millisecond, 1*time.Millisecond) },
		p.Partition,
		p.Heal,
		p.Refuse,
		p.Heal,
		func() error { return p.Flap(ctx, 40*time.Millisecond) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		traffic()
	}
	time.Sleep(100 * time.Millisecond)
	traffic()
	if err := p.Partition(); err != nil { // closed while partitioned: the hardest teardown
		t.Fatal(err)
	}
	traffic()
	c.Close()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	const tolerance = 1
	deadline := time.Now().Add(patience)
	for {
		after := runtime.NumGoroutine()
		if after <= before+tolerance {
			t.Logf("goroutines: %d before, %d after Close", before, after)
			return
		}
		if time.Now().After(deadline) {
			pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			t.Fatalf("goroutines: %d before, %d %s after Close (tolerance %d): leak", before, after, patience, tolerance)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
