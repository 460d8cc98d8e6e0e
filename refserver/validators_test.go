package refserver_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
)

// conditional sends a GET as user with If-None-Match: etag.
func (e *env) conditional(path, user, etag string) response {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token(user))
	req.Header.Set("If-None-Match", etag)
	return e.send(req)
}

// dbQueries is the server's DB query total so far.
func (e *env) dbQueries() uint64 {
	e.t.Helper()
	return e.health().Stats.DB.Total
}

// cachedPaths are the cached GET routes of seeded user i.
func cachedPaths(i int) []string {
	return []string{"/api/me", "/api/me/tier", "/api/conversations", convPath(i, 0), convPath(i, 1) + "?limit=3"}
}

// fresh GETs path as user and checks the validator headers of a 200.
func (e *env) fresh(t *testing.T, path, user string) response {
	t.Helper()
	r := e.do("GET", path, user, nil)
	wantStatus(t, r, 200)
	wantHeader(t, r, "Cache-Control", "private, no-cache")
	wantHeader(t, r, "Vary", "Authorization")
	if et := r.header.Get("ETag"); !strings.HasPrefix(et, `"`) || !strings.HasSuffix(et, `"`) || len(et) < 3 {
		t.Fatalf("%s: ETag %q, want a strong quoted tag", path, et)
	}
	return r
}

// TestConditionalGETFromOneMGET: once a route's entry is cached, a GET naming its ETag is
// answered 304 with no body, no DB query and exactly one Redis command (the MGET), for every
// cached route; the ETag is the same for equal answers.
func TestConditionalGETFromOneMGET(t *testing.T) {
	e, _ := newEnv(t, envOptions{tune: func(c *cache.Config) {
		c.Redis.ReadTimeout, c.Redis.WriteTimeout = time.Second, time.Second
	}})
	user, i := userOfTier(t, 30, atlas.TierCore)
	etags := map[string]string{}
	for _, p := range cachedPaths(i) {
		first := e.fresh(t, p, user)
		second := e.fresh(t, p, user)
		wantHeader(t, second, "X-Cache", "HIT")
		if first.header.Get("ETag") != second.header.Get("ETag") {
			t.Fatalf("%s: ETag %s then %s for the same entry", p, first.header.Get("ETag"), second.header.Get("ETag"))
		}
		etags[p] = second.header.Get("ETag")
	}
	const rounds = 10
	for _, p := range cachedPaths(i) {
		queries := e.dbQueries()
		before := commandCalls(t, e.rdb)
		for range rounds {
			r := e.conditional(p, user, etags[p])
			wantStatus(t, r, 304)
			if len(r.body) != 0 {
				t.Fatalf("%s: 304 with a body %q", p, r.body)
			}
			wantHeader(t, r, "ETag", etags[p])
			wantHeader(t, r, "X-Atlas-Revalidated", "entry")
			wantHeader(t, r, "X-Atlas-Redis-Commands", "1")
			wantHeader(t, r, "Cache-Control", "private, no-cache")
		}
		after := commandCalls(t, e.rdb)
		if q := e.dbQueries() - queries; q != 0 {
			t.Errorf("%s: %d DB queries for %d 304s, want 0", p, q, rounds)
		}
		var total int64
		for name, n := range after {
			total += n - before[name]
		}
		if total != rounds || after["mget"]-before["mget"] != rounds {
			t.Errorf("%s: %d Redis commands (%d MGET) for %d 304s, want one MGET each", p, total, after["mget"]-before["mget"], rounds)
		}
	}
	// Another user's ETag for the same path shape never validates this user's copy.
	other, j := userOfTier(t, 30, atlas.TierStudio)
	if r := e.conditional(convPath(j, 0), other, etags[convPath(i, 0)]); r.status != 200 {
		t.Fatalf("another user's ETag answered %d", r.status)
	}
}

// TestETagChangesOnWriteAndTier: a write changes the ETag of every entry it invalidates (and
// of nothing else), a tier change that of every entry; an old ETag then gets the new body.
func TestETagChangesOnWriteAndTier(t *testing.T) {
	for _, mode := range []string{"cache", "nocache"} {
		t.Run(mode, func(t *testing.T) {
			e, _ := newEnv(t, envOptions{nocache: mode == "nocache"})
			user, i := userOfTier(t, 30, atlas.TierFree)
			bodies := map[string]string{}
			etag := func(p string) string {
				r := e.fresh(t, p, user)
				bodies[p] = string(r.body)
				return r.header.Get("ETag")
			}
			old, oldBody := map[string]string{}, map[string]string{}
			for _, p := range cachedPaths(i) {
				etag(p)
				old[p] = etag(p)
				oldBody[p] = bodies[p]
				wantStatus(t, e.conditional(p, user, old[p]), 304)
			}
			wantStatus(t, e.do("POST", convPath(i, 0), user, map[string]string{"content": "new"}), 201)
			for _, p := range cachedPaths(i) {
				// The cache's validator changes with every entry the write invalidated (the
				// list and c0's pages); the database's with every body that changed.
				changed := p == convPath(i, 0) || p == "/api/conversations" && mode == "cache"
				now := etag(p)
				if (now != old[p]) != changed {
					t.Errorf("%s after a message in c0: ETag %s → %s, want changed=%v", p, old[p], now, changed)
				}
				if bodies[p] != oldBody[p] && now == old[p] {
					t.Errorf("%s: body changed, ETag %s did not", p, now)
				}
				if r := e.conditional(p, user, old[p]); changed && r.status != 200 {
					t.Errorf("%s: the ETag from before the write answered %d", p, r.status)
				}
				old[p] = now
			}
			wantStatus(t, e.do("PUT", "/api/me/tier", user, map[string]string{"tier": "core"}), 200)
			for _, p := range cachedPaths(i) {
				r := e.conditional(p, user, old[p])
				if r.status != 200 {
					t.Errorf("%s: a copy made as free validated (%d) after the change to core", p, r.status)
				}
				wantHeader(t, r, "X-Atlas-Tier", "core")
				if r.header.Get("ETag") == old[p] {
					t.Errorf("%s: ETag %s unchanged by the tier change", p, old[p])
				}
			}
		})
	}
}

// TestNoUnverifiable304: with Redis dead, or the user bypassed while an invalidation is
// pending, a Redis-derived ETag never validates; the answer's own (database) ETag does.
func TestNoUnverifiable304(t *testing.T) {
	e, proxy := newEnv(t, envOptions{proxy: true})
	user, i := userOfTier(t, 30, atlas.TierStudio)
	p := convPath(i, 1)
	e.fresh(t, p, user)
	cached := e.fresh(t, p, user).header.Get("ETag")
	wantStatus(t, e.conditional(p, user, cached), 304)

	// Unreachable Redis that keeps its data; a write meanwhile leaves the user pending.
	proxy.Refuse()
	wantStatus(t, e.do("POST", p, user, map[string]string{"content": "during the partition"}), 201)
	r := e.conditional(p, user, cached)
	wantStatus(t, r, 200)
	wantHeader(t, r, "X-Cache", "BYPASS")
	fromDB := r.header.Get("ETag")
	if !strings.HasPrefix(fromDB, `"b.studio.`) {
		t.Fatalf("ETag while bypassing: %s, want one derived from the database's answer", fromDB)
	}
	queries := e.dbQueries()
	r = e.conditional(p, user, fromDB)
	wantStatus(t, r, 304)
	wantHeader(t, r, "X-Atlas-Revalidated", "body")
	if e.dbQueries() == queries {
		t.Fatal("a 304 while Redis is unreachable was answered without asking the database")
	}

	// Redis back with its old counters and entry: the user stays bypassed until the
	// retried invalidation lands; the old ETag must not validate at any point.
	proxy.Restore(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.conditional(p, user, cached)
		if r.status != 200 {
			t.Fatalf("the ETag from before the write answered %d (X-Cache %s)", r.status, r.header.Get("X-Cache"))
		}
		if r.header.Get("X-Cache") != "BYPASS" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("caching did not resume after the invalidation was retried")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Redis killed outright.
	if err := e.redis.Kill(); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		r := e.conditional(p, user, cached)
		wantStatus(t, r, 200)
		wantHeader(t, r, "X-Cache", "BYPASS")
	}
}

// TestWeakValidatorIgnoresTier: the unsafe variant's ETag survives a tier change, which is
// what the harness's client checks must catch (cmd/bench TestClientCaches).
func TestWeakValidatorIgnoresTier(t *testing.T) {
	e, _ := newEnv(t, envOptions{tune: func(c *cache.Config) { c.Unsafe.ValidatorIgnoresTier = true }})
	user, _ := userOfTier(t, 30, atlas.TierFree)
	e.fresh(t, "/api/me", user)
	old := e.fresh(t, "/api/me", user).header.Get("ETag")
	wantStatus(t, e.do("PUT", "/api/me/tier", user, map[string]string{"tier": "core"}), 200)
	if r := e.conditional("/api/me", user, old); r.status != 304 {
		t.Fatalf("weak validator: %d after the tier change, want the old copy validated (304)", r.status)
	}
}

// TestIfNoneMatchStar: "*" matches a current representation only: a conversation the caller
// does not own stays 404 with a cached "not found", an owned one is 304.
func TestIfNoneMatchStar(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	user, i := userOfTier(t, 30, atlas.TierCore)
	_, j := userOfTier(t, 30, atlas.TierStudio)
	foreign := convPath(j, 0)
	for range 2 {
		wantStatus(t, e.do("GET", foreign, user, nil), 404)
	}
	if r := e.conditional(foreign, user, "*"); r.status != 404 {
		t.Fatalf("If-None-Match: * on a foreign conversation answered %d, want 404", r.status)
	}
	e.fresh(t, convPath(i, 0), user)
	wantStatus(t, e.conditional(convPath(i, 0), user, "*"), 304)
	wantStatus(t, e.conditional(convPath(i, 0), user, `"nope", W/"other"`), 200)
}
