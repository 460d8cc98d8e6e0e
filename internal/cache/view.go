package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// UserView is one request's view of one user's entries. Its first Redis read
// is one MGET of the entry's generation counters and the entry itself; when
// the request declared its route's entry with Prefetch, the first read (the
// tier lookup) fetches that entry too, so a cached request costs one Redis
// round trip. Once any Redis call made through the view fails, its remaining
// Loads bypass Redis, so a request waits for at most about one Redis timeout.
// A view is safe for concurrent use but is meant to live for one request: a
// write is seen by views created after its Invalidate returned (or by this
// view after UserView.Invalidate).
type UserView struct {
	c      *Cache
	user   string
	prefix string // userPrefix(user)

	mu   sync.Mutex
	want Key    // the prefetched entry (Class "" when none)
	snap []slot // what the view's last MGET returned, counters and entries

	failed atomic.Bool
}

// slot is one key of a view's snapshot and the value MGET returned for it.
type slot struct {
	key string
	val any
}

// User returns a request-scoped view of userID's entries. userID must come
// from the authenticated principal; any string is safe in a key.
func (c *Cache) User(ctx context.Context, userID string) *UserView {
	if c.enabled {
		c.recent.add(userID)
	}
	return &UserView{c: c, user: userID, prefix: userPrefix(userID)}
}

// Prefetch declares the entry the request will Load after its tier lookup
// (class, and resource for ClassAPIResponses): the view's ClassTier Load then
// reads that entry for every tier in the same MGET, and the later Load of it
// is answered from what that MGET returned. Call it before the first Load; a
// ClassTier or unknown class is ignored.
func (v *UserView) Prefetch(class Class, resource string) {
	if !class.Valid() || !class.Tiered() {
		return
	}
	v.mu.Lock()
	v.want = Key{User: v.user, Class: class, Resource: resource}
	v.mu.Unlock()
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
	val, outcome, _, err := v.LoadValidated(ctx, class, tier, resource, load)
	return val, outcome, err
}

// LoadValidated is Load that also returns the validator of the answer (validator.go): the
// generations the value was read or loaded under. It is the zero Validator (not Valid)
// when the answer did not come through Redis (Bypass) or is an error.
func (v *UserView) LoadValidated(ctx context.Context, class Class, tier, resource string, load func(ctx context.Context) ([]byte, error)) ([]byte, Outcome, Validator, error) {
	c := v.c
	i := class.Index()
	if i < 0 {
		return nil, Bypass, Validator{}, fmt.Errorf("cache: unknown class %q", class)
	}
	if load == nil {
		return nil, Bypass, Validator{}, fmt.Errorf("cache: %s: nil loader", class)
	}
	st := &c.stats[i]
	if !c.enabled || v.failed.Load() || !v.cacheable(class, tier, resource) || c.pending.has(v.user) {
		st.bypasses.Add(1)
		val, outcome, err := bypass(ctx, load)
		return val, outcome, Validator{}, err
	}
	k := Key{User: v.user, Tier: tier, Class: class, Resource: resource}
	key, gks := k.in(v.prefix), k.genKeys(v.prefix)
	vals, err := v.read(ctx, class, key, gks)
	if err != nil {
		val, outcome, err := v.fallback(ctx, st, err, load)
		return val, outcome, Validator{}, err
	}
	t, ok := parseTag(vals[:len(gks)])
	if !ok {
		// A counter is missing (first use, expired, evicted) or malformed: the shared
		// cold fill creates it, once for every concurrent caller.
		val, outcome, t, err := v.coldFill(ctx, st, class, tier, key, gks, load)
		return c.validated(class, val, outcome, t, err)
	}
	if val, ok, err := freshHit(st, class, vals[len(gks)], t); ok {
		return c.validated(class, val, Hit, t, err)
	}
	val, outcome, t, err := v.fill(ctx, st, class, tier, key, gks, t, load)
	return c.validated(class, val, outcome, t, err)
}

// freshHit counts a hit and returns the entry when raw, the entry's value as an MGET read it
// after its counters, was written under the counters t (a cached "not found" is
// ErrNotFound); ok is false when the entry is absent or not servable.
func freshHit(st *classCounters, class Class, raw any, t tag) (val []byte, ok bool, err error) {
	s, isStr := raw.(string)
	if !isStr {
		return nil, false, nil
	}
	val, neg, state := decode(class, s, t)
	if state != entryFresh {
		return nil, false, nil
	}
	st.hits.Add(1)
	if neg {
		return nil, true, ErrNotFound
	}
	return val, true, nil
}

// cacheable reports whether the Load may use Redis at all: a valid tier with a
// TTL for tiered classes, and no resource for single-valued classes.
func (v *UserView) cacheable(class Class, tier, resource string) bool {
	if resource != "" && !class.HasResource() {
		v.c.log.Warn("cache: resource given for a single-valued class; not cached", "class", string(class))
		return false
	}
	if !class.Tiered() {
		return true
	}
	return validTier(tier) && v.c.cfg.TTL(tier, class) > 0
}

// read returns the values of the counters gks and of the entry key, in that
// order: from the view's snapshot when its last MGET fetched them all (the
// prefetched entry), else from one MGET, which for ClassTier also fetches the
// prefetched entry's counters and its key for every tier that caches it.
func (v *UserView) read(ctx context.Context, class Class, key string, gks []string) ([]any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if vals, ok := v.fromSnap(key, gks); ok {
		return vals, nil
	}
	keys := make([]string, 0, 8)
	keys = append(append(keys, gks...), key)
	if class == ClassTier && v.want.Class != "" {
		for _, k := range v.want.genKeys(v.prefix) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		for _, tier := range tiers() {
			if v.c.cfg.TTL(tier, v.want.Class) > 0 {
				w := v.want
				w.Tier = tier
				keys = append(keys, w.in(v.prefix))
			}
		}
	}
	var vals []any
	err := v.c.call(ctx, v.c.opTimeout, func(ctx context.Context) error {
		var err error
		vals, err = v.c.client.MGet(ctx, keys...).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(vals) != len(keys) {
		return nil, fmt.Errorf("cache: MGET of %d keys returned %d values", len(keys), len(vals))
	}
	v.snap = v.snap[:0]
	for i, k := range keys {
		v.snap = append(v.snap, slot{k, vals[i]})
	}
	return vals[:len(gks)+1], nil
}

// fromSnap returns the values of gks and key from the snapshot, if it holds them all.
func (v *UserView) fromSnap(key string, gks []string) ([]any, bool) {
	if len(v.snap) == 0 {
		return nil, false
	}
	out := make([]any, 0, len(gks)+1)
	for _, k := range append(gks[:len(gks):len(gks)], key) {
		i := slices.IndexFunc(v.snap, func(s slot) bool { return s.key == k })
		if i < 0 {
			return nil, false
		}
		out = append(out, v.snap[i].val)
	}
	return out, true
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
	redisFailed bool   // a Redis call inside the fill failed: the callers' views bypass from now on
	seq         uint64 // a cold fill's number (coldFill)
	t           tag    // the generations read before the load (zero when the reading failed)
}

// fill joins or starts the one fill of key at the generations t and waits for
// it with the caller's ctx. Fills of one key at other generations do not join:
// a caller that has seen an invalidation never waits for a load older than it.
func (v *UserView) fill(ctx context.Context, st *classCounters, class Class, tier, key string, gks []string, t tag, load func(context.Context) ([]byte, error)) ([]byte, Outcome, tag, error) {
	c := v.c
	ch := c.flights.DoChan(key+"@"+t.String(), func() (any, error) {
		// Detached: a caller that goes away must not cancel the others' fill.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fillTimeout)
		defer cancel()
		return c.runFillFrom(fctx, st, class, tier, key, gks, nil, load), nil
	})
	select {
	case r := <-ch:
		return v.settle(st, r, r.Val.(*fillResult))
	case <-ctx.Done():
		st.misses.Add(1)
		return nil, Miss, tag{}, ctx.Err()
	}
}

// settle counts a caller's share of the fill f and hands it its own copy of the value, with
// the generations the fill loaded under.
func (v *UserView) settle(st *classCounters, r singleflight.Result, f *fillResult) ([]byte, Outcome, tag, error) {
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
	return val, f.outcome, f.t, f.err
}

// coldFill joins or starts the one cold fill of key: the fill of callers that found a
// counter of the entry missing. It creates the counters (SET NX at a random start) and
// reads them with the entry, then runs, or joins, the fill of key at those counters, so N
// concurrent cold callers create the counters once and load once.
//
// A caller may only use a cold fill that read the counters after the caller saw them
// missing: a fill that read them before could have read counters (and then loaded data)
// older than a write the caller saw acknowledged, if the counters vanished in between
// (FLUSHALL, eviction). Every cold fill takes a number from c.coldSeq before it reads the
// counters and every cold caller reads c.coldSeq after it saw them missing; a caller whose
// number is not below the fill's arrived too late and starts over (once; then it bypasses).
func (v *UserView) coldFill(ctx context.Context, st *classCounters, class Class, tier, key string, gks []string, load func(context.Context) ([]byte, error)) ([]byte, Outcome, tag, error) {
	c := v.c
	for attempt := 0; ; attempt++ {
		seen := c.coldSeq.Load()
		ch := c.flights.DoChan(key+"@cold", func() (any, error) {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fillTimeout)
			defer cancel()
			return c.runColdFill(fctx, st, class, tier, key, gks, load), nil
		})
		var r singleflight.Result
		select {
		case r = <-ch:
		case <-ctx.Done():
			st.misses.Add(1)
			return nil, Miss, tag{}, ctx.Err()
		}
		f := r.Val.(*fillResult)
		if f.seq <= seen {
			if attempt == 0 {
				// Too late for that fill: read again (the counters exist by now).
				vals, err := v.reread(ctx, key, gks)
				if err != nil {
					val, outcome, err := v.fallback(ctx, st, err, load)
					return val, outcome, tag{}, err
				}
				if t, ok := parseTag(vals[:len(gks)]); ok {
					if val, ok, err := freshHit(st, class, vals[len(gks)], t); ok {
						return val, Hit, t, err
					}
					return v.fill(ctx, st, class, tier, key, gks, t, load)
				}
				continue
			}
			st.bypasses.Add(1)
			val, outcome, err := bypass(ctx, load)
			return val, outcome, tag{}, err
		}
		return v.settle(st, r, f)
	}
}

// reread drops the view's snapshot and reads the counters gks and the entry key again.
func (v *UserView) reread(ctx context.Context, key string, gks []string) ([]any, error) {
	v.mu.Lock()
	v.snap = v.snap[:0]
	v.mu.Unlock()
	return v.read(ctx, "", key, gks)
}

// runColdFill is the shared work of one cold fill: take a number (see coldFill), read
// the counters and the entry, creating missing counters, and hand over to the fill of
// key at those counters (joining it when one is running).
func (c *Cache) runColdFill(ctx context.Context, st *classCounters, class Class, tier, key string, gks []string, load func(context.Context) ([]byte, error)) *fillResult {
	seq := c.coldSeq.Add(1)
	t, raw, err := c.readEntry(ctx, key, gks)
	pre := &entryRead{t: t, raw: raw, err: err}
	if err != nil {
		// No counters to join a fill at: this caller loads alone and bypasses.
		f := c.runFillFrom(ctx, st, class, tier, key, gks, pre, load)
		f.seq = seq
		return f
	}
	v, _, shared := c.flights.Do(key+"@"+t.String(), func() (any, error) {
		return c.runFillFrom(ctx, st, class, tier, key, gks, pre, load), nil
	})
	f := *v.(*fillResult)
	if shared && f.val != nil {
		f.val = bytes.Clone(f.val) // the tagged fill's callers hold the original
	}
	f.seq = seq
	return &f
}

// entryRead is what readEntry returned.
type entryRead struct {
	t   tag
	raw *string
	err error
}

// runFillFrom is the shared work of one fill: read the counters and the entry again (a
// fill that finished just before this one started has written the entry), load, and write
// the entry tagged with the generations read before the load, so a write+invalidate that
// happens meanwhile leaves an entry that no reader serves. pre, when not nil, is the
// reading just done (counters, entry or its error) to start from instead of reading again;
// a failed reading makes the fill load and bypass.
func (c *Cache) runFillFrom(ctx context.Context, st *classCounters, class Class, tier, key string, gks []string, pre *entryRead, load func(context.Context) ([]byte, error)) *fillResult {
	res := &fillResult{outcome: Miss}
	unservable := false // an entry is there that must be replaced or removed
	var t tag
	var raw *string
	var err error
	if pre != nil {
		t, raw, err = pre.t, pre.raw, pre.err
	} else {
		t, raw, err = c.readEntry(ctx, key, gks)
	}
	res.t = t // zero when the reading failed
	switch {
	case err != nil:
		if redisFault(err) {
			st.errors.Add(1)
		}
		res.redisFailed, res.outcome = true, Bypass
	case raw != nil:
		if val, neg, state := decode(class, *raw, t); state == entryFresh {
			res.outcome = Hit
			if neg {
				res.err = ErrNotFound
			} else {
				res.val = val
			}
			return res
		}
		unservable = true
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
			entry, ttl = encode(t, val, false), c.jittered(base)
		}
	case errors.Is(lerr, ErrNotFound):
		entry, ttl = encode(t, nil, true), c.negTTL
	}
	var werr error
	switch {
	case entry != nil:
		werr = c.call(ctx, c.opTimeout, func(ctx context.Context) error {
			return c.client.Set(ctx, key, entry, ttl).Err()
		})
	case unservable:
		werr = c.call(ctx, c.opTimeout, func(ctx context.Context) error {
			return c.client.Unlink(ctx, key).Err()
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

// readEntry reads the counters gks and the entry key in one MGET, creating
// missing counters; raw is nil when the entry is absent.
func (c *Cache) readEntry(ctx context.Context, key string, gks []string) (t tag, raw *string, err error) {
	var vals []any
	err = c.call(ctx, c.opTimeout, func(ctx context.Context) error {
		var err error
		vals, err = c.client.MGet(ctx, append(gks[:len(gks):len(gks)], key)...).Result()
		return err
	})
	if err != nil {
		return tag{}, nil, err
	}
	if len(vals) != len(gks)+1 {
		return tag{}, nil, fmt.Errorf("cache: MGET of %d keys returned %d values", len(gks)+1, len(vals))
	}
	if s, isStr := vals[len(gks)].(string); isStr {
		raw = &s
	}
	t, ok := parseTag(vals[:len(gks)])
	if !ok {
		ts, err := c.initGens(ctx, [][]string{gks}, c.opTimeout)
		if err != nil {
			return tag{}, nil, err
		}
		t = ts[0]
	}
	return t, raw, nil
}
