package summary

// Cross-check verdicts.
const (
	Agree    = "PASS"
	Disagree = "DISAGREE"
	NotMade  = "n/a" // a witness was missing or its counters were reset: no verdict
)

// CrossChecks are the headline figures each checked by a second witness: Redis's and
// the database's own counters, the server's own latency histogram.
type CrossChecks struct {
	// AllAgree is true when no check disagrees (checks that could not be made do not count).
	AllAgree bool `json:"all_agree"`
	// Disagreements counts the checks that disagree.
	Disagreements int          `json:"disagreements"`
	Checks        []CrossCheck `json:"checks"`
}

// CrossCheck is one figure and its two witnesses.
type CrossCheck struct {
	Figure    string  `json:"figure"`
	Mode      Mode    `json:"mode"`             // cache, nocache (or the target's)
	Repeat    int     `json:"repeat,omitempty"` // 1-based, with -count > 1
	Witness1  string  `json:"witness_1"`
	Value1    float64 `json:"value_1"`
	Witness2  string  `json:"witness_2"`
	Value2    float64 `json:"value_2"`
	Unit      string  `json:"unit,omitempty"` // ratio, ms, per request, count
	Tolerance string  `json:"tolerance"`
	Verdict   string  `json:"verdict"` // PASS, DISAGREE or n/a
	Detail    string  `json:"detail,omitempty"`
}

// RedisStats are Redis's own counters over one window, summed over its nodes, beside
// the server's figures for the same window.
type RedisStats struct {
	Nodes int `json:"nodes"`
	// Requests are the API requests the server counted in the window.
	Requests         uint64            `json:"requests"`
	KeyspaceHits     uint64            `json:"keyspace_hits"`
	KeyspaceMisses   uint64            `json:"keyspace_misses"`
	KeyspaceHitRatio float64           `json:"keyspace_hit_ratio"` // hits / (hits + misses)
	Commands         map[string]uint64 `json:"commands"`           // INFO commandstats calls, the harness's own INFO left out
	// CommandsPerRequest is the cache's commands (pings and connection set-up left out) per API request.
	CommandsPerRequest float64 `json:"commands_per_request"`
	// ServerHitRate is the server's overall cache hit rate over the same window.
	ServerHitRate float64 `json:"server_hit_rate"`
	// Restarted is true when a node restarted in the window (its counters started again).
	Restarted bool `json:"restarted,omitempty"`
	// ConnectionsReceived is INFO total_connections_received over the window: connections
	// the nodes accepted (the server's pool and the harness's own few readers).
	ConnectionsReceived uint64 `json:"connections_received"`
	// ConnectionsPer1kRequests is ConnectionsReceived per 1,000 API requests: near 0 with a
	// connection pool, about 1,000 without one.
	ConnectionsPer1kRequests float64 `json:"connections_per_1k_requests"`
}

// PGStats are PostgreSQL's own counters of the run's database over one mode (pg_stat_database).
type PGStats struct {
	Database     string `json:"database"`
	XactCommit   int64  `json:"xact_commit"`
	XactRollback int64  `json:"xact_rollback"`
	TupReturned  int64  `json:"tup_returned"`
	TupFetched   int64  `json:"tup_fetched"`
	BlksHit      int64  `json:"blks_hit"`
	BlksRead     int64  `json:"blks_read"`
	// Statements is pg_stat_statements' count of statements; absent when the module is not loaded.
	Statements *int64 `json:"statements,omitempty"`
	// Requests are the API requests the server counted over the same span.
	Requests uint64 `json:"requests"`
	// ServerTransactions is what the server's store says it ran over the same span.
	ServerTransactions uint64 `json:"server_transactions"`
	// TransactionsPerRequest is (xact_commit + xact_rollback) per API request, the harness's own queries left out.
	TransactionsPerRequest float64 `json:"transactions_per_request"`
	Note                   string  `json:"note,omitempty"`
}

// ServerLatency is the server's own request-duration histogram over the measured window
// beside the harness's service time: the difference is the network and client share.
type ServerLatency struct {
	Requests uint64  `json:"requests"`
	P50      float64 `json:"p50"`
	P99      float64 `json:"p99"`
	// HitRequests and HitP50 are the same over the answers served from the cache alone
	// (X-Cache: HIT): the cached path's own service time, which a busy machine's scheduling
	// delays stretch no more for one build than for another (bench gate judges it). Zero
	// when the server labels no hits.
	HitRequests uint64  `json:"hit_requests,omitempty"`
	HitP50      float64 `json:"hit_p50,omitempty"`
	// NetworkClientP50/P99 are the harness's service time minus the server's, at that percentile.
	NetworkClientP50 float64 `json:"network_client_p50"`
	NetworkClientP99 float64 `json:"network_client_p99"`
	// Buckets says how the server's histogram is bucketed: "native ×1.05" or "classic".
	Buckets string `json:"buckets"`
}
