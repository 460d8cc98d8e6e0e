package refserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/atlasbench/atlasbench/refserver"
	"github.com/atlasbench/atlasbench/refserver/store"
	"github.com/redis/go-redis/v9"
)

var testSecret = []byte("refserver-test-secret")

// fixedClock is a deterministic clock: every call advances it by a millisecond, so two
// servers given the same requests stamp the same times.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fixedClock { return &fixedClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)} }

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// env is one reference server under test with everything it stands on.
type env struct {
	t      testing.TB
	url    string
	store  store.Store
	cache  *cache.Cache
	redis  *redisproc.Server // nil in no-cache mode
	rdb    *redis.Client     // a separate client for inspecting keys
	clock  *fixedClock
	config cache.Config
}

type envOptions struct {
	nocache bool
	dsn     string // "" = SQLite in t.TempDir()
	users   int
	config  string              // a cache config name or file; default "default"
	tune    func(*cache.Config) // adjusts the loaded config, if set
	proxy   bool                // route the server's Redis traffic through a testutil.Proxy
	limits  map[atlas.Tier]refserver.Limits
}

func newEnv(t testing.TB, o envOptions) (*env, *testutil.Proxy) {
	t.Helper()
	ctx := context.Background()
	if o.users == 0 {
		o.users = 30
	}
	if o.config == "" {
		o.config = "default"
	}
	dsn := o.dsn
	if dsn == "" {
		dsn = "sqlite:" + t.TempDir() + "/atlas.db"
	}
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Seed(ctx, store.SeedConfig{Seed: 7, Users: o.users, Conversations: 3, Messages: 8, Tiers: atlas.DefaultTierMix()}); err != nil {
		t.Fatal(err)
	}
	cfg, err := cache.LoadConfig(o.config)
	if err != nil {
		t.Fatal(err)
	}
	if o.tune != nil {
		o.tune(&cfg)
	}
	e := &env{t: t, store: st, clock: newClock(), config: cfg}
	var client redis.UniversalClient
	var proxy *testutil.Proxy
	if !o.nocache {
		e.redis = testutil.Redis(t)
		addr := e.redis.Addr()
		if o.proxy {
			proxy = testutil.NewProxy(t, addr)
			addr = proxy.Addr()
		}
		client, err = cache.NewClient("redis://"+addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		e.rdb = redis.NewClient(&redis.Options{Addr: e.redis.Addr()})
		t.Cleanup(func() { e.rdb.Close() })
	}
	e.cache = cache.New(client, cache.Options{Config: cfg, Warmer: refserver.Warmer(st, 100)})
	bg, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	e.cache.Start(bg)
	srv := refserver.New(refserver.Config{JWTSecret: testSecret, Now: e.clock.Now, Limits: o.limits}, st, e.cache)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e, proxy
}

func (e *env) token(user string) string {
	e.t.Helper()
	tok, err := atlas.NewToken(testSecret, user, e.clock.Now(), time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// response is what a test looks at.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// do sends a request as user (no Authorization header when user is "").
func (e *env) do(method, path, user string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.token(user))
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) response {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

func (e *env) health() atlas.Health {
	e.t.Helper()
	r := e.do("GET", "/healthz?includeStats=true", "", nil)
	var h atlas.Health
	if err := json.Unmarshal(r.body, &h); err != nil {
		e.t.Fatalf("healthz %q: %v", r.body, err)
	}
	return h
}

// userOfTier returns the first seeded user with that tier.
func userOfTier(t testing.TB, n int, tier atlas.Tier) (string, int) {
	for i := 1; i <= n; i++ {
		if atlas.SeedTier(7, i, atlas.DefaultTierMix()) == tier {
			return atlas.SeedUserID(i), i
		}
	}
	t.Fatalf("no seeded %s user among %d", tier, n)
	return "", 0
}

func convPath(i, j int) string {
	return fmt.Sprintf("/api/conversations/c%d/messages", atlas.SeedConversationID(i, j, 3))
}

func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
}

func wantHeader(t testing.TB, r response, key, want string) {
	t.Helper()
	if got := r.header.Get(key); got != want {
		t.Fatalf("%s = %q, want %q (status %d, body %s)", key, got, want, r.status, r.body)
	}
}

func TestMissThenHitAndHeaders(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	user, i := userOfTier(t, 30, atlas.TierCore)
	for _, path := range []string{"/api/me", "/api/conversations", convPath(i, 0), convPath(i, 1) + "?limit=3"} {
		first := e.do("GET", path, user, nil)
		wantStatus(t, first, 200)
		wantHeader(t, first, "X-Cache", "MISS")
		wantHeader(t, first, "X-Atlas-Tier", "core")
		wantHeader(t, first, "Cache-Control", "private, no-cache")
		second := e.do("GET", path, user, nil)
		wantStatus(t, second, 200)
		wantHeader(t, second, "X-Cache", "HIT")
		wantHeader(t, second, "X-Atlas-Tier-Cache", "HIT")
		if !bytes.Equal(first.body, second.body) {
			t.Fatalf("%s: HIT body differs from MISS body:\n%s\n%s", path, first.body, second.body)
		}
		if got := second.json(t)["userId"]; got != user {
			t.Fatalf("%s: userId %v, want %s", path, got, user)
		}
	}
	// The tier route's X-Cache is the tier lookup's, which the requests above warmed.
	wantHeader(t, e.do("GET", "/api/me/tier", user, nil), "X-Cache", "HIT")
	// limit is normalised: an explicit default shares the entry of no limit.
	wantHeader(t, e.do("GET", convPath(i, 0)+"?limit=50", user, nil), "X-Cache", "HIT")
}

// TestTTLPerTierAndClass checks PTTL of every class for every tier within the jitter window.
func TestTTLPerTierAndClass(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	ctx := context.Background()
	for _, tier := range atlas.Tiers() {
		user, i := userOfTier(t, 30, tier)
		for _, path := range []string{"/api/me", "/api/conversations", convPath(i, 2)} {
			wantStatus(t, e.do("GET", path, user, nil), 200)
		}
		keys, err := e.rdb.Keys(ctx, "atlas:v1:{u:"+user+"}:*").Result() // test-only inspection of a private Redis
		if err != nil {
			t.Fatal(err)
		}
		seen := map[cache.Class]bool{}
		for _, k := range keys {
			if strings.Contains(k, ":gen:") {
				continue
			}
			var class cache.Class
			for _, c := range cache.Classes() {
				if strings.Contains(k, ":"+string(c)) {
					class = c
				}
			}
			if class == "" {
				t.Fatalf("key %q names no class", k)
			}
			if class != cache.ClassTier && !strings.Contains(k, ":"+string(tier)) {
				t.Errorf("key %q of class %s does not hold the tier %s", k, class, tier)
			}
			pttl, err := e.rdb.PTTL(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			base := e.config.TTL(string(tier), class)
			lo := time.Duration(float64(base)*(1-e.config.Jitter)) - time.Second
			hi := time.Duration(float64(base) * (1 + e.config.Jitter))
			if pttl < lo || pttl > hi {
				t.Errorf("%s %s: PTTL %v outside [%v, %v]", tier, class, pttl, lo, hi)
			}
			seen[class] = true
		}
		if len(seen) != 4 {
			t.Errorf("%s: classes cached %v, want all four", tier, seen)
		}
	}
}

func TestTierChangeIsImmediate(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	ctx := context.Background()
	user, i := userOfTier(t, 30, atlas.TierFree)
	for range 2 {
		for _, p := range []string{"/api/me", "/api/me/tier", "/api/conversations", convPath(i, 0)} {
			wantStatus(t, e.do("GET", p, user, nil), 200)
		}
	}
	r := e.do("PUT", "/api/me/tier", user, map[string]string{"tier": "studio"})
	wantStatus(t, r, 200)
	if r.json(t)["tier"] != "studio" {
		t.Fatalf("PUT answered %s", r.body)
	}
	for _, p := range []string{"/api/me", "/api/me/tier", "/api/conversations", convPath(i, 0)} {
		r := e.do("GET", p, user, nil)
		wantStatus(t, r, 200)
		wantHeader(t, r, "X-Atlas-Tier", "studio")
		if p != "/api/me/tier" {
			wantHeader(t, r, "X-Cache", "MISS")
		}
		if m := r.json(t); (p == "/api/me" || p == "/api/me/tier") && m["tier"] != "studio" {
			t.Fatalf("%s after the tier change: %s", p, r.body)
		}
	}
	// The new entries carry the studio TTLs.
	keys, _ := e.rdb.Keys(ctx, "atlas:v1:{u:"+user+"}:*:studio:conversations").Result()
	if len(keys) != 1 {
		t.Fatalf("studio conversations keys: %v", keys)
	}
	pttl, _ := e.rdb.PTTL(ctx, keys[0]).Result()
	if base := e.config.TTL("studio", cache.ClassConversations); pttl < time.Duration(float64(base)*(1-e.config.Jitter))-time.Second {
		t.Fatalf("PTTL %v after upgrade, want about %v (studio)", pttl, base)
	}
	var lim map[string]any
	json.Unmarshal(e.do("GET", "/api/me/tier", user, nil).body, &lim)
	if l := lim["limits"].(map[string]any); l["messagesPerDay"] != 0.0 {
		t.Fatalf("studio limits %v", l)
	}
}

func TestWriteThenReadSeesIt(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	user, i := userOfTier(t, 30, atlas.TierCore)
	path := convPath(i, 1)
	for range 2 {
		wantStatus(t, e.do("GET", path, user, nil), 200)
		wantStatus(t, e.do("GET", "/api/conversations", user, nil), 200)
	}
	for n := range 20 {
		content := fmt.Sprintf("hello %d", n)
		w := e.do("POST", path, user, map[string]string{"content": content})
		wantStatus(t, w, 201)
		id := w.json(t)["id"]
		r := e.do("GET", path, user, nil)
		wantStatus(t, r, 200)
		msgs := r.json(t)["messages"].([]any)
		if first := msgs[0].(map[string]any); first["id"] != id || first["content"] != content {
			t.Fatalf("round %d: newest message %v, want %v %q", n, first, id, content)
		}
		again := e.do("GET", path, user, nil)
		wantHeader(t, again, "X-Cache", "HIT")
	}
	c := e.do("POST", "/api/conversations", user, map[string]string{"title": "fresh"})
	wantStatus(t, c, 201)
	list := e.do("GET", "/api/conversations", user, nil).json(t)["conversations"].([]any)
	if list[0].(map[string]any)["id"] != c.json(t)["id"] {
		t.Fatalf("new conversation not first: %v", list[0])
	}
}

// TestCacheAndNoCacheAnswerAlike replays one seeded sequence of reads and writes against
// a cache-mode and a no-cache-mode server and compares every status and body byte for byte.
func TestCacheAndNoCacheAnswerAlike(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := func() string { return "" }
			if backend == "postgres" {
				dsn = func() string { return testutil.Postgres(t) }
			}
			cached, _ := newEnv(t, envOptions{dsn: dsn()})
			plain, _ := newEnv(t, envOptions{dsn: dsn(), nocache: true})
			seq := requestSequence(400, 30)
			hits := 0
			for n, rq := range seq {
				a := cached.do(rq.method, rq.path, rq.user, rq.body)
				b := plain.do(rq.method, rq.path, rq.user, rq.body)
				if a.status != b.status || !bytes.Equal(a.body, b.body) {
					t.Fatalf("request %d %s %s as %s:\ncache   %d %s\nnocache %d %s", n, rq.method, rq.path, rq.user, a.status, a.body, b.status, b.body)
				}
				wantHeader(t, b, "X-Cache", "BYPASS")
				if a.header.Get("X-Cache") == "HIT" {
					hits++
				}
			}
			if hits == 0 {
				t.Fatal("the cache-mode server never answered from the cache: the comparison proved nothing")
			}
			t.Logf("%d requests, %d answered from the cache, all identical", len(seq), hits)
		})
	}
}

type plannedRequest struct {
	method, path, user string
	body               any
}

// requestSequence is a deterministic mix of reads and writes over a few hot users.
func requestSequence(n, users int) []plannedRequest {
	var out []plannedRequest
	tiers := []string{"free", "core", "studio"}
	for k := range n {
		i := 1 + (k*7)%5 // five hot users
		if k%11 == 0 {
			i = 1 + k%users
		}
		user := atlas.SeedUserID(i)
		switch k % 13 {
		case 0, 5, 9:
			out = append(out, plannedRequest{"GET", convPath(i, k%3), user, nil})
		case 1, 7:
			out = append(out, plannedRequest{"GET", "/api/me", user, nil})
		case 2, 8:
			out = append(out, plannedRequest{"GET", "/api/conversations", user, nil})
		case 3:
			out = append(out, plannedRequest{"POST", convPath(i, k%3), user, map[string]string{"content": fmt.Sprintf("m%d", k)}})
		case 4:
			out = append(out, plannedRequest{"GET", "/api/me/tier", user, nil})
		case 6:
			out = append(out, plannedRequest{"PUT", "/api/me/tier", user, map[string]string{"tier": tiers[k%3]}})
		case 10:
			out = append(out, plannedRequest{"POST", "/api/conversations", user, map[string]string{"title": fmt.Sprintf("t%d", k)}})
		case 11:
			out = append(out, plannedRequest{"GET", convPath(i, k%3) + "?limit=5", user, nil})
		default:
			out = append(out, plannedRequest{"GET", "/api/conversations/c999999/messages", user, nil})
		}
	}
	return out
}

// TestStampede sends 200 concurrent GETs of one cold key (a conversation whose generation
// counters do not exist yet): the DB sees one load (two when the cold fill races a fill at
// the counters it just created), and Redis one creation of the counters and one write of
// the entry per load (INFO commandstats), never one per caller.
func TestStampede(t *testing.T) {
	// 200 handlers on two cores under -race can starve a Redis call past its deadline (a
	// loaded CI machine once saw 45 dials of a burst miss a 100 ms deadline, and a fill's
	// SET that times out leaves no entry, so a later caller loads again). This test is about
	// coalescing, not about deadlines: Redis gets deadlines no starvation reaches and a pool
	// as large as the burst, so every caller's Redis call answers and the count below is
	// the same however the burst is scheduled.
	e, _ := newEnv(t, envOptions{tune: func(c *cache.Config) {
		c.Redis.DialTimeout, c.Redis.ReadTimeout, c.Redis.WriteTimeout = 30*time.Second, 30*time.Second, 30*time.Second
		c.Redis.PoolSize = 256
	}})
	user, i := userOfTier(t, 30, atlas.TierStudio)
	tok := e.token(user)
	burst := func(path string) {
		t.Helper()
		var wg sync.WaitGroup
		var failed atomic.Int64
		for range 200 {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", e.url+path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := http.DefaultClient.Do(req)
				if err != nil || res.StatusCode != 200 {
					failed.Add(1)
					return
				}
				res.Body.Close()
			})
		}
		wg.Wait()
		if failed.Load() > 0 {
			t.Fatalf("GET %s: %d of 200 requests failed", path, failed.Load())
		}
	}
	// The tier lookup is warm, and so is the server's connection pool: a burst of 200 opens
	// up to 200 connections at once, and on a starved machine some dials miss their
	// deadline. What the pool holds afterwards serves the cold burst below. The breaker
	// such misses may have opened is closed again before it starts.
	burst("/api/me")
	for deadline := time.Now().Add(30 * time.Second); e.health().Redis.Breaker != "closed"; {
		if time.Now().After(deadline) {
			t.Fatalf("breaker still %s after the warm-up burst", e.health().Redis.Breaker)
		}
		wantStatus(t, e.do("GET", "/api/me", user, nil), 200) // the half-open probe
		time.Sleep(50 * time.Millisecond)
	}
	before := e.store.Stats().ByClass[atlas.QueryAPIResponses]
	cmdsBefore := commandCalls(t, e.rdb)
	path := convPath(i, 2)
	burst(path)
	// One load = GetConversation + ListMessages. Every caller joins a running fill or finds
	// its entry, with one exception that scheduling decides: the cold fill (the one that
	// creates the missing counters) loads from its own earlier reading, so a fill at the new
	// counters that a caller started and finished in between has loaded too: at most 2 loads
	// for the burst, whatever the machine's speed. A failed Redis call (a bypass, or a fill
	// whose write failed: an error), which the deadlines above rule out in practice, allows
	// one load more each; more than a few of them leave nothing to judge.
	st := e.cache.Stats()[cache.ClassAPIResponses]
	if st.Bypasses+st.Errors > 10 {
		t.Fatalf("Redis failed for %d of the burst's requests (%+v): the test cannot judge coalescing", st.Bypasses+st.Errors, st)
	}
	got := int64(e.store.Stats().ByClass[atlas.QueryAPIResponses] - before)
	if loads, most := got/2, 2+int64(st.Bypasses+st.Errors); got%2 != 0 || loads < 1 || loads > most {
		t.Fatalf("200 concurrent cold GETs made %d apiResponses queries (%d loads), want 1 or 2 loads, at most %d with %d bypasses and %d Redis errors (2 queries each); stats %+v",
			got, got/2, most, st.Bypasses, st.Errors, st)
	}
	// The page's two missing counters (gen:data, gen:r:<path>) are created once, and each
	// fill that loaded writes its entry: 2 SETs + 1 per fill (the bypasses write nothing), not
	// 2 per caller.
	fills := got/2 - int64(st.Bypasses)
	cmds := commandCalls(t, e.rdb)
	if sets := cmds["set"] - cmdsBefore["set"]; sets < 2+fills || sets > 2+fills+int64(st.Errors) {
		t.Fatalf("200 concurrent cold GETs sent %d SETs, want %d (2 counters created once + 1 entry for each of %d fills); MGETs %d", sets, 2+fills, fills, cmds["mget"]-cmdsBefore["mget"])
	}
	t.Logf("200 concurrent cold GETs: %d MGETs, %d SETs, %d bypasses", cmds["mget"]-cmdsBefore["mget"], cmds["set"]-cmdsBefore["set"], st.Bypasses)
}

// TestRedisKilled: SIGKILL the child redis-server mid-traffic. Every request still
// answers 200 with X-Cache BYPASS, quickly; the breaker opens; after a restart, hits resume.
func TestRedisKilled(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	user, i := userOfTier(t, 30, atlas.TierCore)
	path := convPath(i, 0)
	for range 2 {
		wantStatus(t, e.do("GET", path, user, nil), 200)
	}
	if err := e.redis.Kill(); err != nil {
		t.Fatal(err)
	}
	var slowest time.Duration
	for n := range 40 {
		start := time.Now()
		r := e.do("GET", path, user, nil)
		if d := time.Since(start); d > slowest {
			slowest = d
		}
		wantStatus(t, r, 200)
		wantHeader(t, r, "X-Cache", "BYPASS")
		if n%10 == 0 {
			wantStatus(t, e.do("POST", path, user, map[string]string{"content": "while down"}), 201)
		}
	}
	// How fast a request fails over is not timed here (a busy machine stretches any
	// request): internal/cache counts it (TestRedisSlow: one timeout per request;
	// TestRedisKilled: the breaker's count of failures, then none), and cmd/bench's
	// TestFaultScenarios bounds it against the same run's healthy latency.
	t.Logf("40 requests after SIGKILL: all 200 BYPASS, slowest %v", slowest)
	h := e.health()
	// Open, or half-open when openFor passed since the last failure and no probe ran yet.
	if h.Redis.Up || h.Redis.Breaker == "closed" {
		t.Fatalf("with Redis dead healthz says %+v, want down with the breaker not closed", h.Redis)
	}
	if h.Status != "ok" {
		t.Fatalf("healthz status %q with the DB up", h.Status)
	}
	if err := e.redis.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // a cap for a HIT that never comes, not a measure
	for {
		r := e.do("GET", path, user, nil)
		wantStatus(t, r, 200)
		if r.header.Get("X-Cache") == "HIT" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HIT within 30s of Redis coming back; last X-Cache %q, health %+v", r.header.Get("X-Cache"), e.health().Redis)
		}
		time.Sleep(50 * time.Millisecond)
	}
	msgs := e.do("GET", path, user, nil).json(t)["messages"].([]any)
	if msgs[0].(map[string]any)["content"] != "while down" {
		t.Fatalf("after recovery the newest message is %v", msgs[0])
	}
}

// TestWriteWhileRedisUnreachable: Redis refuses connections but keeps its data; a write
// is acknowledged meanwhile; once Redis answers again, the very next read has the write.
func TestWriteWhileRedisUnreachable(t *testing.T) {
	e, proxy := newEnv(t, envOptions{proxy: true})
	user, i := userOfTier(t, 30, atlas.TierStudio)
	path := convPath(i, 1)
	for range 2 {
		wantStatus(t, e.do("GET", path, user, nil), 200)
	}
	wantHeader(t, e.do("GET", path, user, nil), "X-Cache", "HIT")
	proxy.Refuse()
	w := e.do("POST", path, user, map[string]string{"content": "written during the partition"})
	wantStatus(t, w, 201)
	proxy.Restore(t)
	r := e.do("GET", path, user, nil)
	wantStatus(t, r, 200)
	if first := r.json(t)["messages"].([]any)[0].(map[string]any); first["id"] != w.json(t)["id"] {
		t.Fatalf("stale read after Redis came back with its old data: newest %v, X-Cache %s", first, r.header.Get("X-Cache"))
	}
	// Once the retried invalidation lands, caching resumes.
	deadline := time.Now().Add(30 * time.Second)
	for e.do("GET", path, user, nil).header.Get("X-Cache") != "HIT" {
		if time.Now().After(deadline) {
			t.Fatal("caching did not resume after the invalidation was retried")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if first := e.do("GET", path, user, nil).json(t)["messages"].([]any)[0].(map[string]any); first["id"] != w.json(t)["id"] {
		t.Fatalf("HIT after recovery is stale: %v", first)
	}
}
