package cache

import (
	"context"
	"time"
)

// DrainReport is what Drain did with the invalidations this instance still owed Redis.
type DrainReport struct {
	// Pending is the number of users with a pending invalidation when Drain began.
	Pending int
	// Applied reached Redis during Drain.
	Applied int
	// HandedOver are left in the fence log, where the other instances (and this instance's
	// successor, at its start) read them and apply them once they reach Redis.
	HandedOver int
	// Lost are neither applied nor in a fence log: the cache has no fence log (one
	// instance, or unsafe.localPendingOnly), or the log could not be written.
	Lost int
}

// Drain finishes this instance's background work before the process exits: it tries every
// pending invalidation once more and leaves each one still owed in the fence log, so that
// nothing pending is lost with the process. Call it after the last request was answered and
// before the context given to Start ends (ending it drops this instance's lease). ctx bounds
// the whole drain.
func (c *Cache) Drain(ctx context.Context) DrainReport {
	var r DrainReport
	if !c.enabled {
		return r
	}
	for _, p := range c.pending.list() {
		r.Pending++
		upTo := c.peers.upTo(p.user)
		if ctx.Err() == nil {
			if err := c.bumpScope(ctx, p.user, p.scope, false); err == nil {
				if c.pending.clear(p.user, p.seq) {
					c.log.Info("cache: pending invalidation applied", "user", p.user, "scope", p.scope.String())
				}
				c.applied(ctx, p.user, upTo)
				r.Applied++
				continue
			}
		}
		if c.handOver(ctx, p, upTo) {
			r.HandedOver++
			continue
		}
		r.Lost++
		c.log.Error("cache: pending invalidation lost at shutdown (no fence log holds it)", "user", p.user, "scope", p.scope.String())
	}
	return r
}

// handOver makes sure the fence log holds user p's pending invalidation: a fence known here
// (written here or read from the log) still stands until someone applied it; otherwise one is
// appended. It reports whether the log holds it.
func (c *Cache) handOver(ctx context.Context, p pendingUser, known int64) bool {
	if c.peers.log == nil {
		return false
	}
	if known > 0 {
		return true
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if _, err := c.peers.log.AddFence(actx, p.user, p.scope); err != nil {
		c.log.Warn("cache: pending invalidation not handed over to the fence log", "user", p.user, "err", err)
		return false
	}
	return true
}
