package atlas

// The connection pools' counters a server shows on /metrics (no labels): how often and how
// long its Redis commands and its queries waited for a free connection. The harness reads
// them to tell a saturated pool from a saturated backend.
const (
	MetricRedisPoolWaits       = "atlas_redis_pool_waits_total"
	MetricRedisPoolWaitSeconds = "atlas_redis_pool_wait_seconds_total"
	MetricRedisPoolTimeouts    = "atlas_redis_pool_timeouts_total"
	MetricDBPoolWaits          = "atlas_db_pool_waits_total"
	MetricDBPoolWaitSeconds    = "atlas_db_pool_wait_seconds_total"
)
