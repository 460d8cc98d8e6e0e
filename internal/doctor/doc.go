// Package doctor owns `bench doctor`: read-only checks of a Redis meant to serve as a
// cache (CheckRedis: reachability and round trip, version, memory bound and eviction
// policy, evictions and misses, persistence, a cluster's coverage setting and state,
// replication, ACL users, TLS) and of a live service against the Atlas API contract
// (CheckTarget: statuses, X-Cache, Cache-Control, the owner field, the stats of
// /healthz), and what a run can measure there.
//
// Each problem is a Finding: what it is, why it matters for a cache, how to fix it.
// Facts (a version, a round trip, a setting that is fine) are reported beside them and
// never make a check fail. Nothing here writes: the Redis checks use INFO, CONFIG GET,
// CLUSTER INFO, ACL GETUSER and ACL DRYRUN (which runs nothing); the target checks send
// only GETs.
package doctor
