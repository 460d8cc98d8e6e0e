package cache

import (
	"context"
	"strconv"
	"sync/atomic"
)

// Validator is what the HTTP validator (ETag) of a cached answer is derived from: the
// generations the answer was read or loaded under (the entry's tag, as the view's one MGET
// returned the counters) and its class; the tier is added by ETag. No body is hashed: two
// answers of one entry with equal validators were made under the same counters, and a
// write the entry depends on, or a tier change, increments one of them before it is
// acknowledged (docs/CACHE.md, "Validators"). The zero Validator is not Valid: the answer
// did not come through Redis, and only the database can vouch for it.
type Validator struct {
	class Class
	t     tag
	// stored is set by Revalidate when the entry itself was in the MGET and servable.
	stored bool
	// ignoreTier is UnsafeConfig.ValidatorIgnoresTier.
	ignoreTier bool
}

// Valid reports whether the validator can vouch for an answer.
func (v Validator) Valid() bool { return v.t.n > 0 && v.class != "" }

// Stored reports, for a validator Revalidate matched, whether Redis still held the entry
// itself: when false the revalidation saved a load from the database.
func (v Validator) Stored() bool { return v.stored }

// ETag is the strong entity tag of an answer served as tier with this validator, quoted:
// `"<class letter>.<tier>.<generation>[.<generation>]"` (generations in hexadecimal, in
// Key.GenKeys order); "" when the validator is not Valid.
func (v Validator) ETag(tier string) string {
	if !v.Valid() {
		return ""
	}
	var buf [64]byte // long enough for any tier name in use: one allocation, the string
	b := append(buf[:0], '"', classLetter(v.class))
	first := 0
	if !v.ignoreTier {
		b = append(append(b, '.'), tier...)
	} else {
		// The unsafe variant leaves out the tier and the generation a tier change
		// increments (gen:id, gen:data: the first of every class's counters).
		first = 1
	}
	for i := first; i < v.t.n; i++ {
		b = strconv.AppendUint(append(b, '.'), v.t.g[i], 16)
	}
	return string(append(b, '"'))
}

// classLetter is the first byte of an ETag: which class's counters it names, so that
// validators of different routes never compare equal.
func classLetter(c Class) byte {
	switch c {
	case ClassTier:
		return 't'
	case ClassUserProfile:
		return 'p'
	case ClassConversations:
		return 'c'
	case ClassAPIResponses:
		return 'm'
	}
	return 'x'
}

// validated attaches the validator of a Load's answer: valid only for a value served or
// loaded through Redis under known counters.
func (c *Cache) validated(class Class, val []byte, o Outcome, t tag, err error) ([]byte, Outcome, Validator, error) {
	if err != nil || o == Bypass || t.n == 0 {
		return val, o, Validator{}, err
	}
	return val, o, Validator{class: class, t: t, ignoreTier: c.cfg.Unsafe.ValidatorIgnoresTier}, nil
}

// Revalidate reports whether a client's copy of the entry (class, tier, resource) is still
// current, without loading it: it reads the entry's counters (from the view's snapshot when
// its MGET fetched them, as a prefetched route's did; else one MGET) and hands the current
// validator to match, which compares it with what the client sent. It returns the validator
// and true when match accepted it, counting a hit for the class. It vouches for nothing
// (zero, false) when the cache is off, the view has seen Redis fail, the user's
// invalidation is pending, a counter is missing, or the entry is not cacheable: the caller
// must then load the answer.
func (v *UserView) Revalidate(ctx context.Context, class Class, tier, resource string, match func(Validator) bool) (Validator, bool) {
	c := v.c
	i := class.Index()
	if i < 0 || !c.enabled || v.failed.Load() || !v.cacheable(class, tier, resource) || c.pending.has(v.user) {
		return Validator{}, false
	}
	k := Key{User: v.user, Tier: tier, Class: class, Resource: resource}
	key, gks := k.in(v.prefix), k.genKeys(v.prefix)
	vals, err := v.read(ctx, class, key, gks)
	if err != nil {
		if redisFault(err) {
			c.stats[i].errors.Add(1)
		}
		v.failed.Store(true)
		return Validator{}, false
	}
	t, ok := parseTag(vals[:len(gks)])
	if !ok || c.pending.has(v.user) {
		return Validator{}, false
	}
	val := Validator{class: class, t: t, ignoreTier: c.cfg.Unsafe.ValidatorIgnoresTier}
	if raw, isStr := vals[len(gks)].(string); isStr {
		val.stored = len(raw) > 0 && raw[0] == entryValue && t.matches(raw[1:])
	}
	if !match(val) {
		return val, false
	}
	c.stats[i].hits.Add(1)
	return val, true
}

// CommandCount counts the Redis commands sent on behalf of one request (see
// WithCommandCount).
type CommandCount struct{ n atomic.Int64 }

// Load returns the number of commands counted so far.
func (cc *CommandCount) Load() int64 { return cc.n.Load() }

// commandCountKey is the context key of a request's CommandCount.
type commandCountKey struct{}

// WithCommandCount returns a context under which every Redis command the cache sends for
// the caller (its view's reads, and the fills and invalidations it starts) is counted in
// the returned CommandCount; commands of a fill the caller only joined are not its own.
func WithCommandCount(ctx context.Context) (context.Context, *CommandCount) {
	cc := &CommandCount{}
	return context.WithValue(ctx, commandCountKey{}, cc), cc
}

// countFor adds n commands to the request count ctx carries, if any.
func countFor(ctx context.Context, n int) {
	if cc, ok := ctx.Value(commandCountKey{}).(*CommandCount); ok {
		cc.n.Add(int64(n))
	}
}
