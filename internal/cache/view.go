package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Entry encoding: one type byte, then the value.
const (
	entryValue    = 'v' // 'v' + the cached bytes
	entryNotFound = 'n' // exactly "n": a negative entry
)

// UserView is one request's view of one user's entries. It reads the user's
// generation counters once, lazily (one MGET), and once any Redis call made
// through it fails, its remaining Loads bypass Redis, so a request waits for
// at most about one Redis timeout. A view is safe for concurrent use but is
// meant to live for one request: a write is seen by views created after its
// Invalidate returned (or by this view after UserView.Invalidate).
type UserView struct {
	c    *Cache
	user string

	mu       sync.Mutex
	haveGens bool
	g        gens

	failed atomic.Bool
}

// User returns a request-scoped view of userID's entries. userID must come
// from the authenticated principal; any string is safe in a key.
func (c *Cache) User(ctx context.Context, userID string) *UserView {
	if c.enabled {
		c.recent.add(userID)
	}
	return &UserView{c: c, user: userID}
}

// Load returns the value of one entry, calling load on a miss and caching what
// it returns. tier is "" for ClassTier (the tier lookup itself; its value is
// the tier string) and the user's tier otherwise; resource is "" except for
// ClassAPIResponses, where it is the routed resource including its canonical
// query (for example "messages/c12?limit=50"); it is escaped in the key.
//
// A loader error wrapping ErrNotFound is cached as a short negative entry and
// Load returns ErrNotFound (also on a later negative hit); any other loader
// error is returned and never cached. Redis errors are never returned: Load
// falls back to the loader and reports Bypass. Concurrent Loads of one entry
// share one loader call (run under a context detached from the callers, bounded
// by FillTimeout); each caller still returns when its own ctx ends. Callers may
// modify the returned slice.
func (v *UserView) Load(ctx context.Context, class Class, tier, resource string, load func(ctx context.Context) ([]byte, error)) ([]byte, Outcome, error) {
	c := v.c
	i := class.index()
	if i < 0 {
		return nil, Bypass, fmt.Errorf("cache: unknown class %q", class)
	}
	if load == nil {
		return nil, Bypass, fmt.Errorf("cache: %s: nil loader", class)
	}
	st := &c.stats[i]
	if !c.enabled || v.failed.Load() || !v.cacheable(class, tier, resource) || c.pending.has(v.user) {
		st.bypasses.Add(1)
		return bypass(ctx, load)
	}
	g, err := v.gens(ctx)
	if err != nil {
		return v.fallback(ctx, st, err, load)
	}
	key := Key{User: v.user, Tier: tier, Class: class, Resource: resource, Gen: g.of(class)}.String()
	raw, found, err := c.get(ctx, key)
	if err != nil {
		return v.fallback(ctx, st, err, load)
	}
	if found {
		if val, neg, ok := decode(class, raw); ok {
			st.hits.Add(1)
			if neg {
				return nil, Hit, ErrNotFound
			}
			return val, Hit, nil
		}
	}
	return v.fill(ctx, st, class, tier, key, load)
}

// cacheable reports whether the Load may use Redis at all: a valid tier with a
// TTL for tiered classes, and no resource for single-valued classes.
func (v *UserView) cacheable(class Class, tier, resource string) bool {
	if resource != "" && !class.hasResource() {
		v.c.log.Warn("cache: resource given for a single-valued class; not cached", "class", string(class))
		return false
	}
	if !class.tiered() {
		return true
	}
	return ValidTier(tier) && v.c.cfg.TTL(tier, class) > 0
}

// gens returns the user's generations, reading them on first use.
func (v *UserView) gens(ctx context.Context) (gens, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.haveGens {
		return v.g, nil
	}
	g, err := v.c.userGens(ctx, v.user)
	if err != nil {
		return gens{}, err
	}
	v.g, v.haveGens = g, true
	return g, nil
}

// fallback records a failed or refused Redis call, switches the view to bypass
// and answers from the loader.
func (v *UserView) fallback(ctx context.Context, st *classCounters, err error, load func(context.Context) ([]byte, error)) ([]byte, Outcome, error) {
	if redisFault(err) {
		st.errors.Add(1)
	}
	v.failed.Store(true)
	st.bypasses.Add(1)
	return bypass(ctx, load)
}

// bypass answers from the loader alone.
func bypass(ctx context.Context, load func(context.Context) ([]byte, error)) ([]byte, Outcome, error) {
	val, err := load(ctx)
	if errors.Is(err, ErrNotFound) {
		return nil, Bypass, ErrNotFound
	}
	return val, Bypass, err
}

// fillResult is what one singleflight fill hands to every caller waiting on it.
type fillResult struct {
	val         []byte
	err         error
	outcome     Outcome
	redisFailed bool // a Redis call inside the fill failed: the callers' views bypass from now on
}

// fill joins or starts the one fill of key and waits for it with the caller's ctx.
func (v *UserView) fill(ctx context.Context, st *classCounters, class Class, tier, key string, load func(context.Context) ([]byte, error)) ([]byte, Outcome, error) {
	c := v.c
	ch := c.flights.DoChan(key, func() (any, error) {
		// Detached: a caller that goes away must not cancel the others' fill.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fillTimeout)
		defer cancel()
		return c.runFill(fctx, st, class, tier, key, load), nil
	})
	select {
	case r := <-ch:
		f := r.Val.(*fillResult)
		if f.redisFailed {
			v.failed.Store(true)
		}
		switch f.outcome {
		case Hit:
			st.hits.Add(1)
		case Miss:
			st.misses.Add(1)
		default:
			st.bypasses.Add(1)
		}
		val := f.val
		if r.Shared && val != nil {
			val = bytes.Clone(val)
		}
		return val, f.outcome, f.err
	case <-ctx.Done():
		st.misses.Add(1)
		return nil, Miss, ctx.Err()
	}
}

// runFill is the shared work of one fill: look again (a fill that finished just
// before this one started has written the entry), load, and write the entry at
// the generation read before the load, so a write+invalidate that happens
// meanwhile leaves this entry where nobody reads it.
func (c *Cache) runFill(ctx context.Context, st *classCounters, class Class, tier, key string, load func(context.Context) ([]byte, error)) *fillResult {
	res := &fillResult{outcome: Miss}
	garbage := false
	raw, found, err := c.get(ctx, key)
	switch {
	case err != nil:
		if redisFault(err) {
			st.errors.Add(1)
		}
		res.redisFailed, res.outcome = true, Bypass
	case found:
		if val, neg, ok := decode(class, raw); ok {
			res.outcome = Hit
			if neg {
				res.err = ErrNotFound
			} else {
				res.val = val
			}
			return res
		}
		garbage = true
	}

	val, lerr := c.runLoader(ctx, key, load)
	if c.hooks.AfterLoad != nil {
		c.hooks.AfterLoad(key)
	}
	res.val, res.err = val, lerr
	if errors.Is(lerr, ErrNotFound) {
		res.val, res.err = nil, ErrNotFound
	}
	if res.redisFailed {
		return res
	}

	var entry []byte
	var ttl time.Duration
	switch {
	case lerr == nil:
		if base := c.entryTTL(class, tier, val); base > 0 {
			entry = make([]byte, 0, len(val)+1)
			entry = append(append(entry, entryValue), val...)
			ttl = c.jittered(base)
		}
	case errors.Is(lerr, ErrNotFound):
		entry, ttl = []byte{entryNotFound}, c.negTTL
	}
	var werr error
	switch {
	case entry != nil:
		werr = c.call(ctx, c.opTimeout, func(ctx context.Context) error {
			return c.client.Set(ctx, key, entry, ttl).Err()
		})
	case garbage:
		werr = c.call(ctx, c.opTimeout, func(ctx context.Context) error {
			return c.client.Del(ctx, key).Err()
		})
	}
	if werr != nil {
		if redisFault(werr) {
			st.errors.Add(1)
		}
		res.redisFailed = true
	}
	return res
}

// runLoader calls load, turning a panic into an error: a panic inside a
// singleflight fill would otherwise end the process.
func (c *Cache) runLoader(ctx context.Context, key string, load func(context.Context) ([]byte, error)) (val []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("cache: loader panicked", "key", key, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			val, err = nil, fmt.Errorf("cache: loader panicked: %v", p)
		}
	}()
	return load(ctx)
}

// entryTTL is the base TTL of a loaded value; for ClassTier it is the TTL of
// the tier the value names (0, not cached, if it names none).
func (c *Cache) entryTTL(class Class, tier string, val []byte) time.Duration {
	if class == ClassTier {
		return c.cfg.TTL(string(val), ClassTier)
	}
	return c.cfg.TTL(tier, class)
}

// get reads one entry; found is false on a miss (redis.Nil stops here).
func (c *Cache) get(ctx context.Context, key string) (raw []byte, found bool, err error) {
	err = c.call(ctx, c.opTimeout, func(ctx context.Context) error {
		var err error
		raw, err = c.client.Get(ctx, key).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return raw, true, nil
}

// decode reads an entry; ok is false for anything this package did not write
// (treated as a miss and replaced). A ClassTier value must name a valid tier.
func decode(class Class, raw []byte) (val []byte, neg, ok bool) {
	if len(raw) == 0 {
		return nil, false, false
	}
	switch raw[0] {
	case entryValue:
		val = raw[1:]
		if class == ClassTier && !ValidTier(string(val)) {
			return nil, false, false
		}
		return val, false, true
	case entryNotFound:
		if len(raw) == 1 {
			return nil, true, true
		}
	}
	return nil, false, false
}
