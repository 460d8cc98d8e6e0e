package stack

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// capacitySample is how many keys per class get a MEMORY USAGE.
const capacitySample = 200

// Capacity measures what the cache holds in the stack's Redis: used memory (INFO memory)
// above an empty server's, keys, distinct users with a key, and the mean MEMORY USAGE of a
// sample of keys per class; and extrapolates the memory to 1M and 10M users with the same
// share of users cached as this run (seeded users: users). One SCAN (never KEYS).
func (st *Stack) Capacity(ctx context.Context, users int) (*summary.Capacity, error) {
	if st.Redis == nil || st.Redis.Cluster != nil {
		return nil, nil // a cluster's keys and memory are per node, in summary.redis.nodes
	}
	opt, err := redis.ParseURL(st.Redis.URL)
	if err != nil {
		return nil, fmt.Errorf("stack: capacity: %w", err)
	}
	client := redis.NewClient(opt)
	defer client.Close()
	info, err := client.Info(ctx, "memory").Result()
	if err != nil {
		return nil, fmt.Errorf("stack: capacity: INFO memory: %w", err)
	}
	c := &summary.Capacity{BytesPerKeyClass: map[string]float64{}, Extrapolated: map[string]int64{}}
	c.UsedMemoryBytes = infoInt(info, "used_memory")
	c.BaselineBytes = infoInt(info, "used_memory_startup")

	owners := map[string]struct{}{}
	sampled := map[string][]string{}
	iter := client.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		c.Keys++
		u, class := keyOwner(k)
		if u != "" {
			owners[u] = struct{}{}
		}
		if len(sampled[class]) < capacitySample {
			sampled[class] = append(sampled[class], k)
		}
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("stack: capacity: SCAN: %w", err)
	}
	for class, keys := range sampled {
		cmds := make([]*redis.IntCmd, len(keys))
		if _, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.MemoryUsage(ctx, k)
			}
			return nil
		}); err != nil && err != redis.Nil {
			return nil, fmt.Errorf("stack: capacity: MEMORY USAGE: %w", err)
		}
		var sum, n int64
		for _, cmd := range cmds {
			if v, err := cmd.Result(); err == nil {
				sum, n = sum+v, n+1
			}
		}
		if n > 0 {
			c.BytesPerKeyClass[class] = float64(sum) / float64(n)
			c.SampledKeys += int(n)
		}
	}
	c.CachedUsers = int64(len(owners))
	if c.CachedUsers > 0 {
		c.KeysPerUser = float64(c.Keys) / float64(c.CachedUsers)
		c.BytesPerUser = float64(max(c.UsedMemoryBytes-c.BaselineBytes, 0)) / float64(c.CachedUsers)
	}
	if users > 0 {
		share := float64(c.CachedUsers) / float64(users)
		for label, n := range map[string]float64{"1M": 1e6, "10M": 1e7} {
			c.Extrapolated[label] = c.BaselineBytes + int64(c.BytesPerUser*share*n)
		}
	}
	return c, nil
}

// keyOwner is the escaped user a cache key belongs to and the class it holds: gen
// (generation counters), tier, userProfile, conversations or apiResponses; a key the cache
// does not build has no owner and class "other".
func keyOwner(k string) (user, class string) {
	p, ok := cache.ParseKey(k)
	switch {
	case !ok:
		return "", "other"
	case p.Gen != "":
		return p.User, "gen"
	}
	return p.User, string(p.Class)
}

// infoInt is an integer field of an INFO reply (0 when absent).
func infoInt(info, name string) int64 {
	n, _ := strconv.ParseInt(redisproc.InfoField(info, name), 10, 64)
	return n
}
