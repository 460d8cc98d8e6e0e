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
// time and comes back later with its old data.
//
// A request creates one UserView with Cache.User; the view reads the user's
// two generation counters once (one MGET) and builds every key from them. A
// write commits to the database first and then calls Cache.Invalidate, which
// increments a generation so that every older entry of that user becomes
// unreachable and simply expires by its TTL.
package cache
