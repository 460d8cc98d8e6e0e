// Package ideal computes the hit rate an ideal cache would reach on the requests a run
// actually executed: the same TTLs and the same invalidate-on-write rules as the reference
// server's cache, but no faults, no capacity limit, no races and no misses of its own. Every
// first access of an entry is a miss, every access after a write that changes the entry is
// a miss, and an access after the entry's TTL is a miss; everything else hits. When the
// server warms (warm: true), every user's tier and profile are preloaded at the start.
//
// Beside the achieved hit rate it tells a user whether a low hit rate is the workload's
// (the ideal is low too) or the cache's (cache_efficiency = achieved ÷ ideal is low).
package ideal
