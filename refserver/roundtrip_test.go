package refserver_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"

	"github.com/redis/go-redis/v9"
)

// commandCalls reads INFO commandstats: calls per command, without INFO itself.
func commandCalls(t *testing.T, rdb *redis.Client) map[string]int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || name == "info" {
			continue
		}
		for field := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(field, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatalf("commandstats line %q: %v", line, err)
				}
				out[name] = n
			}
		}
	}
	return out
}

// TestOneRedisCommandPerCachedRequest counts, with INFO commandstats deltas over many
// requests, the Redis commands a cached GET costs: exactly one (the MGET of the
// generations, the tier and the route's entry), for every cached route.
func TestOneRedisCommandPerCachedRequest(t *testing.T) {
	// Timeouts loose enough that a loaded machine never turns a hit into a bypass.
	e, _ := newEnv(t, envOptions{tune: func(c *cache.Config) {
		c.Redis.ReadTimeout, c.Redis.WriteTimeout = time.Second, time.Second
	}})
	var users []string
	var paths [][]string
	for _, tier := range atlas.Tiers() {
		user, i := userOfTier(t, 30, tier)
		users = append(users, user)
		paths = append(paths, []string{"/api/me", "/api/me/tier", "/api/conversations", convPath(i, 1), convPath(i, 2) + "?limit=7"})
	}
	// Fill every entry (and open the client's connection) before counting.
	for u, user := range users {
		for _, p := range paths[u] {
			for range 2 {
				wantStatus(t, e.do("GET", p, user, nil), 200)
			}
		}
	}
	const rounds = 40
	for k := range paths[0] {
		before := commandCalls(t, e.rdb)
		n := 0
		for range rounds {
			for u, user := range users {
				r := e.do("GET", paths[u][k], user, nil)
				wantStatus(t, r, 200)
				wantHeader(t, r, "X-Cache", "HIT")
				wantHeader(t, r, "X-Atlas-Tier-Cache", "HIT")
				n++
			}
		}
		after := commandCalls(t, e.rdb)
		var total int64
		delta := map[string]int64{}
		for name, calls := range after {
			if d := calls - before[name]; d != 0 {
				delta[name] = d
				total += d
			}
		}
		if total != int64(n) || delta["mget"] != int64(n) {
			t.Errorf("%s: %d cached requests made %d Redis commands %v, want exactly one MGET each",
				paths[0][k], n, total, delta)
		}
	}
}

// TestPostInvalidatesOnlyItsConversation: a posted message invalidates that
// conversation's pages (every limit) and the user's conversation list; the user's
// other conversations, profile and tier stay cached, and another user is untouched.
// A new conversation's pages are invalidated too (a cached "not found" of its ID).
func TestPostInvalidatesOnlyItsConversation(t *testing.T) {
	e, _ := newEnv(t, envOptions{tune: func(c *cache.Config) {
		c.Redis.ReadTimeout, c.Redis.WriteTimeout = time.Second, time.Second
	}})
	user, i := userOfTier(t, 30, atlas.TierCore)
	other, oi := userOfTier(t, 30, atlas.TierStudio)
	written, sibling := convPath(i, 0), convPath(i, 1)
	reads := []string{"/api/me", "/api/conversations", written, written + "?limit=3", sibling}
	for range 2 {
		for _, p := range reads {
			wantStatus(t, e.do("GET", p, user, nil), 200)
		}
		wantStatus(t, e.do("GET", convPath(oi, 0), other, nil), 200)
	}
	wantStatus(t, e.do("POST", written, user, map[string]string{"content": "news"}), 201)
	want := map[string]string{"/api/me": "HIT", "/api/conversations": "MISS", written: "MISS", written + "?limit=3": "MISS", sibling: "HIT"}
	for _, p := range reads {
		r := e.do("GET", p, user, nil)
		wantStatus(t, r, 200)
		wantHeader(t, r, "X-Atlas-Tier-Cache", "HIT")
		wantHeader(t, r, "X-Cache", want[p])
		if p == written {
			if first := r.json(t)["messages"].([]any)[0].(map[string]any); first["content"] != "news" {
				t.Fatalf("newest message %v after the post", first)
			}
		}
	}
	wantHeader(t, e.do("GET", convPath(oi, 0), other, nil), "X-Cache", "HIT")

	// A new conversation: the list reloads, and its own (empty) page is never an old 404.
	created := e.do("POST", "/api/conversations", user, map[string]string{"title": "fresh"})
	wantStatus(t, created, 201)
	wantHeader(t, e.do("GET", "/api/conversations", user, nil), "X-Cache", "MISS")
	wantHeader(t, e.do("GET", sibling, user, nil), "X-Cache", "HIT")
	page := e.do("GET", "/api/conversations/"+created.json(t)["id"].(string)+"/messages", user, nil)
	wantStatus(t, page, 200)
}
