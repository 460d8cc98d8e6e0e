package atlas

import "slices"

// Health is the JSON answer of GET /healthz. The server fills it; the harness's poller
// decodes it with the same type.
type Health struct {
	Status string      `json:"status"` // ok, or unavailable when the DB is down
	Mode   string      `json:"mode"`   // cache or nocache
	Redis  RedisHealth `json:"redis"`
	DB     DBHealth    `json:"db"`
	Stats  *Stats      `json:"stats,omitempty"` // with ?includeStats=true
}

// RedisHealth is the cache's view of Redis.
type RedisHealth struct {
	// Up is whether a PING answered within the per-call timeout.
	Up bool `json:"up"`
	// Breaker is "closed", "open", "half-open", or "disabled" when the cache is off.
	Breaker string `json:"breaker"`
	// Pending is the number of users whose invalidation has not reached Redis yet.
	Pending int `json:"pending"`
	// Nodes, on a Redis Cluster and with ?includeStats=true, are the nodes the client knows
	// with their own breakers (a failing node bypasses only its shard's users).
	Nodes []RedisNodeHealth `json:"nodes,omitempty"`
}

// RedisNodeHealth is one Redis Cluster node as the cache sees it.
type RedisNodeHealth struct {
	Address string `json:"address"`
	Role    string `json:"role"` // master, replica, or unknown when it serves no slot in the client's map
	Up      bool   `json:"up"`   // a PING answered within the per-call timeout
	Breaker string `json:"breaker"`
}

// DBHealth says whether the database answers.
type DBHealth struct {
	Up     bool   `json:"up"`
	Driver string `json:"driver"`
}

// Stats are the server's counters since it started.
type Stats struct {
	Requests uint64               `json:"requests"` // requests under /api/
	Cache    map[Class]ClassStats `json:"cache"`
	DB       QueryStats           `json:"db"`
	// Redis is what the cache\'s Redis client sent and read (absent without a cache client).
	Redis *RedisStats `json:"redis,omitempty"`
}

// ClassStats are one cache class's counters since the cache was created. Every lookup
// counts exactly one of Hits, Misses or Bypasses; Errors counts failed Redis calls made
// for the class (already counted as bypasses).
type ClassStats struct {
	Hits     uint64 `json:"hits"`
	Misses   uint64 `json:"misses"`
	Errors   uint64 `json:"errors"`
	Bypasses uint64 `json:"bypasses"`
}

// QueryStats are the DB queries counted since the store was opened, in total and per
// query class (QueryClasses).
type QueryStats struct {
	Total   uint64            `json:"total"`
	ByClass map[string]uint64 `json:"byClass"`
	// Transactions counts what the database's own commit and rollback counters should
	// show (pg_stat_database xact_commit + xact_rollback): one per single-statement
	// query, per write transaction and per ping, per statement of the cross-instance fence
	// log (not app queries: not in Total), plus Connections (PostgreSQL counts the start-up
	// of a backend as a transaction) and Prepares. Seeding at Open is not counted.
	Transactions uint64 `json:"transactions"`
	// Pings counts health-check pings (one per pool per Ping) and the pings pgx sends
	// before reusing a connection idle for over a second, a part of Transactions.
	Pings uint64 `json:"pings"`
	// Connections counts connections opened to a PostgreSQL server, a part of Transactions
	// (0 on SQLite).
	Connections uint64 `json:"connections"`
	// Prepares counts the statements pgx prepared outside a transaction (the first use of
	// a statement on a connection), a part of Transactions: PostgreSQL commits the implicit
	// transaction of a Parse/Describe/Sync round trip.
	Prepares uint64 `json:"prepares"`
}

// RedisStats are the Redis commands the cache sent since it was created, counted by a
// go-redis hook from the replies it got: the server's own word on what Redis should have
// seen, for the harness to compare with Redis's INFO commandstats and keyspace counters.
type RedisStats struct {
	// Commands counts, by lower-case command name as INFO commandstats names them
	// (pipelines count each command, transactions count multi and exec too), the
	// commands Redis answered (a reply or a Redis error).
	Commands map[string]uint64 `json:"commands"`
	// Unconfirmed counts commands that failed without a reply (timeout, refused
	// connection, breaker): Redis may or may not have run them.
	Unconfirmed uint64 `json:"unconfirmed"`
	// UnconfirmedKeys counts the keys the unconfirmed GET and MGET commands would have read.
	UnconfirmedKeys uint64 `json:"unconfirmedKeys"`
	// KeysRead and KeysFound count the keys GET and MGET read and how many of them held
	// a value, from the replies: what Redis's keyspace_hits and keyspace_misses should show.
	// Commands that read keys without saying which were found (scripts) are not in them.
	KeysRead  uint64 `json:"keysRead"`
	KeysFound uint64 `json:"keysFound"`
}

// SortedCommands returns the command names of s in a fixed order.
func (s RedisStats) SortedCommands() []string {
	names := make([]string, 0, len(s.Commands))
	for n := range s.Commands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
