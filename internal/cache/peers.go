package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// FenceLog is the shared log through which server instances tell each other about
// invalidations that did not reach Redis (atlas.FenceLog; the reference server keeps it in
// its database; see docs/COHERENCE.md for the protocol and why it is correct).
type FenceLog = atlas.FenceLog

// Fence is one entry of a FenceLog.
type Fence = atlas.Fence

// ErrUnconfirmed means an invalidation reached neither Redis nor the fence log: the write
// has committed but other instances may still serve the old entries, so the write must not
// be acknowledged as done.
var ErrUnconfirmed = errors.New("cache: invalidation unconfirmed")

// Timing of the fence protocol.
const (
	// DefaultLease is how long an instance may use the cache after it last read the fence
	// log; an instance that cannot read it for that long bypasses the cache for everyone.
	DefaultLease = 3 * time.Second
	// fencePoll is how often an instance reads the fence log.
	fencePoll = 50 * time.Millisecond
	// leaseMargin is how much earlier than the lease an instance stops trusting itself: the
	// clock skew between instances the protocol tolerates.
	leaseMargin = 500 * time.Millisecond
	// waitPoll is how often a writer looks whether every instance has read its fence.
	waitPoll = 10 * time.Millisecond
)

// peers is this instance's side of the fence protocol; a nil log makes it a no-op
// (process-local pending invalidations only).
type peers struct {
	log   FenceLog
	id    string
	lease time.Duration

	mu        sync.Mutex
	seen      int64            // highest fence read
	renewed   time.Time        // start of the poll whose lease renewal succeeded
	renewSeen int64            // seen as of that renewal
	known     map[string]int64 // user → highest fence of theirs read or written here
}

func newPeers(log FenceLog, lease time.Duration) *peers {
	b := make([]byte, 8)
	rand.Read(b)
	if lease <= leaseMargin {
		lease = DefaultLease
	}
	return &peers{log: log, id: hex.EncodeToString(b), lease: lease, known: map[string]int64{}}
}

// upTo is the highest fence of user known here; read it before the increment whose
// success lets those fences go.
func (p *peers) upTo(user string) int64 {
	if p.log == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.known[user]
}

// poll reads the log once: every new fence makes its user pending here, then the lease is
// renewed (when anything new was read, or a third of it has passed). The pending set's
// lease follows the renewal, so this instance stops using the cache when it cannot read
// the log for a whole lease.
func (c *Cache) pollFences(ctx context.Context) error {
	p := c.peers
	start := time.Now()
	p.mu.Lock()
	seen := p.seen
	p.mu.Unlock()
	fences, err := p.log.FencesAfter(ctx, seen)
	if err != nil {
		return err
	}
	p.mu.Lock()
	for _, f := range fences {
		c.pending.add(f.User, f.Scope)
		p.known[f.User] = max(p.known[f.User], f.Seq)
		p.seen = max(p.seen, f.Seq)
	}
	seen = p.seen
	due := seen != p.renewSeen || start.Sub(p.renewed) >= p.lease/3
	p.mu.Unlock()
	if !due {
		return nil
	}
	if err := p.log.RenewInstance(ctx, p.id, seen, start.Add(p.lease)); err != nil {
		return err
	}
	p.mu.Lock()
	p.renewed, p.renewSeen = start, seen
	p.mu.Unlock()
	c.pending.trustUntil(start.Add(p.lease - leaseMargin))
	return nil
}

// fenceLoop polls the log until ctx ends, then drops this instance's lease.
func (c *Cache) fenceLoop(ctx context.Context) {
	t := time.NewTicker(fencePoll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			c.peers.log.RemoveInstance(dctx, c.peers.id)
			cancel()
			return
		case <-t.C:
			err := c.pollFences(ctx)
			if err != nil && !failing && ctx.Err() == nil {
				c.log.Warn("cache: fence log unreadable; the cache is bypassed once the lease runs out", "err", err)
			}
			failing = err != nil
		}
	}
}

// publish tells the other instances that user's invalidation did not reach Redis: it
// appends a fence and waits until every instance holding a lease has read it (or the fence
// was applied and deleted, or the lease of the laggards ran out). Only then may the write
// be acknowledged.
func (c *Cache) publish(ctx context.Context, user string, scope Scope) error {
	p := c.peers
	if p.log == nil {
		return nil
	}
	seq, err := p.log.AddFence(ctx, user, scope)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.known[user] = max(p.known[user], seq)
	p.mu.Unlock()
	deadline := time.Now().Add(p.lease + leaseMargin)
	for {
		n, err := p.log.Lagging(ctx, p.id, seq, time.Now())
		switch {
		case err != nil:
			return err
		case n == 0:
			return nil
		case time.Now().After(deadline):
			// Every lease read before the fence was written has run out by now.
			return fmt.Errorf("%d instances still hold a lease without reading fence %d", n, seq)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(waitPoll):
		}
	}
}

// applied deletes user's fences up to upTo once their increment reached Redis.
func (c *Cache) applied(ctx context.Context, user string, upTo int64) {
	if c.peers.log == nil || upTo == 0 {
		return
	}
	if err := c.peers.log.DeleteFences(ctx, user, upTo); err != nil {
		c.log.Warn("cache: applied fences not deleted (others keep bypassing the user until a retry)", "user", user, "err", err)
		return
	}
	p := c.peers
	p.mu.Lock()
	if p.known[user] <= upTo {
		delete(p.known, user)
	}
	p.mu.Unlock()
}
