package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Invalidate makes the user's cached entries of scope unreachable by
// incrementing a generation counter: ScopeData (conversations and apiResponses:
// after a write) or ScopeAll (everything: after a tier change). Call it after
// the database commit and before the client is answered.
//
// When the increment cannot reach Redis (down, slow, breaker open) the user is
// put in the pending set: every Load for that user bypasses Redis until the
// background retrier (Start) has applied the increment. The write is safe
// either way; the returned error then wraps ErrPending and is for logging only.
func (c *Cache) Invalidate(ctx context.Context, userID string, scope Scope) error {
	if scope != ScopeData && scope != ScopeAll {
		return fmt.Errorf("cache: invalidate %q: invalid scope %d", userID, int(scope))
	}
	if !c.enabled {
		return nil
	}
	// The write has committed: finish even if the client has gone away.
	ctx = context.WithoutCancel(ctx)
	seq, merged := c.pending.get(userID)
	if scope > merged {
		merged = scope
	}
	upTo := c.peers.upTo(userID)
	err := c.bumpScope(ctx, userID, merged, true)
	if err == nil {
		if seq != 0 && c.pending.clear(userID, seq) {
			c.log.Info("cache: pending invalidation applied", "user", userID, "scope", merged.String())
		}
		c.applied(ctx, userID, upTo)
		return nil
	}
	return c.deferInvalidation(ctx, userID, scope, "", err)
}

// deferInvalidation handles an increment that failed: the user becomes pending here, and
// the other instances, which still read Redis, learn of it through the fence log before
// the write is acknowledged (ErrUnconfirmed when they could not be told).
func (c *Cache) deferInvalidation(ctx context.Context, userID string, scope Scope, path string, err error) error {
	if c.cfg.Unsafe.DropFailedInvalidations {
		return fmt.Errorf("cache: invalidation of %q dropped (unsafe config): %w", userID, err)
	}
	c.pending.add(userID, scope)
	c.log.Warn("cache: invalidation pending", "user", userID, "path", path, "scope", scope.String(), "err", err)
	if perr := c.publish(ctx, userID, scope); perr != nil {
		c.log.Error("cache: invalidation neither in Redis nor in the fence log", "user", userID, "err", perr)
		return fmt.Errorf("%w: user %q: redis: %w; fence log: %w", ErrUnconfirmed, userID, err, perr)
	}
	return fmt.Errorf("%w: user %q, scope %s, path %q: %w", ErrPending, userID, scope, path, err)
}

// InvalidatePath makes unreachable what a write inside one resource path
// changes (a posted message: path "messages/c12", see ResourcePath): every
// ClassAPIResponses entry of that path and the user's ClassConversations
// entry. The user's other entries stay cached. resources are entries of the
// path whose keys are known (the default page): they are deleted in the same
// transaction, best effort. Call it after the database commit and before the
// client is answered; a failure is handled as in Invalidate (the user is
// pending, with ScopeData, until the retrier applied it).
func (c *Cache) InvalidatePath(ctx context.Context, userID, path string, resources ...string) error {
	if !c.enabled {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	if seq, _ := c.pending.get(userID); seq != 0 {
		// A wider invalidation is owed anyway: it covers this one.
		return c.Invalidate(ctx, userID, ScopeData)
	}
	p := userPrefix(userID)
	gens := []string{p + "gen:list", p + "gen:r:" + Escape(path)}
	del := make([]string, 0, 3*(1+len(resources)))
	for _, tier := range tiers() {
		del = append(del, Key{Tier: tier, Class: ClassConversations}.in(p))
		for _, r := range resources {
			if ResourcePath(r) == path {
				del = append(del, Key{Tier: tier, Class: ClassAPIResponses, Resource: r}.in(p))
			}
		}
	}
	// (Fences are deleted only by a whole-scope increment: Invalidate or the retrier.)
	err := c.bumpGens(ctx, gens, del)
	if err == nil {
		return nil
	}
	return c.deferInvalidation(ctx, userID, ScopeData, path, err)
}

// Invalidate invalidates the view's user (see Cache.Invalidate) and makes the
// view read the generations again, so its later Loads see the write.
func (v *UserView) Invalidate(ctx context.Context, scope Scope) error {
	err := v.c.Invalidate(ctx, v.user, scope)
	v.mu.Lock()
	v.snap = v.snap[:0]
	v.mu.Unlock()
	return err
}

// bumpScope increments the counters of scope (the data counter; and the
// identity counter for ScopeAll) and, with collect, deletes the entries of
// known keys the increment makes unreachable: the conversation lists, and for
// ScopeAll the tier and the profiles, of every tier. The retrier of pending
// invalidations does not collect: what Redis kept while it was unreachable
// stays until overwritten or expired (unreachable all the same).
func (c *Cache) bumpScope(ctx context.Context, user string, scope Scope, collect bool) error {
	p := userPrefix(user)
	gens := []string{p + "gen:data"}
	if !collect {
		if scope == ScopeAll {
			gens = append(gens, p+"gen:id")
		}
		return c.bumpGens(ctx, gens, nil)
	}
	del := make([]string, 0, 7)
	classes := []Class{ClassConversations}
	if scope == ScopeAll {
		gens = append(gens, p+"gen:id")
		del = append(del, Key{Class: ClassTier}.in(p))
		classes = append(classes, ClassUserProfile)
	}
	for _, class := range classes {
		for _, tier := range tiers() {
			del = append(del, Key{Tier: tier, Class: class}.in(p))
		}
	}
	return c.bumpGens(ctx, gens, del)
}

// Start runs the background loops until ctx ends: the retrier of pending
// invalidations (every 100ms) and recovery warming when the breaker closes
// again, and with replica reads on a cluster a slot-map reload every second. Calls after
// the first do nothing.
func (c *Cache) Start(ctx context.Context) {
	if !c.enabled || !c.started.CompareAndSwap(false, true) {
		return
	}
	if c.peers.log != nil {
		// Read the fence log before serving from the cache at all.
		if err := c.pollFences(ctx); err != nil {
			c.log.Warn("cache: fence log unreadable at start; bypassing the cache until it is", "err", err)
		}
		c.loop(func() { c.fenceLoop(ctx) })
	}
	c.loop(func() { c.retryLoop(ctx) })
	c.loop(func() { c.recoveryLoop(ctx) })
	if c.nodes != nil && c.cfg.Redis.ReadFromReplicas {
		c.loop(func() { c.nodes.reloadLoop(ctx) })
	}
}

// loop runs fn on its own goroutine, counted for Wait.
func (c *Cache) loop(fn func()) {
	c.loops.Add(1)
	go func() {
		defer c.loops.Done()
		fn()
	}()
}

// Wait returns once the background loops Start began have returned, which they do after
// Start's context ended (the fence loop drops this instance's lease on its way out). Call
// it before closing what they use: the Redis client and the fence log's database.
func (c *Cache) Wait() { c.loops.Wait() }

func (c *Cache) retryLoop(ctx context.Context) {
	every(ctx, retryEvery, func() { c.retryPending(ctx) })
}

// every runs fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// retryPending tries the increment of every pending user once; it stops at the
// first refusal by the breaker.
func (c *Cache) retryPending(ctx context.Context) {
	for _, p := range c.pending.list() {
		upTo := c.peers.upTo(p.user)
		err := c.bumpScope(ctx, p.user, p.scope, false)
		switch {
		case err == nil:
			if c.pending.clear(p.user, p.seq) {
				c.log.Info("cache: pending invalidation applied", "user", p.user, "scope", p.scope.String())
			}
			c.applied(ctx, p.user, upTo)
		case errors.Is(err, errBreakerOpen) || ctx.Err() != nil:
			return
		}
	}
}

func (c *Cache) recoveryLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.recovered:
			if c.warmer == nil || !c.cfg.Warm {
				continue
			}
			users := c.recent.list()
			b := c.newWarmBudget(time.Now())
			err := c.warm(ctx, users, b)
			r := b.report()
			if err != nil {
				c.log.Warn("cache: recovery warming", "users", len(users), "warmed", r.Keys, "err", err)
				continue
			}
			c.log.Info("cache: recovery warming", "users", len(users), "warmed", r.Keys, "stopped", r.Stopped)
		}
	}
}

// pendingSet holds the users whose invalidation has not reached Redis yet.
type pendingSet struct {
	mu  sync.Mutex
	m   map[string]pendingEntry
	seq uint64
	n   atomic.Int64 // len(m), read without the lock on every Load
	// trusted is the end (unix ns) of the fence-log lease: from then on every user counts
	// as pending, because another instance's failed invalidation may be unknown here.
	// 0: no fence log (process-local pending invalidations only).
	trusted atomic.Int64
}

// trustUntil extends the lease (never shortens it).
func (s *pendingSet) trustUntil(t time.Time) {
	for {
		old := s.trusted.Load()
		if t.UnixNano() <= old || s.trusted.CompareAndSwap(old, t.UnixNano()) {
			return
		}
	}
}

type pendingEntry struct {
	scope Scope
	seq   uint64 // changes with every failed invalidation of the user
}

type pendingUser struct {
	user  string
	scope Scope
	seq   uint64
}

// has reports whether the user has a pending invalidation (every user does while the
// fence-log lease has run out).
func (s *pendingSet) has(user string) bool {
	if t := s.trusted.Load(); t != 0 && time.Now().UnixNano() >= t {
		return true
	}
	if s.n.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[user]
	return ok
}

// get returns the user's entry sequence (0 if none) and scope.
func (s *pendingSet) get(user string) (uint64, Scope) {
	if s.n.Load() == 0 {
		return 0, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[user]
	return e.seq, e.scope
}

// add records a failed invalidation, widening the scope of an existing entry.
func (s *pendingSet) add(user string, scope Scope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	e := s.m[user]
	e.scope = max(e.scope, scope)
	e.seq = s.seq
	s.m[user] = e
	s.n.Store(int64(len(s.m)))
}

// clear removes the user's entry if no invalidation failed since seq was read.
func (s *pendingSet) clear(user string, seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[user]; !ok || e.seq != seq {
		return false
	}
	delete(s.m, user)
	s.n.Store(int64(len(s.m)))
	return true
}

func (s *pendingSet) list() []pendingUser {
	if s.n.Load() == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]pendingUser, 0, len(s.m))
	for u, e := range s.m {
		out = append(out, pendingUser{user: u, scope: e.scope, seq: e.seq})
	}
	return out
}

func (s *pendingSet) len() int { return int(s.n.Load()) }

// recentSet remembers up to cap distinct user IDs, evicting the oldest first.
type recentSet struct {
	mu   sync.RWMutex
	m    map[string]struct{}
	ring []string
	next int
}

func newRecentSet(capacity int) *recentSet {
	return &recentSet{m: make(map[string]struct{}, capacity), ring: make([]string, 0, capacity)}
}

func (r *recentSet) add(user string) {
	r.mu.RLock()
	_, ok := r.m[user]
	r.mu.RUnlock()
	if ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[user]; ok {
		return
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, user)
	} else {
		delete(r.m, r.ring[r.next])
		r.ring[r.next] = user
		r.next = (r.next + 1) % len(r.ring)
	}
	r.m[user] = struct{}{}
}

func (r *recentSet) list() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]string(nil), r.ring...)
}
