package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// relaxed is the default config with timeouts loose enough for a loaded CI
// machine under -race, and more connections than the stampede tests have
// callers (none waits out the 100ms PoolTimeout); the fault tests use tight().
func relaxed() Config {
	cfg := DefaultConfig()
	cfg.Redis = RedisConfig{DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, PoolSize: 256}
	return cfg
}

// tight is the default config with fast timeouts and a breaker that trips and
// recovers within a test.
func tight() Config {
	cfg := DefaultConfig()
	cfg.Redis = RedisConfig{DialTimeout: 100 * time.Millisecond, ReadTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond}
	cfg.Breaker = BreakerConfig{Failures: 3, OpenFor: 300 * time.Millisecond}
	return cfg
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// breakerLog is a slog handler that counts the Redis breaker's moves to half-open (the
// cache logs every state change) and drops everything else.
type breakerLog struct{ halfOpen atomic.Int64 }

func (b *breakerLog) count() int64                             { return b.halfOpen.Load() }
func (b *breakerLog) Enabled(context.Context, slog.Level) bool { return true }
func (b *breakerLog) WithAttrs([]slog.Attr) slog.Handler       { return b }
func (b *breakerLog) WithGroup(string) slog.Handler            { return b }
func (b *breakerLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "cache: redis circuit breaker" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "to" && a.Value.String() == gobreaker.StateHalfOpen.String() {
			b.halfOpen.Add(1)
		}
		return true
	})
	return nil
}

// newTestCache returns a Cache on a client for url; opts.Config defaults to relaxed().
func newTestCache(t testing.TB, url string, opts Options) (*Cache, redis.UniversalClient) {
	t.Helper()
	if opts.Config.Name == "" {
		opts.Config = relaxed()
	}
	if opts.Log == nil {
		opts.Log = testLogger(t)
	}
	client, err := NewClient(url, opts.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c := New(client, opts)
	t.Cleanup(c.Close) // before client.Close
	return c, client
}

// fakeDB is the "database" behind the loaders: values by name, with a call counter.
type fakeDB struct {
	mu    sync.Mutex
	vals  map[string]string
	calls atomic.Int64
}

func newFakeDB() *fakeDB { return &fakeDB{vals: map[string]string{}} }

func (d *fakeDB) set(k, v string) {
	d.mu.Lock()
	d.vals[k] = v
	d.mu.Unlock()
}

// loader reads name; a missing name is ErrNotFound.
func (d *fakeDB) loader(name string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		d.calls.Add(1)
		d.mu.Lock()
		v, ok := d.vals[name]
		d.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		return []byte(v), nil
	}
}

// load is a Load through a fresh view, as one request would do it.
func load(t testing.TB, c *Cache, user string, class Class, tier, resource string, fn func(context.Context) ([]byte, error)) (string, Outcome, error) {
	t.Helper()
	v, o, err := c.User(context.Background(), user).Load(context.Background(), class, tier, resource, fn)
	return string(v), o, err
}

// expect asserts one Load's value and outcome.
func expect(t testing.TB, c *Cache, user string, class Class, tier, resource string, fn func(context.Context) ([]byte, error), want string, wantOutcome Outcome) {
	t.Helper()
	got, o, err := load(t, c, user, class, tier, resource, fn)
	if err != nil || got != want || o != wantOutcome {
		t.Fatalf("Load(%s %s %s %q) = %q, %v, %v; want %q, %v", user, class, tier, resource, got, o, err, want, wantOutcome)
	}
}

// entryKey returns the key of an entry.
func entryKey(t testing.TB, c *Cache, user string, class Class, tier, resource string) string {
	t.Helper()
	return Key{User: user, Tier: tier, Class: class, Resource: resource}.String()
}

// stored reads an entry's raw value without its generation tag: "v<value>",
// "n", or the raw bytes when it is not an entry of this package.
func stored(client redis.UniversalClient, key string) string {
	raw := client.Get(context.Background(), key).Val()
	n := 16 // data entries carry two generations, tier and profile one
	if strings.HasSuffix(key, ":e:tier") || strings.HasSuffix(key, ":userProfile") {
		n = 8
	}
	if len(raw) < 1+n || (raw[0] != entryValue && raw[0] != entryNotFound) {
		return raw
	}
	return raw[:1] + raw[1+n:]
}

// userGens reads (creating them if needed) the user's identity and data generations.
func userGens(t testing.TB, c *Cache, user string) (id, data uint64) {
	t.Helper()
	g, err := c.readGens(context.Background(), []string{IDGenKey(user), DataGenKey(user)})
	if err != nil {
		t.Fatal(err)
	}
	return g.g[0], g.g[1]
}

func TestMissThenHitAndTTLs(t *testing.T) {
	srv := testutil.Redis(t)
	c, client := newTestCache(t, srv.URL(), Options{})
	ctx := context.Background()
	db := newFakeDB()
	const res = "messages/c12?limit=50"
	for _, tier := range tiers() {
		user := "ttl-" + tier
		db.set(user+":tier", tier)
		db.set(user+":profile", `{"userId":"`+user+`"}`)
		db.set(user+":convs", "[c1]")
		db.set(user+":msgs", "[m1]")
		loads := []struct {
			class      Class
			tier, res  string
			name, want string
		}{
			{ClassTier, "", "", user + ":tier", tier},
			{ClassUserProfile, tier, "", user + ":profile", `{"userId":"` + user + `"}`},
			{ClassConversations, tier, "", user + ":convs", "[c1]"},
			{ClassAPIResponses, tier, res, user + ":msgs", "[m1]"},
		}
		for _, l := range loads {
			expect(t, c, user, l.class, l.tier, l.res, db.loader(l.name), l.want, Miss)
			expect(t, c, user, l.class, l.tier, l.res, db.loader(l.name), l.want, Hit)

			base := c.TTLFor(tier, l.class)
			if base != c.Config().TTL(tier, l.class) || base == 0 {
				t.Fatalf("TTLFor(%s, %s) = %v", tier, l.class, base)
			}
			key := entryKey(t, c, user, l.class, l.tier, l.res)
			pttl, err := client.PTTL(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			j := c.Config().Jitter
			lo := time.Duration(float64(base)*(1-j)) - 2*time.Second // the time since the SET
			hi := time.Duration(float64(base)*(1+j)) + time.Millisecond
			if pttl < lo || pttl > hi {
				t.Errorf("PTTL(%s) = %v, want within %v..%v (base %v ±%v)", key, pttl, lo, hi, base, j)
			}
			if raw := stored(client, key); raw != "v"+l.want {
				t.Errorf("stored %q; want %q", raw, "v"+l.want)
			}
		}
	}
	if n := db.calls.Load(); n != 12 {
		t.Errorf("loader calls = %d, want 12 (one per entry)", n)
	}
	for class, s := range c.Stats() {
		if s != (atlas.ClassStats{Hits: 3, Misses: 3}) {
			t.Errorf("stats[%s] = %+v, want 3 hits, 3 misses", class, s)
		}
	}
	if h := c.Health(ctx); !h.Up || h.Breaker != "closed" || h.Pending != 0 {
		t.Errorf("Health = %+v", h)
	}
}

func TestJitterSpread(t *testing.T) {
	// Rand at its extremes puts the TTL at base×(1±jitter).
	for _, tc := range []struct {
		r    float64
		want time.Duration
	}{{0, 270 * time.Second}, {0.5, 300 * time.Second}, {0.999999, 330 * time.Second}} {
		c := New(nil, Options{Config: DefaultConfig(), Rand: func() float64 { return tc.r }})
		if got := c.jittered(300 * time.Second); got.Round(time.Second) != tc.want {
			t.Errorf("rand %v: TTL %v, want %v", tc.r, got, tc.want)
		}
	}
}

func TestInvalidate(t *testing.T) {
	srv := testutil.Redis(t)
	c, _ := newTestCache(t, srv.URL(), Options{})
	ctx := context.Background()
	db := newFakeDB()
	const res = "messages/c1?limit=50"
	type entry struct {
		class     Class
		tier, res string
	}
	entries := []entry{{ClassTier, "", ""}, {ClassUserProfile, "core", ""}, {ClassConversations, "core", ""}, {ClassAPIResponses, "core", res}}
	name := func(user string, e entry) string { return user + ":" + string(e.class) }
	for _, user := range []string{"u1", "a*", "ab"} {
		for _, e := range entries {
			db.set(name(user, e), "core")
			expect(t, c, user, e.class, e.tier, e.res, db.loader(name(user, e)), "core", Miss)
		}
	}
	check := func(user string, want map[Class]Outcome) {
		t.Helper()
		for _, e := range entries {
			expect(t, c, user, e.class, e.tier, e.res, db.loader(name(user, e)), "core", want[e.class])
		}
	}
	allHit := map[Class]Outcome{ClassTier: Hit, ClassUserProfile: Hit, ClassConversations: Hit, ClassAPIResponses: Hit}
	check("u1", allHit)

	// A write: data reloads, tier and profile stay cached.
	if err := c.Invalidate(ctx, "u1", ScopeData); err != nil {
		t.Fatal(err)
	}
	check("u1", map[Class]Outcome{ClassTier: Hit, ClassUserProfile: Hit, ClassConversations: Miss, ClassAPIResponses: Miss})
	check("u1", allHit)

	// A tier change: everything reloads.
	if err := c.Invalidate(ctx, "u1", ScopeAll); err != nil {
		t.Fatal(err)
	}
	check("u1", map[Class]Outcome{ClassTier: Miss, ClassUserProfile: Miss, ClassConversations: Miss, ClassAPIResponses: Miss})

	// Invalidating "a*" never touches "ab".
	if err := c.Invalidate(ctx, "a*", ScopeAll); err != nil {
		t.Fatal(err)
	}
	check("ab", allHit)
	check("a*", map[Class]Outcome{ClassTier: Miss, ClassUserProfile: Miss, ClassConversations: Miss, ClassAPIResponses: Miss})

	// A view sees its own invalidation.
	v := c.User(ctx, "u1")
	if _, o, _ := v.Load(ctx, ClassConversations, "core", "", db.loader("u1:conversations")); o != Hit {
		t.Fatalf("outcome %v, want HIT", o)
	}
	if err := v.Invalidate(ctx, ScopeData); err != nil {
		t.Fatal(err)
	}
	if _, o, _ := v.Load(ctx, ClassConversations, "core", "", db.loader("u1:conversations")); o != Miss {
		t.Fatalf("after UserView.Invalidate: outcome %v, want MISS", o)
	}

	if err := c.Invalidate(ctx, "u1", Scope(9)); err == nil {
		t.Error("invalid scope accepted")
	}
}

// TestGenerationCounters: missing counters start at a random value with a TTL;
// garbage in a counter is replaced; an increment renews the TTL.
func TestGenerationCounters(t *testing.T) {
	srv := testutil.Redis(t)
	c, client := newTestCache(t, srv.URL(), Options{GenTTL: time.Hour})
	ctx := context.Background()
	id1, data1 := userGens(t, c, "g")
	if id1 == 0 || data1 == 0 || id1 == data1 {
		t.Errorf("new generations %d, %d, want two random non-zero values", id1, data1)
	}
	if ttl := client.TTL(ctx, IDGenKey("g")).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("generation TTL %v, want ~1h", ttl)
	}
	if err := c.Invalidate(ctx, "g", ScopeData); err != nil {
		t.Fatal(err)
	}
	id2, data2 := userGens(t, c, "g")
	if id2 != id1 || data2 != data1+1 {
		t.Errorf("after ScopeData %d, %d -> %d, %d", id1, data1, id2, data2)
	}
	client.Set(ctx, DataGenKey("g"), "garbage", 0)
	db := newFakeDB()
	db.set("x", "1")
	expect(t, c, "g", ClassConversations, "core", "", db.loader("x"), "1", Miss)
	expect(t, c, "g", ClassConversations, "core", "", db.loader("x"), "1", Hit)
	client.Set(ctx, IDGenKey("g"), "garbage", 0)
	if err := c.Invalidate(ctx, "g", ScopeAll); err != nil {
		t.Fatalf("Invalidate over a garbage counter: %v", err)
	}
	expect(t, c, "g", ClassConversations, "core", "", db.loader("x"), "1", Miss)
}

// TestStaleSetRace is hazard 1: a fill paused between its DB read and its SET
// while the value changes and is invalidated must not be served afterwards.
func TestStaleSetRace(t *testing.T) {
	c, armed, paused, release := pausingCache(t)
	ctx := context.Background()
	db := newFakeDB()
	const rounds = 1000
	for i := range rounds {
		class, tier, res, scope := ClassConversations, "free", "", ScopeData
		if i%2 == 1 {
			class, res = ClassAPIResponses, "messages/c1?limit=50"
		}
		if i%10 == 9 {
			class, tier, res, scope = ClassTier, "", "", ScopeAll
		}
		old, fresh := "core", "studio" // ClassTier values must be tiers
		if class != ClassTier {
			old, fresh = fmt.Sprintf("r%d-old", i), fmt.Sprintf("r%d-new", i)
		}
		db.set("v", old)
		if err := c.Invalidate(ctx, "racer", scope); err != nil {
			t.Fatal(err)
		}
		armed.Store(true)
		done := make(chan string)
		go func() {
			v, _, err := c.User(ctx, "racer").Load(ctx, class, tier, res, db.loader("v"))
			if err != nil {
				t.Error(err)
			}
			done <- string(v)
		}()
		<-paused
		db.set("v", fresh)
		if err := c.Invalidate(ctx, "racer", scope); err != nil {
			t.Fatal(err)
		}
		release <- struct{}{}
		if got := <-done; got != old {
			t.Fatalf("round %d: paused fill returned %q, want %q", i, got, old)
		}
		got, _, err := load(t, c, "racer", class, tier, res, db.loader("v"))
		if err != nil || got != fresh {
			t.Fatalf("round %d (%s): read after the acknowledged write = %q, %v; want %q", i, class, got, err, fresh)
		}
	}
}

// TestStampede is hazard 4: 200 concurrent Loads of a cold key make one loader call.
func TestStampede(t *testing.T) {
	srv := testutil.Redis(t)
	// A breaker that never opens: what a starved CPU's timeouts do to the stampede is judged
	// below, caller by caller, not handed to the breaker (TestRedisKilled judges that).
	cfg := relaxed()
	cfg.Breaker.Failures = 1 << 30
	c, _ := newTestCache(t, srv.URL(), Options{Config: cfg})
	var calls atomic.Int64
	slow := func(ctx context.Context) ([]byte, error) {
		calls.Add(1)
		time.Sleep(100 * time.Millisecond)
		return []byte("hot"), nil
	}
	const n = 200
	start := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Int64
	outcomes := make([]Outcome, n)
	for i := range n {
		wg.Go(func() {
			<-start
			v, o, err := c.User(context.Background(), "star").Load(context.Background(), ClassAPIResponses, "core", "messages/c1", slow)
			outcomes[i] = o
			if err != nil || string(v) != "hot" {
				bad.Add(1)
				t.Errorf("Load = %q, %v", v, err)
			}
		})
	}
	close(start)
	wg.Wait()
	// Every caller that reached Redis shared the one load. On a starved CPU a Redis call can
	// outlive even the relaxed config's 1 s timeout: that caller bypasses the cache and loads
	// on its own, by design, and the failure is counted. So: one load, plus one per counted
	// Redis failure at most, and no bypass that was not a counted failure.
	s := c.Stats()[ClassAPIResponses]
	bypassed := uint64(0)
	for _, o := range outcomes {
		if o == Bypass {
			bypassed++
		}
	}
	if got := uint64(calls.Load()); got < 1 || got > 1+s.Errors {
		t.Errorf("loader calls = %d, want 1 plus at most one per Redis failure (%d; %d callers bypassed)", got, s.Errors, bypassed)
	}
	if s.Bypasses != bypassed || bypassed > s.Errors {
		t.Errorf("stats %+v: %d callers bypassed, each should be a counted Redis failure", s, bypassed)
	}
	if s.Hits+s.Misses+s.Bypasses != n || s.Hits+s.Misses < 2 {
		t.Errorf("stats %+v, want %d lookups, more than one of them served through the cache", s, n)
	}
}

// TestStampedeFirstCallerCancelled: the caller whose Load started the fill goes
// away; the fill goes on and every other caller gets the value.
func TestStampedeFirstCallerCancelled(t *testing.T) {
	srv := testutil.Redis(t)
	c, _ := newTestCache(t, srv.URL(), Options{})
	var calls atomic.Int64
	started := make(chan struct{})
	release := make(chan struct{})
	slow := func(ctx context.Context) ([]byte, error) {
		if calls.Add(1) == 1 {
			close(started)
		}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []byte("hot"), nil
	}
	first, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, _, err := c.User(first, "star").Load(first, ClassConversations, "studio", "", slow)
		firstErr <- err
	}()
	<-started
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v, want its own context.Canceled", err)
	}
	const n = 199
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			v, _, err := c.User(context.Background(), "star").Load(context.Background(), ClassConversations, "studio", "", slow)
			if err != nil || string(v) != "hot" {
				t.Errorf("Load = %q, %v; want the value", v, err)
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // most callers join the running fill; late ones find the entry
	close(release)
	wg.Wait()
	if got := calls.Load(); got != 1 {
		t.Errorf("loader calls = %d, want 1", got)
	}
}

// TestNegativeAndErrors is hazard 6.
func TestNegativeAndErrors(t *testing.T) {
	srv := testutil.Redis(t)
	c, client := newTestCache(t, srv.URL(), Options{NegativeTTL: 2 * time.Second})
	ctx := context.Background()
	db := newFakeDB()

	// Not found twice: one loader call, a short negative entry.
	for i, want := range []Outcome{Miss, Hit} {
		v, o, err := load(t, c, "neg", ClassAPIResponses, "free", "messages/c404", db.loader("c404"))
		if err != ErrNotFound || v != "" || o != want {
			t.Fatalf("load %d: %q, %v, %v; want ErrNotFound, %v", i, v, o, err, want)
		}
	}
	if n := db.calls.Load(); n != 1 {
		t.Errorf("loader calls = %d, want 1", n)
	}
	key := entryKey(t, c, "neg", ClassAPIResponses, "free", "messages/c404")
	if raw := stored(client, key); raw != "n" {
		t.Errorf("negative entry %q", raw)
	}
	if ttl := client.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 2*time.Second {
		t.Errorf("negative TTL %v, want <= 2s", ttl)
	}
	// A create invalidates it.
	db.set("c404", "now exists")
	if err := c.Invalidate(ctx, "neg", ScopeData); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "neg", ClassAPIResponses, "free", "messages/c404", db.loader("c404"), "now exists", Miss)

	// A loader error is returned and never cached.
	var calls atomic.Int64
	failing := func(context.Context) ([]byte, error) { calls.Add(1); return nil, errors.New("db down") }
	for range 2 {
		if _, o, err := load(t, c, "err", ClassConversations, "free", "", failing); err == nil || err.Error() != "db down" || o != Miss {
			t.Fatalf("loader error: %v, %v", o, err)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("failing loader calls = %d, want 2 (errors are not cached)", calls.Load())
	}
	db.set("ok", "fine")
	expect(t, c, "err", ClassConversations, "free", "", db.loader("ok"), "fine", Miss)

	// A panicking loader is an error, not a crash.
	if _, _, err := load(t, c, "panic", ClassConversations, "free", "", func(context.Context) ([]byte, error) { panic("boom") }); err == nil {
		t.Error("panicking loader: no error")
	}

	// Garbage in an entry: the right value, MISS, and the entry replaced.
	db.set("g", "good")
	for _, garbage := range []string{"xyz", "", "nope", "\x00v"} {
		key := entryKey(t, c, "garbage", ClassConversations, "core", "")
		client.Set(ctx, key, garbage, time.Minute)
		expect(t, c, "garbage", ClassConversations, "core", "", db.loader("g"), "good", Miss)
		if raw := stored(client, key); raw != "vgood" {
			t.Errorf("entry after garbage %q = %q, want replaced", garbage, raw)
		}
		expect(t, c, "garbage", ClassConversations, "core", "", db.loader("g"), "good", Hit)
	}
	// A tier entry must name a tier.
	key = entryKey(t, c, "garbage", ClassTier, "", "")
	client.Set(ctx, key, "vgold", time.Minute)
	db.set("tier", "free")
	expect(t, c, "garbage", ClassTier, "", "", db.loader("tier"), "free", Miss)
	// Garbage and a loader error: the garbage is deleted.
	key = entryKey(t, c, "garbage", ClassUserProfile, "core", "")
	client.Set(ctx, key, "zzz", time.Minute)
	if _, _, err := load(t, c, "garbage", ClassUserProfile, "core", "", failing); err == nil {
		t.Fatal("no error")
	}
	if n := client.Exists(ctx, key).Val(); n != 0 {
		t.Errorf("garbage entry kept after a failed load")
	}
}

func TestNotCacheable(t *testing.T) {
	srv := testutil.Redis(t)
	c, _ := newTestCache(t, srv.URL(), Options{})
	db := newFakeDB()
	db.set("x", "1")
	for _, tc := range []struct {
		class     Class
		tier, res string
	}{
		{ClassConversations, "gold", ""},     // unknown tier
		{ClassConversations, "", ""},         // tier missing
		{ClassUserProfile, "core", "x"},      // a resource on a single-valued class
		{ClassAPIResponses, "Core", "msg/1"}, // tiers are case-sensitive
	} {
		expect(t, c, "nc", tc.class, tc.tier, tc.res, db.loader("x"), "1", Bypass)
	}
	if _, _, err := load(t, c, "nc", Class("bogus"), "core", "", db.loader("x")); err == nil {
		t.Error("unknown class accepted")
	}
	// TTL 0 in the config: not cached for that tier.
	cfg := relaxed()
	cfg.TTLs["studio"][ClassAPIResponses] = 0
	c2, _ := newTestCache(t, srv.URL(), Options{Config: cfg})
	expect(t, c2, "nc", ClassAPIResponses, "studio", "r", db.loader("x"), "1", Bypass)
	expect(t, c2, "nc", ClassAPIResponses, "core", "r", db.loader("x"), "1", Miss)
}

func TestDisabled(t *testing.T) {
	none, err := LoadConfig("none")
	if err != nil {
		t.Fatal(err)
	}
	srv := testutil.Redis(t)
	client, err := NewClient(srv.URL(), none)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	db := newFakeDB()
	db.set("x", "1")
	for _, c := range []*Cache{New(nil, Options{Config: DefaultConfig()}), New(client, Options{Config: none})} {
		if c.Enabled() {
			t.Fatal("enabled")
		}
		for range 2 {
			expect(t, c, "u1", ClassConversations, "core", "", db.loader("x"), "1", Bypass)
		}
		if _, _, err := load(t, c, "u1", ClassTier, "", "", db.loader("missing")); err != ErrNotFound {
			t.Errorf("disabled not-found: %v, want ErrNotFound", err)
		}
		if err := c.Invalidate(context.Background(), "u1", ScopeAll); err != nil {
			t.Error(err)
		}
		if _, err := c.WarmStart(context.Background()); err != nil {
			t.Error(err)
		}
		if s := c.Stats()[ClassConversations]; s != (atlas.ClassStats{Bypasses: 2}) {
			t.Errorf("stats %+v", s)
		}
		if h := c.Health(context.Background()); h.Breaker != "disabled" || c.TTLFor("core", ClassTier) != 0 {
			t.Errorf("health %+v", h)
		}
	}
	if n, _ := client.DBSize(context.Background()).Result(); n != 0 {
		t.Errorf("a disabled cache wrote %d keys", n)
	}
}

// TestRedisKilled is hazard 7 with a crash: every Load is answered by the
// loader within the budget, the breaker opens after Failures failures, and
// caching (and recovery warming) resumes after a restart.
func TestRedisKilled(t *testing.T) {
	srv := testutil.Redis(t)
	warmer := func(ctx context.Context, ids []string) ([]WarmEntry, error) {
		var out []WarmEntry
		for _, id := range ids {
			out = append(out, WarmEntry{UserID: id, Tier: "core", Profile: []byte(`{"userId":"` + id + `"}`)})
		}
		return out, nil
	}
	cfg := tight()
	halfOpens := &breakerLog{}
	c, client := newTestCache(t, srv.URL(), Options{Config: cfg, Warmer: warmer, Log: slog.New(halfOpens)})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	c.Start(ctx)
	db := newFakeDB()
	db.set("convs", "[c1]")
	db.set("tier", "core")
	expect(t, c, "k1", ClassConversations, "core", "", db.loader("convs"), "[c1]", Miss)
	expect(t, c, "k1", ClassConversations, "core", "", db.loader("convs"), "[c1]", Hit)
	expect(t, c, "k2", ClassConversations, "core", "", db.loader("convs"), "[c1]", Miss) // seen, never pending
	before := c.Stats()[ClassConversations]

	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	// What the breaker saves is counted, not timed: its count of failed Redis calls, then
	// none but one probe per time the breaker went half-open (as many as openFor periods the
	// loads took: a busy machine may stretch them past it), counted from its own log.
	const loads = 10
	halfOpensBefore := halfOpens.count()
	for i := range loads {
		got, o, err := load(t, c, "k1", ClassConversations, "core", "", db.loader("convs"))
		if err != nil || got != "[c1]" || o != Bypass {
			t.Fatalf("load %d with Redis dead: %q, %v, %v", i, got, o, err)
		}
	}
	probes := uint64(halfOpens.count() - halfOpensBefore)
	s := c.Stats()[ClassConversations]
	if errs := s.Errors - before.Errors; errs < uint64(cfg.Breaker.Failures) || errs > uint64(cfg.Breaker.Failures)+probes || s.Bypasses-before.Bypasses != loads {
		t.Errorf("stats %+v (before %+v): want %d errors (then the breaker is open; %d more for half-open probes) and %d bypasses", s, before, cfg.Breaker.Failures, probes, loads)
	}
	// Open, or half-open when openFor passed since the last failure (a busy machine) and no
	// probe ran yet.
	if h := c.Health(context.Background()); h.Up || h.Breaker == "closed" {
		t.Errorf("health with Redis dead: %+v", h)
	}
	// A write while the breaker is open is pending and read back right.
	if err := c.Invalidate(context.Background(), "k1", ScopeData); !errors.Is(err, ErrPending) {
		t.Errorf("Invalidate with Redis dead: %v, want ErrPending", err)
	}

	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testutil.WaitEvery(t, "a HIT after the restart", 50*time.Millisecond, func() bool {
		_, o, err := load(t, c, "k1", ClassConversations, "core", "", db.loader("convs"))
		if err != nil {
			t.Fatal(err)
		}
		return o == Hit
	})
	if h := c.Health(context.Background()); !h.Up || h.Breaker != "closed" || h.Pending != 0 {
		t.Errorf("health after recovery: %+v", h)
	}
	// Recovery warming refilled the tier of the users seen recently (k1 may be
	// skipped: it was pending when the breaker closed).
	testutil.WaitFor(t, "recovery warming filling k2's tier", func() bool {
		return stored(client, entryKey(t, c, "k2", ClassTier, "", "")) == "vcore"
	})
	expect(t, c, "k2", ClassTier, "", "", db.loader("tier"), "core", Hit)
}

// TestRedisSlow: a Redis that accepts connections but never answers costs one
// timeout per request, not one per Redis call.
func TestRedisSlow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a black hole: accept, read, never answer
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, conn)
		}
	}()
	cfg := tight()
	cfg.Breaker.Failures = 100 // keep the breaker out of it
	c, _ := newTestCache(t, "redis://"+ln.Addr().String(), Options{Config: cfg})
	db := newFakeDB()
	db.set("x", "1")
	v := c.User(context.Background(), "slow")
	for _, class := range Classes() {
		tier := "core"
		if class == ClassTier {
			tier = ""
		}
		db.set("x", "core")
		if got, o, err := v.Load(context.Background(), class, tier, "", db.loader("x")); err != nil || string(got) != "core" || o != Bypass {
			t.Fatalf("%s: %q %v %v", class, got, o, err)
		}
	}
	// One timeout per request, not one per Redis call, is counted: the first call's timeout
	// is the only Redis error, whatever the time the machine took.
	var errs uint64
	for _, s := range c.Stats() {
		errs += s.Errors
	}
	if errs != 1 {
		t.Errorf("%d Redis errors counted, want 1 (the view stops after the first)", errs)
	}
}

// TestLostInvalidation is hazard 3: Redis is unreachable but keeps its data
// while a write is acknowledged; when it is reachable again its old entry must
// not be served, and caching resumes once the retrier applied the invalidation.
func TestLostInvalidation(t *testing.T) {
	srv := testutil.Redis(t)
	p := testutil.NewProxy(t, srv.Addr())
	c, _ := newTestCache(t, p.URL(), Options{Config: tight()})
	direct := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer direct.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	c.Start(ctx)
	db := newFakeDB()
	db.set("convs", "old")
	expect(t, c, "w", ClassConversations, "core", "", db.loader("convs"), "old", Miss)
	expect(t, c, "w", ClassConversations, "core", "", db.loader("convs"), "old", Hit)
	oldKey := entryKey(t, c, "w", ClassConversations, "core", "")

	p.Refuse()
	db.set("convs", "new") // the write commits ...
	err := c.Invalidate(context.Background(), "w", ScopeData)
	if !errors.Is(err, ErrPending) { // ... and its invalidation cannot reach Redis
		t.Fatalf("Invalidate with Redis unreachable: %v, want ErrPending", err)
	}
	if h := c.Health(context.Background()); h.Pending != 1 || h.Up {
		t.Errorf("health %+v, want 1 pending, down", h)
	}
	expect(t, c, "w", ClassConversations, "core", "", db.loader("convs"), "new", Bypass)
	// Other users are not affected by the pending set (they bypass only because Redis is down).
	if c.pending.has("w2") {
		t.Error("w2 pending")
	}

	p.Restore(t)
	if raw := stored(direct, oldKey); raw != "vold" {
		t.Fatalf("Redis lost the old entry (%q): the test would prove nothing", raw)
	}
	got, o, err := load(t, c, "w", ClassConversations, "core", "", db.loader("convs"))
	if err != nil || got != "new" || o == Hit {
		t.Fatalf("first read after Redis came back: %q, %v, %v; want \"new\" not from the cache", got, o, err)
	}
	testutil.WaitFor(t, "the pending invalidation retried", func() bool { return c.Health(context.Background()).Pending == 0 })
	// The retrier applied it: caching resumes, with the new value.
	testutil.WaitFor(t, "caching resumed after the pending invalidation was applied", func() bool {
		got, o, err := load(t, c, "w", ClassConversations, "core", "", db.loader("convs"))
		if err != nil || got != "new" {
			t.Fatalf("after the retry: %q, %v", got, err)
		}
		return o == Hit
	})
}

// TestWarmStart is hazard 5: SET NX of tier and profile, never over a fresher
// entry, skipping users with a pending invalidation.
func TestWarmStart(t *testing.T) {
	srv := testutil.Redis(t)
	users := map[string]string{"w1": "core", "w2": "studio", "w3": "free", "w4": "gold"}
	var asked [][]string
	var mu sync.Mutex
	warmer := func(ctx context.Context, ids []string) ([]WarmEntry, error) {
		mu.Lock()
		asked = append(asked, ids)
		mu.Unlock()
		if ids == nil {
			ids = []string{"w1", "w2", "w3", "w4", "w1"}
		}
		var out []WarmEntry
		for _, id := range ids {
			out = append(out, WarmEntry{UserID: id, Tier: users[id], Profile: []byte("warm-" + id)})
		}
		return out, nil
	}
	c, client := newTestCache(t, srv.URL(), Options{Warmer: warmer})
	ctx := context.Background()
	db := newFakeDB()
	db.set("fresh", "fresh-w2")
	// w2's profile is already cached, fresher than what warming reads.
	expect(t, c, "w2", ClassUserProfile, "studio", "", db.loader("fresh"), "fresh-w2", Miss)
	c.pending.add("w3", ScopeData)

	if _, err := c.WarmStart(ctx); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || asked[0] != nil || len(asked[1]) != 3 {
		t.Errorf("warmer asked %q, want nil then the 3 users that are not pending", asked)
	}
	calls := db.calls.Load()
	expect(t, c, "w1", ClassTier, "", "", db.loader("none"), "core", Hit)
	expect(t, c, "w1", ClassUserProfile, "core", "", db.loader("none"), "warm-w1", Hit)
	expect(t, c, "w2", ClassTier, "", "", db.loader("none"), "studio", Hit)
	expect(t, c, "w2", ClassUserProfile, "studio", "", db.loader("none"), "fresh-w2", Hit)
	if db.calls.Load() != calls {
		t.Error("a warmed entry called the loader")
	}
	for _, k := range []string{
		entryKey(t, c, "w3", ClassTier, "", ""), entryKey(t, c, "w3", ClassUserProfile, "free", ""), // pending
		entryKey(t, c, "w4", ClassTier, "", ""), // not a tier
	} {
		if client.Exists(ctx, k).Val() != 0 {
			t.Errorf("%s warmed", k)
		}
	}
	if ttl := client.PTTL(ctx, entryKey(t, c, "w1", ClassTier, "", "")).Val(); ttl < 800*time.Second || ttl > 991*time.Second {
		t.Errorf("warmed tier TTL %v, want core's 900s ±10%%", ttl)
	}
	// WarmLimit caps the users.
	asked = nil
	c2, _ := newTestCache(t, srv.URL(), Options{Warmer: warmer, WarmLimit: 2})
	if _, err := c2.WarmStart(ctx); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || len(asked[1]) != 2 {
		t.Errorf("WarmLimit 2: warmer asked %q", asked)
	}
}

func TestOutcomeAndScopeStrings(t *testing.T) {
	for o, want := range map[Outcome]string{Bypass: "BYPASS", Hit: "HIT", Miss: "MISS", Outcome(7): "Outcome(7)"} {
		if o.String() != want {
			t.Errorf("%d.String() = %q", int(o), o.String())
		}
	}
	if ScopeData.String() != "data" || ScopeAll.String() != "all" {
		t.Error("scope strings")
	}
	if got := Classes(); len(got) != 4 || got[0] != ClassTier || got[3] != ClassAPIResponses {
		t.Errorf("Classes() = %v", got)
	}
}

func TestRecentSet(t *testing.T) {
	r := newRecentSet(3)
	for _, u := range []string{"a", "b", "a", "c", "d", "e"} {
		r.add(u)
	}
	got := map[string]bool{}
	for _, u := range r.list() {
		got[u] = true
	}
	if len(got) != 3 || !got["c"] || !got["d"] || !got["e"] {
		t.Errorf("recent = %v, want the last 3 distinct users c, d, e", r.list())
	}
}

// TestFillRechecksRedis: a fill that starts just after another one finished
// finds the entry and does not call the loader (the double check).
func TestFillRechecksRedis(t *testing.T) {
	srv := testutil.Redis(t)
	c, _ := newTestCache(t, srv.URL(), Options{})
	db := newFakeDB()
	db.set("x", "filled")
	expect(t, c, "dc", ClassConversations, "core", "", db.loader("x"), "filled", Miss)
	key := entryKey(t, c, "dc", ClassConversations, "core", "")
	gks := Key{User: "dc", Tier: "core", Class: ClassConversations}.GenKeys()
	res := c.runFillFrom(context.Background(), &c.stats[ClassConversations.Index()], ClassConversations, "core", key, gks, nil, db.loader("x"))
	if res.outcome != Hit || string(res.val) != "filled" || res.err != nil {
		t.Errorf("fill over an existing entry: %+v", res)
	}
	if n := db.calls.Load(); n != 1 {
		t.Errorf("loader calls = %d, want 1", n)
	}
}

// TestReadYourWrites is hazard 2: while readers hammer an entry, every read
// that starts after a write was acknowledged (commit, then Invalidate) returns
// that write or a newer one.
func TestReadYourWrites(t *testing.T) {
	srv := testutil.Redis(t)
	c, _ := newTestCache(t, srv.URL(), Options{})
	ctx := context.Background()
	var version atomic.Int64 // the "database"
	var acked atomic.Int64   // the newest write whose Invalidate returned
	loader := func(context.Context) ([]byte, error) {
		return []byte(strconv.FormatInt(version.Load(), 10)), nil
	}
	read := func() int64 {
		v, _, err := c.User(ctx, "ryw").Load(ctx, ClassAPIResponses, "core", "messages/c1?limit=50", loader)
		if err != nil {
			t.Error(err)
			return -1
		}
		n, _ := strconv.ParseInt(string(v), 10, 64)
		return n
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				floor := acked.Load()
				if got := read(); got < floor {
					t.Errorf("reader: got version %d after version %d was acknowledged", got, floor)
				}
			}
		})
	}
	for w := int64(1); w <= 200; w++ {
		version.Store(w) // commit
		if err := c.Invalidate(ctx, "ryw", ScopeData); err != nil {
			t.Fatal(err)
		}
		acked.Store(w) // answer the client
		if got := read(); got < w {
			t.Fatalf("writer: read version %d right after acknowledging %d", got, w)
		}
	}
	close(stop)
	wg.Wait()
	if s := c.Stats()[ClassAPIResponses]; s.Hits == 0 || s.Errors != 0 {
		t.Errorf("stats %+v: want hits between the writes and no errors", s)
	}
}

// TestCluster runs the cache on a one-node Redis Cluster: Redis still rejects
// multi-key commands across slots (CROSSSLOT), so this proves the {u:…} hash
// tag keeps MGET, MULTI/EXEC and the pipelines of one user in one slot.
func TestCluster(t *testing.T) {
	srv := testutil.Cluster(t, redisproc.ClusterOptions{Masters: 1}).Nodes()[0]
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	// The one-node cluster rejects what the hash tag prevents.
	if err := admin.MGet(ctx, "a", "b").Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("cross-slot MGET: %v, want CROSSSLOT", err)
	}
	warmer := func(ctx context.Context, ids []string) ([]WarmEntry, error) {
		if ids == nil {
			ids = []string{"c1", "c2:x", "c3*"}
		}
		var out []WarmEntry
		for _, id := range ids {
			out = append(out, WarmEntry{UserID: id, Tier: "free", Profile: []byte("p-" + id)})
		}
		return out, nil
	}
	c, client := newTestCache(t, "redis+cluster://"+srv.Addr(), Options{Warmer: warmer})
	if _, ok := client.(*redis.ClusterClient); !ok {
		t.Fatalf("client %T, want a cluster client", client)
	}
	if _, err := c.WarmStart(ctx); err != nil {
		t.Fatal(err)
	}
	db := newFakeDB()
	db.set("convs", "[c1]")
	for _, user := range []string{"c1", "c2:x", "c3*"} {
		expect(t, c, user, ClassTier, "", "", db.loader("none"), "free", Hit)
		expect(t, c, user, ClassUserProfile, "free", "", db.loader("none"), "p-"+user, Hit)
		expect(t, c, user, ClassConversations, "free", "", db.loader("convs"), "[c1]", Miss)
		expect(t, c, user, ClassConversations, "free", "", db.loader("convs"), "[c1]", Hit)
		if err := c.Invalidate(ctx, user, ScopeAll); err != nil {
			t.Fatal(err)
		}
		expect(t, c, user, ClassConversations, "free", "", db.loader("convs"), "[c1]", Miss)
	}
	for class, s := range c.Stats() {
		if s.Errors != 0 || s.Bypasses != 0 {
			t.Errorf("stats[%s] = %+v, want no errors or bypasses", class, s)
		}
	}
}

// TestNodesHealth: the per-node health report of a cluster pings every node with one
// client per address, kept across reports (the harness asks every second) and closed by
// Cache.Close; reading a breaker's state for the report never creates a breaker.
func TestNodesHealth(t *testing.T) {
	srv := testutil.Cluster(t, redisproc.ClusterOptions{Masters: 1}).Nodes()[0]
	ctx := context.Background()
	c, _ := newTestCache(t, "redis+cluster://"+srv.Addr(), Options{})
	first := c.NodesHealth(ctx)
	if len(first) != 1 || !first[0].Up || first[0].Role != "master" || first[0].Breaker != "closed" {
		t.Fatalf("nodes health %+v, want one master, up, breaker closed", first)
	}
	addr := first[0].Address
	c.nodes.mu.Lock()
	ping := c.nodes.pings[addr]
	c.nodes.mu.Unlock()
	if ping == nil {
		t.Fatalf("no ping client kept for %s", addr)
	}
	for range 3 {
		if h := c.NodesHealth(ctx); len(h) != 1 || !h[0].Up {
			t.Fatalf("nodes health %+v", h)
		}
	}
	c.nodes.mu.Lock()
	pings, same := len(c.nodes.pings), c.nodes.pings[addr] == ping
	c.nodes.mu.Unlock()
	if pings != 1 || !same {
		t.Errorf("after 4 reports: %d ping clients, first one kept: %v; want the one client reused", pings, same)
	}
	if st := c.nodes.breakerState("127.0.0.1:1"); st.String() != "closed" {
		t.Errorf("state of an unknown node's breaker %s, want closed", st)
	}
	c.nodes.mu.Lock()
	_, created := c.nodes.byAddr["127.0.0.1:1"]
	c.nodes.mu.Unlock()
	if created {
		t.Error("reading an unknown node's breaker state created a breaker")
	}
	c.Close()
	if err := ping.Ping(ctx).Err(); err == nil {
		t.Error("the ping client still works after Close")
	}
	if h := c.NodesHealth(ctx); len(h) != 1 || h[0].Up {
		t.Errorf("nodes health after Close %+v, want the node listed, down", h)
	}
}

// TestInvalidatePath: a write inside one conversation invalidates its pages
// (every limit) and the conversation list, deletes the pages it names, and
// leaves the user's other conversations, tier and profile cached.
func TestInvalidatePath(t *testing.T) {
	srv := testutil.Redis(t)
	c, client := newTestCache(t, srv.URL(), Options{})
	ctx := context.Background()
	db := newFakeDB()
	type entry struct {
		class     Class
		tier, res string
	}
	entries := []entry{
		{ClassTier, "", ""}, {ClassUserProfile, "core", ""}, {ClassConversations, "core", ""},
		{ClassAPIResponses, "core", "messages/c1?limit=50"}, {ClassAPIResponses, "core", "messages/c1?limit=7"},
		{ClassAPIResponses, "core", "messages/c2?limit=50"}, {ClassAPIResponses, "core", "messages/c10?limit=50"},
	}
	for _, user := range []string{"p", "p2"} {
		for _, e := range entries {
			db.set(e.res, "core")
			expect(t, c, user, e.class, e.tier, e.res, db.loader(e.res), "core", Miss)
			expect(t, c, user, e.class, e.tier, e.res, db.loader(e.res), "core", Hit)
		}
	}
	if err := c.InvalidatePath(ctx, "p", "messages/c1", "messages/c1?limit=50", "messages/c2?limit=50"); err != nil {
		t.Fatal(err)
	}
	// The named page of the path is gone from Redis; a page of another path named by mistake is not.
	if n := client.Exists(ctx, entryKey(t, c, "p", ClassAPIResponses, "core", "messages/c1?limit=50")).Val(); n != 0 {
		t.Error("the default page of the written conversation is still in Redis")
	}
	if n := client.Exists(ctx, entryKey(t, c, "p", ClassAPIResponses, "core", "messages/c2?limit=50")).Val(); n != 1 {
		t.Error("a page of another conversation was deleted")
	}
	want := map[string]Outcome{"": Hit, "messages/c1?limit=50": Miss, "messages/c1?limit=7": Miss, "messages/c2?limit=50": Hit, "messages/c10?limit=50": Hit}
	for _, e := range entries {
		o := want[e.res]
		if e.class == ClassConversations {
			o = Miss
		}
		expect(t, c, "p", e.class, e.tier, e.res, db.loader(e.res), "core", o)
		expect(t, c, "p2", e.class, e.tier, e.res, db.loader(e.res), "core", Hit) // another user: untouched
	}
	// A tier change still invalidates everything of the user.
	if err := c.Invalidate(ctx, "p", ScopeAll); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		expect(t, c, "p", e.class, e.tier, e.res, db.loader(e.res), "core", Miss)
	}
}

// TestStaleSetRacePath is hazard 1 for a write inside one conversation: a page
// fill paused between its DB read and its SET while a message is posted and
// InvalidatePath runs is never served afterwards.
func TestStaleSetRacePath(t *testing.T) {
	c, armed, paused, release := pausingCache(t)
	ctx := context.Background()
	db := newFakeDB()
	for i := range 300 {
		class, res := ClassAPIResponses, "messages/c1?limit=50"
		if i%3 == 2 {
			class, res = ClassConversations, ""
		}
		old, fresh := fmt.Sprintf("r%d-old", i), fmt.Sprintf("r%d-new", i)
		db.set("v", old)
		if err := c.InvalidatePath(ctx, "racer", "messages/c1"); err != nil {
			t.Fatal(err)
		}
		armed.Store(true)
		done := make(chan string)
		go func() {
			v, _, err := c.User(ctx, "racer").Load(ctx, class, "core", res, db.loader("v"))
			if err != nil {
				t.Error(err)
			}
			done <- string(v)
		}()
		<-paused
		db.set("v", fresh)
		if err := c.InvalidatePath(ctx, "racer", "messages/c1"); err != nil {
			t.Fatal(err)
		}
		release <- struct{}{}
		if got := <-done; got != old {
			t.Fatalf("round %d: paused fill returned %q, want %q", i, got, old)
		}
		got, _, err := load(t, c, "racer", class, "core", res, db.loader("v"))
		if err != nil || got != fresh {
			t.Fatalf("round %d (%s): read after the acknowledged write = %q, %v; want %q", i, class, got, err, fresh)
		}
	}
}

// TestInvalidatePathPending is hazard 3 for a write inside one conversation:
// the increment cannot reach Redis, so the user bypasses the cache (ScopeData
// pending) until the retrier applied it; the old page is never served.
func TestInvalidatePathPending(t *testing.T) {
	srv := testutil.Redis(t)
	p := testutil.NewProxy(t, srv.Addr())
	c, _ := newTestCache(t, p.URL(), Options{Config: tight()})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	c.Start(ctx)
	db := newFakeDB()
	db.set("page", "old")
	const res = "messages/c3?limit=50"
	expect(t, c, "w", ClassAPIResponses, "core", res, db.loader("page"), "old", Miss)
	expect(t, c, "w", ClassAPIResponses, "core", res, db.loader("page"), "old", Hit)
	p.Refuse()
	db.set("page", "new")
	if err := c.InvalidatePath(context.Background(), "w", "messages/c3", res); !errors.Is(err, ErrPending) {
		t.Fatalf("InvalidatePath with Redis unreachable: %v, want ErrPending", err)
	}
	p.Restore(t)
	got, o, err := load(t, c, "w", ClassAPIResponses, "core", res, db.loader("page"))
	if err != nil || got != "new" || o == Hit {
		t.Fatalf("first read after Redis came back: %q, %v, %v; want \"new\" not from the cache", got, o, err)
	}
	testutil.WaitFor(t, "the pending invalidation retried", func() bool { return c.Health(context.Background()).Pending == 0 })
	testutil.WaitFor(t, "caching resumed", func() bool {
		got, o, err := load(t, c, "w", ClassAPIResponses, "core", res, db.loader("page"))
		if err != nil || got != "new" {
			t.Fatalf("after the retry: %q, %v", got, err)
		}
		return o == Hit
	})
}

// TestColdFillNotJoinedLate: a cold fill (counters missing) loads the old value and
// pauses; a write is acknowledged (commit, Invalidate), then Redis is flushed, so the
// counters are missing again. A reader that starts now finds them missing like the fill
// did, but the fill read them before the write: the reader must not take its answer.
func TestColdFillNotJoinedLate(t *testing.T) {
	srv := testutil.Redis(t)
	paused, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	opts := Options{Hooks: Hooks{AfterLoad: func(string) {
		first := false
		once.Do(func() { first = true })
		if first {
			close(paused)
			<-release
		}
	}}}
	c, _ := newTestCache(t, srv.URL(), opts)
	db := newFakeDB()
	db.set("x", "old")
	first := make(chan string, 1)
	go func() {
		v, _, _ := load(t, c, "cold", ClassConversations, "core", "", db.loader("x"))
		first <- v
	}()
	<-paused // the cold fill created the counters and loaded "old"
	db.set("x", "new")
	if err := c.Invalidate(context.Background(), "cold", ScopeData); err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	second := make(chan string, 1)
	go func() {
		v, _, _ := load(t, c, "cold", ClassConversations, "core", "", db.loader("x"))
		second <- v
	}()
	time.Sleep(100 * time.Millisecond) // lets the reader reach the paused fill (not an assert)
	close(release)
	if v := <-first; v != "old" {
		t.Errorf("the reader that started before the write got %q, want old", v)
	}
	if v := <-second; v != "new" {
		t.Fatalf("a read that started after the acknowledged write got %q, want new", v)
	}
}

// pausingCache is a cache on a fresh Redis whose next fill, once armed is set, stops
// between its DB load and its SET: it sends its key on paused and waits for release. It
// is the stale-set race (a write and its invalidation land while the fill holds an old value).
func pausingCache(t *testing.T) (c *Cache, armed *atomic.Bool, paused chan string, release chan struct{}) {
	t.Helper()
	srv := testutil.Redis(t)
	armed = new(atomic.Bool)
	paused, release = make(chan string), make(chan struct{})
	c, _ = newTestCache(t, srv.URL(), Options{Hooks: Hooks{AfterLoad: func(key string) {
		if armed.CompareAndSwap(true, false) {
			paused <- key
			<-release
		}
	}}})
	return c, armed, paused, release
}
