package refserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/atlasbench/atlasbench/refserver"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
)

// sign makes a token with any method, key and claims, for the hostile-token table.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBadTokens(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	now := e.clock.Now() // the server's clock decides expiry
	valid := jwt.MapClaims{"sub": "u1", "exp": now.Add(time.Hour).Unix()}
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid)
	hs384 := sign(t, jwt.SigningMethodHS384, testSecret, valid)
	for _, tc := range []struct {
		name, header string
	}{
		{"no header", ""},
		{"not bearer", "Basic dTE6cGFzcw=="},
		{"empty bearer", "Bearer "},
		{"garbage", "Bearer not.a.token"},
		{"alg none", "Bearer " + none},
		{"HS384", "Bearer " + hs384},
		{"wrong secret", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("other"), valid)},
		{"expired", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u1", "exp": now.Add(-time.Hour).Unix()})},
		{"no expiry", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u1"})},
		{"not yet valid", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u1", "exp": now.Add(2 * time.Hour).Unix(), "nbf": now.Add(time.Hour).Unix()})},
		{"no subject", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"exp": now.Add(time.Hour).Unix()})},
		{"unknown user", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u999999", "exp": now.Add(time.Hour).Unix()})},
		{"hostile subject", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u1*", "exp": now.Add(time.Hour).Unix()})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.url+"/api/me", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			req.Header.Set("X-User-Id", "u1") // spoofing must not help
			r := e.send(req)
			wantStatus(t, r, 401)
			m := r.json(t)
			if m["code"] != "unauthorized" || m["error"] == "" {
				t.Fatalf("error body %s", r.body)
			}
			wantHeader(t, r, "Cache-Control", "private, no-store")
		})
	}
}

// TestIsolation: hostile user IDs, path variants and spoofed headers never reach another
// user's data or cache entry, and nothing is cached under a key the input chose.
func TestIsolation(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	ctx := context.Background()
	victim, vi := userOfTier(t, 30, atlas.TierStudio)
	attacker, ai := userOfTier(t, 30, atlas.TierFree)
	victimPath := convPath(vi, 0)
	// Warm the victim's entries so a leak would have something to leak.
	for range 2 {
		for _, p := range []string{"/api/me", "/api/conversations", victimPath} {
			wantStatus(t, e.do("GET", p, victim, nil), 200)
		}
	}
	t.Run("foreign conversation is 404", func(t *testing.T) {
		for range 2 {
			r := e.do("GET", victimPath, attacker, nil)
			wantStatus(t, r, 404)
			if strings.Contains(string(r.body), victim) {
				t.Fatalf("404 body mentions the owner: %s", r.body)
			}
		}
		wantStatus(t, e.do("POST", victimPath, attacker, map[string]string{"content": "x"}), 404)
	})
	t.Run("spoofed X-User-Id", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.url+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+e.token(attacker))
		req.Header.Set("X-User-Id", victim)
		r := e.send(req)
		wantStatus(t, r, 200)
		if r.json(t)["userId"] != attacker {
			t.Fatalf("spoofed header served %s", r.body)
		}
	})
	t.Run("path variants", func(t *testing.T) {
		own := convPath(ai, 0)
		for _, p := range []string{
			victimPath + ".css", victimPath + "/", strings.Replace(victimPath, "/messages", "%2fmessages", 1),
			victimPath + ";x", "/api/me.css", "/api/me/", "/api//me", "/api/me/../me", "/API/me", "/api/Me",
			"/api/conversations/" + strings.TrimPrefix(strings.Split(victimPath, "/")[3], "") + "%2F..%2F/messages",
			"/api/conversations/c1*/messages", "/api/conversations/c01/messages", "/api/conversations/c-1/messages",
			"/api/conversations/" + strings.Repeat("9", 40) + "/messages", own + ".js", own + "/",
		} {
			req, err := http.NewRequest("GET", e.url+p, nil)
			if err != nil {
				continue
			}
			req.Header.Set("Authorization", "Bearer "+e.token(attacker))
			r := e.send(req)
			if r.status == 200 {
				if r.json(t)["userId"] != attacker {
					t.Fatalf("%s served another user's body: %s", p, r.body)
				}
				continue
			}
			if r.status != 404 && r.status != 400 {
				t.Fatalf("%s: status %d, want 404/400 or the requester's own data; body %s", p, r.status, r.body)
			}
			var m map[string]any
			if json.Unmarshal(r.body, &m) != nil || m["code"] == nil {
				t.Fatalf("%s: non-JSON error body %q", p, r.body)
			}
		}
	})
	t.Run("hostile subjects stay in their own namespace", func(t *testing.T) {
		for _, sub := range []string{"u1*", "u1:x", "[u]1", `u1\`, "%75%31", "{u1}", "u1 ", strings.Repeat("a", 128)} {
			tok := sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()})
			req, _ := http.NewRequest("GET", e.url+"/api/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			wantStatus(t, e.send(req), 401)
		}
		keys, err := e.rdb.Keys(ctx, "*").Result() // private test Redis
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, "atlas:v1:") {
				t.Errorf("key outside the namespace: %q", k)
			}
			if strings.ContainsAny(strings.TrimPrefix(k, "atlas:v1:"), "*?[]\\ ") {
				t.Errorf("key carries raw hostile characters: %q", k)
			}
		}
	})
	// Finally the victim still sees exactly their own data.
	r := e.do("GET", victimPath, victim, nil)
	wantStatus(t, r, 200)
	if r.json(t)["userId"] != victim {
		t.Fatalf("victim got %s", r.body)
	}
}

func TestBadInput(t *testing.T) {
	e, _ := newEnv(t, envOptions{limits: map[atlas.Tier]refserver.Limits{
		atlas.TierFree: {MessagesPerDay: 3, MaxMessageBytes: 100}, atlas.TierCore: {MaxMessageBytes: 100}, atlas.TierStudio: {MaxMessageBytes: 100},
	}})
	free, fi := userOfTier(t, 30, atlas.TierFree)
	core, ci := userOfTier(t, 30, atlas.TierCore)
	path := convPath(fi, 0)
	for _, tc := range []struct {
		name, method, path, user, body string
		status                         int
		code                           string
	}{
		{"malformed JSON", "POST", path, free, `{"content":`, 400, "bad_request"},
		{"unknown field", "POST", path, free, `{"content":"x","admin":true}`, 400, "bad_request"},
		{"trailing data", "POST", path, free, `{"content":"x"} {}`, 400, "bad_request"},
		{"empty content", "POST", path, free, `{"content":""}`, 400, "bad_request"},
		{"content over the tier limit", "POST", path, free, `{"content":"` + strings.Repeat("x", 101) + `"}`, 400, "bad_request"},
		{"oversized body", "POST", path, free, `{"content":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "body_too_large"},
		{"tier outside the three", "PUT", "/api/me/tier", free, `{"tier":"platinum"}`, 400, "bad_request"},
		{"tier wrong type", "PUT", "/api/me/tier", free, `{"tier":3}`, 400, "bad_request"},
		{"bad limit", "GET", path + "?limit=0", free, "", 400, "bad_request"},
		{"limit too large", "GET", path + "?limit=100000", free, "", 400, "bad_request"},
		{"limit not a number", "GET", path + "?limit=5*", free, "", 400, "bad_request"},
		{"empty title", "POST", "/api/conversations", free, `{"title":""}`, 400, "bad_request"},
		{"wrong method", "DELETE", "/api/me", free, "", 405, "method_not_allowed"},
		{"unknown route", "GET", "/api/admin", free, "", 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.store.Stats().ByClass[atlas.QueryWrites]
			var r response
			if tc.body == "" {
				r = e.do(tc.method, tc.path, tc.user, nil)
			} else {
				r = e.do(tc.method, tc.path, tc.user, tc.body)
			}
			wantStatus(t, r, tc.status)
			if code := r.json(t)["code"]; code != tc.code {
				t.Fatalf("code %v, want %s (%s)", code, tc.code, r.body)
			}
			if after := e.store.Stats().ByClass[atlas.QueryWrites]; after != before {
				t.Fatalf("bad input reached the database: %d write queries", after-before)
			}
		})
	}
	t.Run("free quota", func(t *testing.T) {
		for n := range 3 {
			wantStatus(t, e.do("POST", path, free, map[string]string{"content": fmt.Sprint(n)}), 201)
		}
		r := e.do("POST", path, free, map[string]string{"content": "one too many"})
		wantStatus(t, r, 429)
		if r.json(t)["code"] != "quota_exceeded" {
			t.Fatalf("429 body %s", r.body)
		}
		// Core has no daily quota.
		for n := range 5 {
			wantStatus(t, e.do("POST", convPath(ci, 0), core, map[string]string{"content": fmt.Sprint(n)}), 201)
		}
	})
}

func TestHealthAndMetrics(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	user, _ := userOfTier(t, 30, atlas.TierCore)
	for range 3 {
		wantStatus(t, e.do("GET", "/api/me", user, nil), 200)
	}
	h := e.health()
	if h.Status != "ok" || h.Mode != "cache" || !h.Redis.Up || !h.DB.Up || h.DB.Driver != "sqlite" || h.Stats == nil {
		t.Fatalf("health %+v", h)
	}
	prof := h.Stats.Cache["userProfile"]
	if prof.Hits != 2 || prof.Misses != 1 {
		t.Fatalf("userProfile stats %+v, want 2 hits 1 miss", prof)
	}
	if h.Stats.DB.ByClass[atlas.QueryUserProfile] != 1 || h.Stats.Requests != 3 {
		t.Fatalf("db stats %+v, requests %d", h.Stats.DB, h.Stats.Requests)
	}
	if r := e.do("GET", "/healthz", "", nil); strings.Contains(string(r.body), `"stats"`) {
		t.Fatalf("stats without includeStats: %s", r.body)
	}
	m := e.do("GET", "/metrics", "", nil)
	wantStatus(t, m, 200)
	for _, want := range []string{
		`atlas_cache_lookups_total{class="userProfile",outcome="hit"} 2`,
		`atlas_db_queries_total{class="userProfile"} 1`,
		`atlas_redis_up 1`,
		// One miss, then two hits: the durations say how the cache answered.
		`atlas_http_request_duration_seconds_count{cache="miss",code="200",route="GET /api/me"} 1`,
		`atlas_http_request_duration_seconds_count{cache="hit",code="200",route="GET /api/me"} 2`,
		`go_goroutines`,
		// The pools' waits: none at this load, but counted.
		atlas.MetricRedisPoolWaits + " 0", atlas.MetricRedisPoolTimeouts + " 0", atlas.MetricDBPoolWaits + " ",
	} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Routes that do not cache have no cache-labelled series, not even empty ones.
	for _, route := range []string{"GET /healthz", "PUT /api/me/tier"} {
		if bad := `cache="hit",code="200",route="` + route + `"`; strings.Contains(string(m.body), bad) {
			t.Errorf("/metrics has a hit series for %s, which does not cache", route)
		}
	}
	// Two /healthz requests: e.health() and the one above.
	if want := `atlas_http_request_duration_seconds_count{cache="",code="200",route="GET /healthz"} 2`; !strings.Contains(string(m.body), want) {
		t.Errorf("/metrics lacks %q", want)
	}
}

func TestNoCacheMode(t *testing.T) {
	e, _ := newEnv(t, envOptions{nocache: true})
	user, i := userOfTier(t, 30, atlas.TierCore)
	for range 3 {
		r := e.do("GET", convPath(i, 0), user, nil)
		wantStatus(t, r, 200)
		wantHeader(t, r, "X-Cache", "BYPASS")
		wantHeader(t, r, "X-Atlas-Tier", "core")
	}
	if got := e.store.Stats().ByClass[atlas.QueryAPIResponses]; got != 6 {
		t.Fatalf("no-cache mode: %d apiResponses queries for 3 requests, want 6", got)
	}
	if h := e.health(); h.Mode != "nocache" {
		t.Fatalf("mode %q", h.Mode)
	}
}

// BenchmarkCachedGET measures the refserver's whole cached path over loopback HTTP (JWT,
// tier lookup, response-cache hit); BenchmarkRedisGET a bare go-redis GET on a Redis of the
// same kind. Run both in one `go test -bench` (make bench-go prints the ratio).
func BenchmarkCachedGET(b *testing.B) {
	e, _ := newEnv(b, envOptions{})
	user, i := userOfTier(b, 30, atlas.TierCore)
	req, _ := http.NewRequest("GET", e.url+convPath(i, 0), nil)
	req.Header.Set("Authorization", "Bearer "+e.token(user))
	wantStatus(b, e.send(req), 200)
	wantHeader(b, e.send(req), "X-Cache", "HIT")
	b.ResetTimer()
	for b.Loop() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.Header.Get("X-Cache") != "HIT" {
			b.Fatalf("X-Cache %q", res.Header.Get("X-Cache"))
		}
	}
}

func BenchmarkRedisGET(b *testing.B) {
	rdb := redis.NewClient(&redis.Options{Addr: testutil.Redis(b).Addr()})
	defer rdb.Close()
	ctx := context.Background()
	val := strings.Repeat("x", 2048)
	if err := rdb.Set(ctx, "atlas:v1:bench", val, 0).Err(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := rdb.Get(ctx, "atlas:v1:bench").Result(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifiedTokenStillExpires: the server remembers the tokens it verified (to skip the
// HMAC and JSON on the next request with the same token), but a remembered token is refused
// once it expires, and a token differing in one byte of its signature is verified anew.
func TestVerifiedTokenStillExpires(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	tok, err := atlas.NewToken(testSecret, "u1", e.clock.Now(), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	get := func(token string) response {
		req, _ := http.NewRequest("GET", e.url+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return e.send(req)
	}
	wantStatus(t, get(tok), 200)
	wantStatus(t, get(tok), 200)     // from the memo
	i, flip := len(tok)-5, byte('A') // a character inside the signature: 6 bits of it
	if tok[i] == 'A' {
		flip = 'B'
	}
	wantStatus(t, get(tok[:i]+string(flip)+tok[i+1:]), 401)
	e.clock.mu.Lock()
	e.clock.t = e.clock.t.Add(time.Minute) // past exp and its 5 s leeway
	e.clock.mu.Unlock()
	wantStatus(t, get(tok), 401)
}
