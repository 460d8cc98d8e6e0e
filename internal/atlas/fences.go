package atlas

import (
	"context"
	"fmt"
	"time"
)

// Scope says which of a user's cache entries an invalidation makes unreachable.
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

// Fence is an invalidation of a user's cache entries that did not reach Redis, kept in a
// log every server instance reads (docs/COHERENCE.md).
type Fence struct {
	Seq   int64  // increasing in commit order; never reused
	User  string // whose entries
	Scope Scope  // which of them
}

// FenceLog is the shared log through which server instances tell each other about
// invalidations that did not reach Redis, and a lease per instance saying up to which
// fence it has read the log. The cache (internal/cache) uses it; the reference server's
// database (refserver/store) keeps it. Every method may fail; the cache then stays on the
// safe side (bypass, or an unconfirmed write).
type FenceLog interface {
	// AddFence appends a fence for user and returns its sequence number. Sequence numbers
	// increase in commit order and are never reused.
	AddFence(ctx context.Context, user string, scope Scope) (int64, error)
	// FencesAfter returns the fences with a sequence number above seq, in order.
	FencesAfter(ctx context.Context, seq int64) ([]Fence, error)
	// DeleteFences removes user's fences up to seq (their invalidation reached Redis).
	DeleteFences(ctx context.Context, user string, upTo int64) error
	// RenewInstance records that instance id has read the log up to seen and holds a lease
	// on the cache until leaseUntil (creating the row on first use).
	RenewInstance(ctx context.Context, id string, seen int64, leaseUntil time.Time) error
	// Lagging counts the instances other than self with a lease later than now that have not
	// read fence seq, while fence seq still exists (0 once it was deleted).
	Lagging(ctx context.Context, self string, seq int64, now time.Time) (int, error)
	// RemoveInstance drops instance id's lease (a clean shutdown).
	RemoveInstance(ctx context.Context, id string) error
}
