package cache

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// GenSample is what SampleGenerations found among a random sample of Redis keys.
type GenSample struct {
	Keys    int // random keys drawn (with repetition)
	Entries int // of them, entries of this package (not counters, not foreign keys)
	// Dead counts the entries that no read would serve: tagged with generations that are no
	// longer current (an invalidation left them behind), or whose counters are gone.
	Dead int
}

// DeadShare is Dead / Entries; 0 without entries.
func (s GenSample) DeadShare() float64 {
	if s.Entries == 0 {
		return 0
	}
	return float64(s.Dead) / float64(s.Entries)
}

// SampleGenerations draws n random keys (RANDOMKEY) from client's Redis and, for every
// entry among them, reads its value and its generation counters (one MGET per entry, in
// one pipeline) to tell live entries from dead ones. It is for the harness: the reads are
// counted by Redis (keyspace hits and misses) like any other.
func SampleGenerations(ctx context.Context, client redis.UniversalClient, n int) (GenSample, error) {
	var s GenSample
	keys := make([]*redis.StringCmd, n)
	_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range keys {
			keys[i] = p.RandomKey(ctx)
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return s, fmt.Errorf("cache: sample keys: %w", err)
	}
	type probe struct {
		gens int
		cmd  *redis.SliceCmd
	}
	var probes []probe
	_, err = client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			key, err := k.Result()
			if err != nil {
				continue // an empty Redis
			}
			s.Keys++
			parts, isOurs := ParseKey(key)
			gks, ok := parts.GenKeys()
			if !isOurs || !ok {
				continue
			}
			probes = append(probes, probe{len(gks), p.MGet(ctx, append(gks, key)...)})
		}
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("cache: sample entries: %w", err)
	}
	for _, pr := range probes {
		vals := pr.cmd.Val()
		if len(vals) != pr.gens+1 {
			continue
		}
		raw, isStr := vals[pr.gens].(string)
		if !isStr {
			continue // expired or evicted since RANDOMKEY
		}
		s.Entries++
		t, ok := parseTag(vals[:pr.gens])
		if !ok || len(raw) < 1+t.size() || !t.matches(raw[1:]) {
			s.Dead++
		}
	}
	return s, nil
}
