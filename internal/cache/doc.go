// Package cache owns everything the reference server keeps in Redis: the key
// layout (one builder, keys.go), the TTL policy and its YAML configs (embedded
// built-ins default, production and none), the fail-fast go-redis client,
// cache-aside loads with per-key singleflight and negative caching,
// invalidation by per-user generation counters (never KEYS or SCAN), the
// in-process set of pending invalidations that could not reach Redis, the
// circuit breaker around every Redis call, warming with SET NX, and the
// per-class hit/miss/error/bypass counters.
//
// The contract the rest of the server relies on: Redis errors or slowness
// never fail a request (every Load falls back to its loader within about one
// Redis timeout), and a write whose Invalidate has returned is never followed
// by a stale read from this process, even when Redis was unreachable at the
// time and comes back later with its old data — nor from any other instance
// sharing Options.Fences (the fence log and leases of peers.go,
// docs/COHERENCE.md).
//
// A request creates one UserView with Cache.User and declares its route's
// entry (UserView.Prefetch); the tier lookup then reads the generation
// counters, the tier and that entry in one MGET, and an entry is served only
// when the generations it was tagged with are the current ones. A write
// commits to the database first and then calls Cache.Invalidate, which
// increments a generation so that every older entry becomes unreachable; the
// entries it knows are deleted in the same transaction, the others are
// overwritten by their next fill or expire. docs/CACHE.md argues the design.
package cache
