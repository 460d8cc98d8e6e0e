package cache

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// gens are a user's two generation counters as read from Redis.
type gens struct {
	id, data uint64
}

// of returns the generation class's entries live under.
func (g gens) of(class Class) uint64 {
	if class.dataScoped() {
		return g.data
	}
	return g.id
}

// newGen is the first value of a generation counter: random in [1, 2^62), so a
// counter that expired or was evicted never starts again at a value it had
// before (whose entries may still be alive), and INCR stays far from overflow.
func newGen() uint64 { return rand.Uint64N(1<<62-1) + 1 }

// parseGen reads one MGET value; ok is false for a missing or malformed counter.
func parseGen(v any) (uint64, bool) {
	s, isStr := v.(string)
	if !isStr {
		return 0, false
	}
	g, err := strconv.ParseUint(s, 10, 64)
	return g, err == nil
}

// userGens reads the user's generations in one MGET; a missing counter is
// created (SET NX, random start) in one more round trip.
func (c *Cache) userGens(ctx context.Context, user string) (gens, error) {
	var vals []any
	err := c.call(ctx, c.opTimeout, func(ctx context.Context) error {
		var err error
		vals, err = c.client.MGet(ctx, IDGenKey(user), DataGenKey(user)).Result()
		return err
	})
	if err != nil {
		return gens{}, err
	}
	g, ok := parseGens(vals)
	if ok {
		return g, nil
	}
	out, err := c.initGens(ctx, []string{user}, c.opTimeout)
	if err != nil {
		return gens{}, err
	}
	return out[0], nil
}

// parseGens reads the two values of one user's MGET.
func parseGens(vals []any) (gens, bool) {
	if len(vals) != 2 {
		return gens{}, false
	}
	id, ok1 := parseGen(vals[0])
	data, ok2 := parseGen(vals[1])
	return gens{id: id, data: data}, ok1 && ok2
}

// manyGens reads the generations of many users in one pipeline (bulk paths:
// warming), creating the missing ones in a second.
func (c *Cache) manyGens(ctx context.Context, users []string) ([]gens, error) {
	cmds := make([]*redis.SliceCmd, len(users))
	err := c.call(ctx, c.invTimeout, func(ctx context.Context) error {
		_, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, u := range users {
				cmds[i] = p.MGet(ctx, IDGenKey(u), DataGenKey(u))
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]gens, len(users))
	var missing []string
	var at []int
	for i, cmd := range cmds {
		g, ok := parseGens(cmd.Val())
		if !ok {
			missing = append(missing, users[i])
			at = append(at, i)
			continue
		}
		out[i] = g
	}
	if len(missing) > 0 {
		created, err := c.initGens(ctx, missing, c.invTimeout)
		if err != nil {
			return nil, err
		}
		for j, i := range at {
			out[i] = created[j]
		}
	}
	return out, nil
}

// initGens creates the users' missing or malformed counters at a random start
// (SET NX, so a concurrent creator or increment wins) and reads them back, in
// one pipeline.
func (c *Cache) initGens(ctx context.Context, users []string, timeout time.Duration) ([]gens, error) {
	reads := make([]*redis.SliceCmd, len(users))
	err := c.call(ctx, timeout, func(ctx context.Context) error {
		_, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, u := range users {
				for _, k := range []string{IDGenKey(u), DataGenKey(u)} {
					p.SetNX(ctx, k, newGen(), c.genTTL)
				}
				reads[i] = p.MGet(ctx, IDGenKey(u), DataGenKey(u))
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]gens, len(users))
	for i, cmd := range reads {
		g, ok := parseGens(cmd.Val())
		if !ok {
			// A counter holds something that is not a number: replace it. Entries
			// under the old value become unreachable, which is always safe.
			if g, err = c.resetGens(ctx, users[i], timeout); err != nil {
				return nil, err
			}
		}
		out[i] = g
	}
	return out, nil
}

// resetGens overwrites a user's counters with fresh random starts and reads
// them back in the same MULTI/EXEC.
func (c *Cache) resetGens(ctx context.Context, user string, timeout time.Duration) (gens, error) {
	var read *redis.SliceCmd
	err := c.call(ctx, timeout, func(ctx context.Context) error {
		_, err := c.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range []string{IDGenKey(user), DataGenKey(user)} {
				p.Set(ctx, k, newGen(), c.genTTL)
			}
			read = p.MGet(ctx, IDGenKey(user), DataGenKey(user))
			return nil
		})
		return err
	})
	if err != nil {
		return gens{}, err
	}
	g, ok := parseGens(read.Val())
	if !ok {
		return gens{}, errors.New("cache: generation counters unreadable after reset")
	}
	return g, nil
}

// bumpGens makes entries of the scope unreachable: INCR of the data counter
// (ScopeData) or of both (ScopeAll), in one MULTI/EXEC. A missing counter is
// first created at a random start, and the counters' TTL is renewed.
func (c *Cache) bumpGens(ctx context.Context, user string, scope Scope) error {
	keys := []string{DataGenKey(user)}
	if scope == ScopeAll {
		keys = append(keys, IDGenKey(user))
	}
	err := c.call(ctx, c.invTimeout, func(ctx context.Context) error {
		cmds, err := c.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.SetNX(ctx, k, newGen(), c.genTTL)
				p.Incr(ctx, k)
				p.Expire(ctx, k, c.genTTL)
			}
			return nil
		})
		if err == nil {
			for _, cmd := range cmds {
				if err = cmd.Err(); err != nil {
					break
				}
			}
		}
		return err
	})
	var rerr redis.Error
	if errors.As(err, &rerr) && strings.Contains(rerr.Error(), "not an integer") {
		// A counter holds garbage: fresh random starts invalidate just as well.
		_, err = c.resetGens(ctx, user, c.invTimeout)
	}
	return err
}
