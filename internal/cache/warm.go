package cache

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/errgroup"
)

// WarmStart preloads tier and profile of the most active users (Warmer(ctx, nil),
// at most WarmLimit of them). It does nothing when the cache or warming is off
// or there is no Warmer.
//
// Entries are written with SET NX at the generation read before the data, so
// warming never overwrites a fresher entry and a write that lands meanwhile
// leaves the warmed entry unreachable. Users with a pending invalidation are
// skipped. To read the generations first, the Warmer is asked twice: once (nil)
// for the user IDs, once for their current data.
func (c *Cache) WarmStart(ctx context.Context) error {
	if !c.enabled || !c.cfg.Warm || c.warmer == nil {
		return nil
	}
	start := time.Now()
	active, err := c.warmer(ctx, nil)
	if err != nil {
		return fmt.Errorf("cache: warm: active users: %w", err)
	}
	seen := make(map[string]bool, len(active))
	var users []string
	for _, e := range active {
		if len(users) == c.warmLimit {
			break
		}
		if !seen[e.UserID] {
			seen[e.UserID] = true
			users = append(users, e.UserID)
		}
	}
	n, err := c.warm(ctx, users)
	if err != nil {
		return fmt.Errorf("cache: warm: %d of %d users warmed: %w", n, len(users), err)
	}
	c.log.Info("cache: warmed", "users", len(users), "entries", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// warm writes tier and profile entries of users with SET NX, in batches of
// warmBatch users (one Warmer call and two pipelines each), warmConcurrency
// batches at a time. On a Redis Cluster a batch holds the users of one master
// only, and the users of a master whose breaker is not closed (it failed and has
// not answered since) are skipped: warming never dials a node known to be down,
// and a node that fails during warming costs only its own users' entries. It
// returns how many entries were written; err is the first batch's failure.
func (c *Cache) warm(ctx context.Context, users []string) (int, error) {
	groups, skipped := c.warmGroups(ctx, users)
	if skipped > 0 {
		c.log.Info("cache: warming skips the users of unreachable nodes", "users", skipped)
	}
	var written atomic.Int64
	var g errgroup.Group // a failed batch does not cancel the others
	g.SetLimit(warmConcurrency)
	for _, group := range groups {
		for start := 0; start < len(group); start += warmBatch {
			batch := group[start:min(start+warmBatch, len(group))]
			g.Go(func() error {
				n, err := c.warmBatch(ctx, batch)
				written.Add(int64(n))
				return err
			})
		}
	}
	err := g.Wait()
	return int(written.Load()), err
}

// warmGroups splits users by the Redis Cluster master that serves their keys (its
// address from the client's slot map), leaving out the users of masters whose breaker
// is open or half-open; skipped counts them. A single Redis is one group.
func (c *Cache) warmGroups(ctx context.Context, users []string) (groups [][]string, skipped int) {
	if c.nodes == nil || len(users) == 0 {
		return [][]string{users}, 0
	}
	byAddr := map[string][]string{}
	var order []string
	for _, u := range users {
		node, err := c.nodes.cluster.MasterForKey(ctx, IDGenKey(u))
		if err != nil {
			skipped++ // no slot map: nothing to warm through
			continue
		}
		addr := node.Options().Addr
		if c.nodes.breaker(addr).State() != gobreaker.StateClosed {
			skipped++
			continue
		}
		if _, ok := byAddr[addr]; !ok {
			order = append(order, addr)
		}
		byAddr[addr] = append(byAddr[addr], u)
	}
	for _, addr := range order {
		groups = append(groups, byAddr[addr])
	}
	return groups, skipped
}

func (c *Cache) warmBatch(ctx context.Context, users []string) (int, error) {
	users = c.notPending(users)
	if len(users) == 0 {
		return 0, nil
	}
	gs, err := c.idGens(ctx, users)
	if err != nil {
		return 0, err
	}
	genOf := make(map[string]tag, len(users))
	for i, u := range users {
		genOf[u] = gs[i]
	}
	entries, err := c.warmer(ctx, users)
	if err != nil {
		return 0, fmt.Errorf("warmer: %w", err)
	}
	var cmds []*redis.BoolCmd
	err = c.call(ctx, c.invTimeout, func(ctx context.Context) error {
		_, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, e := range entries {
				g, asked := genOf[e.UserID]
				if !asked || !validTier(e.Tier) || c.pending.has(e.UserID) {
					continue
				}
				if base := c.cfg.TTL(e.Tier, ClassTier); base > 0 {
					k := Key{User: e.UserID, Class: ClassTier}.String()
					cmds = append(cmds, p.SetNX(ctx, k, encode(g, []byte(e.Tier), false), c.jittered(base)))
				}
				if base := c.cfg.TTL(e.Tier, ClassUserProfile); base > 0 && e.Profile != nil {
					k := Key{User: e.UserID, Tier: e.Tier, Class: ClassUserProfile}.String()
					cmds = append(cmds, p.SetNX(ctx, k, encode(g, e.Profile, false), c.jittered(base)))
				}
			}
			return nil
		})
		return err
	})
	n := 0
	for _, cmd := range cmds {
		if cmd.Val() {
			n++
		}
	}
	return n, err
}

// idGens reads the identity counters of many users in one pipeline, creating
// the missing ones in a second.
func (c *Cache) idGens(ctx context.Context, users []string) ([]tag, error) {
	cmds := make([]*redis.SliceCmd, len(users))
	err := c.call(ctx, c.invTimeout, func(ctx context.Context) error {
		_, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, u := range users {
				cmds[i] = p.MGet(ctx, IDGenKey(u))
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]tag, len(users))
	var missing [][]string
	var at []int
	for i, cmd := range cmds {
		t, ok := parseTag(cmd.Val())
		if !ok {
			missing = append(missing, []string{IDGenKey(users[i])})
			at = append(at, i)
			continue
		}
		out[i] = t
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

func (c *Cache) notPending(users []string) []string {
	if c.pending.len() == 0 {
		return users
	}
	out := make([]string, 0, len(users))
	for _, u := range users {
		if !c.pending.has(u) {
			out = append(out, u)
		}
	}
	return out
}
