package cache

import (
	"errors"
	"fmt"
	"slices"
)

// Class is a kind of cached value; each class has its own TTL per tier and its own counters.
type Class string

// The four cache classes.
const (
	ClassTier          Class = "tier"          // the user's tier (the value is the tier string); key by user only
	ClassUserProfile   Class = "userProfile"   // GET /api/me; key by user and tier
	ClassConversations Class = "conversations" // GET /api/conversations; key by user and tier
	ClassAPIResponses  Class = "apiResponses"  // other GET responses; key by user, tier and routed resource
)

// Classes lists the cache classes in a fixed order.
func Classes() []Class {
	return []Class{ClassTier, ClassUserProfile, ClassConversations, ClassAPIResponses}
}

// index returns the class's position in Classes, or -1.
func (c Class) index() int {
	switch c {
	case ClassTier:
		return 0
	case ClassUserProfile:
		return 1
	case ClassConversations:
		return 2
	case ClassAPIResponses:
		return 3
	}
	return -1
}

// Valid reports whether c is one of the four classes.
func (c Class) Valid() bool { return c.index() >= 0 }

// tiered reports whether the class's values depend on the tier (all but ClassTier).
func (c Class) tiered() bool { return c != ClassTier }

// hasResource reports whether the class is keyed by a resource (only ClassAPIResponses).
func (c Class) hasResource() bool { return c == ClassAPIResponses }

// dataScoped reports whether the class lives under the data generation (invalidated by writes).
func (c Class) dataScoped() bool { return c == ClassConversations || c == ClassAPIResponses }

// Tiers lists the valid tiers in a fixed order.
func Tiers() []string { return []string{"free", "core", "studio"} }

// ValidTier reports whether tier is free, core or studio.
func ValidTier(tier string) bool { return slices.Contains(Tiers(), tier) }

// ErrNotFound is what a loader returns (or wraps) to ask for a short negative
// entry; Load returns exactly ErrNotFound on a negative hit or a negative load.
var ErrNotFound = errors.New("cache: not found")

// ErrPending is wrapped by Invalidate when the generation increment could not
// reach Redis. The write is still safe: the user bypasses the cache in this
// process until the background retrier (Start) has applied the increment.
var ErrPending = errors.New("cache: invalidation pending")

// Outcome is how one Load was served; it is what the server puts in X-Cache.
type Outcome int

// The outcomes of a Load.
const (
	Bypass Outcome = iota // the cache was not used: disabled, Redis failing or breaker open, user pending, not cacheable
	Hit                   // served from Redis (a negative entry counts as a hit)
	Miss                  // not in Redis: loaded and filled (or joined a fill)
)

// String returns "BYPASS", "HIT" or "MISS".
func (o Outcome) String() string {
	switch o {
	case Bypass:
		return "BYPASS"
	case Hit:
		return "HIT"
	case Miss:
		return "MISS"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Scope says which of a user's entries an Invalidate makes unreachable.
type Scope int

// The invalidation scopes.
const (
	// ScopeData is a write to the user's data: conversations and apiResponses.
	ScopeData Scope = iota + 1
	// ScopeAll is a tier change: everything cached for the user.
	ScopeAll
)

// String returns "data" or "all".
func (s Scope) String() string {
	switch s {
	case ScopeData:
		return "data"
	case ScopeAll:
		return "all"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}
