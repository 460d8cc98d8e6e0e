package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

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

// parseTag reads the counters of one entry (at most maxTagGens MGET values);
// ok is false when one is missing or malformed.
func parseTag(vals []any) (tag, bool) {
	var t tag
	if len(vals) == 0 || len(vals) > maxTagGens {
		return t, false
	}
	t.n = len(vals)
	for i, v := range vals {
		g, ok := parseGen(v)
		if !ok {
			return t, false
		}
		t.g[i] = g
	}
	return t, true
}

// readGens reads the counters keys (one entry's, see Key.GenKeys) in one MGET,
// creating missing ones and replacing malformed ones.
func (c *Cache) readGens(ctx context.Context, keys []string) (tag, error) {
	var vals []any
	err := c.call(ctx, c.opTimeout, func(ctx context.Context) error {
		var err error
		vals, err = c.client.MGet(ctx, keys...).Result()
		return err
	})
	if err != nil {
		return tag{}, err
	}
	if t, ok := parseTag(vals); ok {
		return t, nil
	}
	out, err := c.initGens(ctx, [][]string{keys}, c.opTimeout)
	if err != nil {
		return tag{}, err
	}
	return out[0], nil
}

// initGens creates the missing or malformed counters of every set of keys (one
// user's each) at a random start (SET NX, so a concurrent creator or increment
// wins) and reads them back, in one pipeline.
func (c *Cache) initGens(ctx context.Context, sets [][]string, timeout time.Duration) ([]tag, error) {
	reads := make([]*redis.SliceCmd, len(sets))
	err := c.call(ctx, timeout, func(ctx context.Context) error {
		_, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, keys := range sets {
				for _, k := range keys {
					p.SetNX(ctx, k, newGen(), c.genTTL)
				}
				reads[i] = p.MGet(ctx, keys...)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]tag, len(sets))
	for i, cmd := range reads {
		t, ok := parseTag(cmd.Val())
		if !ok {
			// A counter holds something that is not a number: replace it. Entries
			// tagged with the old value become unreachable, which is always safe.
			if t, err = c.resetGens(ctx, sets[i], timeout); err != nil {
				return nil, err
			}
		}
		out[i] = t
	}
	return out, nil
}

// resetGens overwrites counters with fresh random starts and reads them back
// in the same MULTI/EXEC.
func (c *Cache) resetGens(ctx context.Context, keys []string, timeout time.Duration) (tag, error) {
	var read *redis.SliceCmd
	err := c.call(ctx, timeout, func(ctx context.Context) error {
		_, err := c.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Set(ctx, k, newGen(), c.genTTL)
			}
			read = p.MGet(ctx, keys...)
			return nil
		})
		return err
	})
	if err != nil {
		return tag{}, err
	}
	t, ok := parseTag(read.Val())
	if !ok {
		return tag{}, errors.New("cache: generation counters unreadable after reset")
	}
	return t, nil
}

// bumpGens makes the entries tagged with the counters keys unreachable: INCR
// of each (a missing counter is first created at a random start) with its TTL
// renewed, and, in the same MULTI/EXEC, DEL of the entries in del, which the
// increment has just made unreachable (best effort garbage removal: entries not
// listed are overwritten by their next fill or expire). With replica reads it
// returns only once the slot range's replicas have the increment (bumpAndWait).
func (c *Cache) bumpGens(ctx context.Context, keys, del []string) error {
	tx := func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.SetNX(ctx, k, newGen(), c.genTTL)
			p.Incr(ctx, k)
			p.Expire(ctx, k, c.genTTL)
		}
		if len(del) > 0 {
			p.Unlink(ctx, del...)
		}
		return nil
	}
	err := c.call(ctx, c.invTimeout, func(ctx context.Context) error {
		if c.waitReplicas {
			return c.bumpAndWait(ctx, keys[0], tx)
		}
		cmds, err := c.client.TxPipelined(ctx, tx)
		return firstErr(cmds, err)
	})
	var rerr redis.Error
	if errors.As(err, &rerr) && strings.Contains(rerr.Error(), "not an integer") {
		// A counter holds garbage: fresh random starts invalidate just as well.
		_, err = c.resetGens(ctx, keys, c.invTimeout)
		if err == nil && c.waitReplicas {
			// The reset did not wait for the replicas: let the retrier's increment do that.
			err = fmt.Errorf("%w: counters of %s reset", errReplicasBehind, keys[0])
		}
	}
	return err
}

// firstErr is err, or else the first error of a pipeline's commands.
func firstErr(cmds []redis.Cmder, err error) error {
	if err != nil {
		return err
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// errReplicasBehind means an invalidation reached the slot range's master but not every replica
// within replicaWait: with replica reads the write is then handled as a failed invalidation.
var errReplicasBehind = errors.New("cache: replicas did not confirm the invalidation")

// replicaWait bounds how long an invalidation waits (WAIT) for the replicas of its slot range.
const replicaWait = 100 * time.Millisecond

// bumpAndWait runs the invalidation tx on the master of key's slot range and then, on the same
// connection, WAIT for every replica the cluster lists for that master: a reply means each
// replica has applied the increment, so no read routed to a replica after the write is
// answered can see the old counters. Fewer replicas within replicaWait is errReplicasBehind.
func (c *Cache) bumpAndWait(ctx context.Context, key string, tx func(redis.Pipeliner) error) error {
	master, err := c.nodes.cluster.MasterForKey(ctx, key)
	if err != nil {
		return err
	}
	addr := master.Options().Addr
	conn := master.Conn()
	defer conn.Close()
	conn.AddHook(c.redisCount)
	want, err := c.nodes.replicasOf(ctx, conn, addr)
	if err != nil {
		return err
	}
	if err := firstErr(conn.TxPipelined(ctx, tx)); err != nil {
		if redirected(err) {
			c.nodes.reloadSlots() // a failover moved the slot: the next try goes to the new master
		}
		return err
	}
	if want == 0 {
		return nil
	}
	got, err := conn.Wait(ctx, want, replicaWait).Result()
	if err != nil {
		return err
	}
	if got < int64(want) {
		return fmt.Errorf("%w: %d of %d replicas of %s within %s", errReplicasBehind, got, want, addr, replicaWait)
	}
	return nil
}

// redirected reports whether err is a MOVED or ASK reply.
func redirected(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	return strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ")
}
