package refserver_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"

	"github.com/atlasbench/atlasbench/refserver/store"
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
	for _, tier := range store.Tiers() {
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
