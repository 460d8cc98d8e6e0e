package cache

import (
	"errors"
	"fmt"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// Class is a cache class: a kind of cached value with its own TTL per tier and its own
// counters. The classes are the domain's (package atlas); they are named here too because
// every key, TTL and counter of this package is per class.
type Class = atlas.Class

// The four cache classes.
const (
	ClassTier          = atlas.ClassTier
	ClassUserProfile   = atlas.ClassUserProfile
	ClassConversations = atlas.ClassConversations
	ClassAPIResponses  = atlas.ClassAPIResponses
)

// Classes lists the cache classes in a fixed order.
func Classes() []Class { return atlas.CacheClasses() }

// tiers lists the tiers by name (atlas.Tiers): keys and TTLs are per tier name.
func tiers() []string {
	var out []string
	for _, t := range atlas.Tiers() {
		out = append(out, string(t))
	}
	return out
}

// validTier reports whether tier is free, core or studio.
func validTier(tier string) bool { return atlas.Tier(tier).Valid() }

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

// Scope says which of a user's entries an Invalidate makes unreachable (atlas.Scope: the
// fence log carries it between instances).
type Scope = atlas.Scope

// The invalidation scopes.
const (
	// ScopeData is a write to the user's data: conversations and apiResponses.
	ScopeData = atlas.ScopeData
	// ScopeAll is a tier change: everything cached for the user.
	ScopeAll = atlas.ScopeAll
)
