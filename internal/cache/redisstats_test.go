package cache

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// redisWord reads Redis's own counters: calls by command and keyspace hits and misses.
func redisWord(t *testing.T, addr string) (map[string]uint64, uint64, uint64) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	defer rdb.Close()
	text, err := rdb.Info(context.Background(), "stats", "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]uint64{}
	var hits, misses uint64
	for _, line := range strings.Split(text, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		switch {
		case k == "keyspace_hits":
			hits, _ = strconv.ParseUint(v, 10, 64)
		case k == "keyspace_misses":
			misses, _ = strconv.ParseUint(v, 10, 64)
		case strings.HasPrefix(k, "cmdstat_"):
			n, _ := strings.CutPrefix(strings.Split(v, ",")[0], "calls=")
			calls[strings.TrimPrefix(k, "cmdstat_")], _ = strconv.ParseUint(n, 10, 64)
		}
	}
	return calls, hits, misses
}

// TestRedisStatsMatchRedis: what the cache says it sent and found equals what Redis's
// INFO says it ran and found, command by command, over misses, hits, negative entries,
// invalidations and generation creation.
func TestRedisStatsMatchRedis(t *testing.T) {
	for _, miscount := range []bool{false, true} {
		t.Run("miscount="+strconv.FormatBool(miscount), func(t *testing.T) {
			srv := testutil.Redis(t)
			cfg := relaxed()
			cfg.Unsafe.MiscountHits = miscount
			c, _ := newTestCache(t, "redis://"+srv.Addr(), Options{Config: cfg})
			before := c.RedisStats()
			calls0, hits0, misses0 := redisWord(t, srv.Addr())
			db := newFakeDB()
			db.set("p", "profile")
			ctx := context.Background()
			for _, user := range []string{"u1", "u2", "u1", "u1"} {
				load(t, c, user, ClassUserProfile, "free", "", db.loader("p"))
				load(t, c, user, ClassAPIResponses, "free", "messages/c1", db.loader("absent"))
			}
			if err := c.Invalidate(ctx, "u1", ScopeAll); err != nil {
				t.Fatal(err)
			}
			expect(t, c, "u1", ClassUserProfile, "free", "", db.loader("p"), "profile", Miss)
			expect(t, c, "u1", ClassUserProfile, "free", "", db.loader("p"), "profile", Hit)

			after := c.RedisStats()
			calls1, hits1, misses1 := redisWord(t, srv.Addr())
			if after.Unconfirmed != 0 {
				t.Errorf("unconfirmed commands %d with Redis healthy", after.Unconfirmed)
			}
			sent := 0
			for name, n := range after.Commands {
				if name == "info" || name == "hello" || name == "client" {
					continue // the test's own INFO; connection set-up
				}
				if got, want := calls1[name]-calls0[name], n-before.Commands[name]; got != want {
					t.Errorf("%s: Redis ran %d, the cache says it sent %d", name, got, want)
				}
				sent += int(n - before.Commands[name])
			}
			if sent < 10 {
				t.Fatalf("only %d commands counted: %v", sent, after.Commands)
			}
			read, found := after.KeysRead-before.KeysRead, after.KeysFound-before.KeysFound
			if got := (hits1 - hits0) + (misses1 - misses0); got != read {
				t.Errorf("keys read: Redis %d, the cache %d", got, read)
			}
			if (hits1-hits0 == found) == miscount {
				t.Errorf("keys found: Redis %d, the cache %d (miscount %v)", hits1-hits0, found, miscount)
			}
		})
	}
}
