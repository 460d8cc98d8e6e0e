// Package refserver is the reference "Atlas" chat API that atlasbench measures: JWT auth,
// a tier middleware backed by the cached tier lookup, conversations and messages in a real
// database (refserver/store), response caching through internal/cache with X-Cache and
// X-Atlas-Tier headers, invalidation on every write, a free-tier daily quota, /healthz with
// counters and /metrics. In no-cache mode it answers byte for byte the same from the DB alone.
package refserver
