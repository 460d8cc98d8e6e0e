package claims

// Claim is one claim of the write-up and how it is measured.
type Claim struct {
	ID     string // short, stable: "db-reduction"
	Quote  string // the write-up's words
	Figure string // the figure that tests it, in words
	// Checks must all pass for the claim to hold. None: the claim is not measured (Missing says why).
	Checks []Check
	// Show are further figures printed beside the verdict (context, not judged).
	Show []Ref
	// Sweep, when set, measures where the claim holds over requests per user per TTL.
	Sweep *Sweep
	// Missing is why a claim without checks is not measured: what the product lacks.
	Missing string
}

// Check is one condition of a claim: a threshold expression over one run's summary.json.
type Check struct {
	Run string // the Run.Name whose summary it reads
	// Expr is a threshold expression ("db_query_reduction >= 40%"). With Versus it is only
	// "PATH OP": the limit is Versus's figure, written into the expression when evaluated.
	Expr   string
	Versus *Ref
}

// Ref is one figure of one run: a summary path (threshold syntax), times Scale when set.
type Ref struct {
	Run   string
	Path  string
	Scale float64 // 0 means 1
	Label string  // for people; default the path
}

// Sweep is a swept claim: Path over the sweep's runs against the lookups per user per TTL
// of Class ("" for every request: the DB-query reduction).
type Sweep struct {
	Class     string
	Path      string     // the figure: hit_rate.tier, db_query_reduction
	Band      [2]float64 // the claimed band (ratios); the claim holds from Band[0]
	IdealPath string     // the ideal cache's figure (hit_rate_ideal.tier); "" when the summary has none
}

// Run names: the runs of Plan that the table's checks read.
const (
	RunWorld      = "world"       // the write-up's world, both modes, calibrated DB round trip
	RunWarmOn     = "warm-on"     // Redis restarted empty, warming on
	RunWarmOff    = "warm-off"    // the same, warming off
	RunTierChange = "tier-change" // heavy tier changes beside reads
	RunHostile    = "hostile"     // every request an attack
	RunFaults     = "faults"      // Redis killed, slowed and partitioned under writes
	RunTTLNet     = "ttl-net"     // lost invalidations (a weakened layer) with a short TTL
	RunScale      = "scale"       // the scale population on a Redis Cluster, a master killed
	RunReplicas   = "replicas"    // replica reads on a lagging replica, with the wait
	RunNoWait     = "replicas-no-wait"
	RunAOF        = "aof"     // Redis with AOF killed and restarted
	RunAOFOff     = "aof-off" // the same without AOF
	RunClients    = "clients" // the world's traffic from devices that keep HTTP caches
	RunDeploy     = "deploy"  // a rolling restart of three instances under load
	// SweepPrefix starts the name of each sweep point's run: sweep-1, sweep-2, …
	SweepPrefix = "sweep-"
)

// faultPhases are the fault phases of the faults run, each judged for errors and latency.
var faultPhases = []string{"redis-down", "redis-slow", "redis-partition"}

// FallbackWorst is the worst latency a request of a fault phase may have for the fallback
// claim to hold: a request may wait for the cache's fail-fast timeouts and the database,
// never for a stalled Redis (go-redis's own read timeout is 3 s).
const FallbackWorst = "2s"

// Table returns the write-up's claims, in the write-up's order.
func Table() []Claim {
	hit := func(id, quote, class, band string, lo, hi float64) Claim {
		return Claim{ID: id, Quote: quote,
			Figure: class + " hit rate over the measured window (server counters), default TTLs",
			Checks: []Check{{Run: RunWorld, Expr: "hit_rate." + class + " >= " + band}},
			Show:   []Ref{{Run: RunWorld, Path: "hit_rate_ideal." + class, Label: "ideal cache"}},
			Sweep:  &Sweep{Class: class, Path: "hit_rate." + class, Band: [2]float64{lo, hi}, IdealPath: "hit_rate_ideal." + class}}
	}
	var fallback []Check
	var fallbackShow []Ref
	for _, p := range faultPhases {
		fallback = append(fallback,
			Check{Run: RunFaults, Expr: `phases["` + p + `"].errors == 0`},
			Check{Run: RunFaults, Expr: `phases["` + p + `"].latency.max <= ` + FallbackWorst})
		fallbackShow = append(fallbackShow, Ref{Run: RunFaults, Path: `phases["` + p + `"].latency.p99`, Label: p + " p99"})
	}
	return []Claim{
		{ID: "db-reduction", Quote: "40% reduction in database queries",
			Figure: "1 − DB queries per request with the cache ÷ without, same seeded requests",
			Checks: []Check{{Run: RunWorld, Expr: "db_query_reduction >= 40%"}},
			Show:   []Ref{{Run: RunWorld, Path: "db_queries.per_request", Label: "DB queries/request"}, {Run: RunWorld, Path: "nocache.db_queries.per_request", Label: "without the cache"}},
			Sweep:  &Sweep{Path: "db_query_reduction", Band: [2]float64{0.40, 1}}},
		{ID: "cache-response", Quote: "<50ms average cache response time",
			Figure: "mean latency of the answers served wholly from the cache (tier lookup and the route's lookup both hits), from the intended send time",
			Checks: []Check{{Run: RunWorld, Expr: "latency_hits.mean < 50ms"}},
			Show:   []Ref{{Run: RunWorld, Path: "latency.mean", Label: "every answer with the cache, misses included"}}},
		{ID: "before-after", Quote: "Before: 200-500ms per request (database queries). After: 20-50ms (Redis cache hits)",
			Figure: "p50 latency without the cache (the calibrated world: must lie in the band) and of the answers served wholly from the cache",
			Checks: []Check{{Run: RunWorld, Expr: "nocache.latency.p50 >= 200ms"}, {Run: RunWorld, Expr: "nocache.latency.p50 <= 500ms"},
				{Run: RunWorld, Expr: "latency_hits.p50 <= 50ms"}},
			Show: []Ref{{Run: RunWorld, Path: "latency.p50", Label: "p50 of every answer with the cache"}, {Run: RunWorld, Path: "latency_hits.p99", Label: "p99 of the hits"}}},
		{ID: "faster", Quote: "75-90% faster response times",
			Figure: "mean latency without ÷ with the cache, every answer (75% faster = 4×)",
			Checks: []Check{{Run: RunWorld, Expr: "speedup.mean >= 4"}},
			Show:   []Ref{{Run: RunWorld, Path: "speedup.p50", Label: "at p50"}}},
		hit("hit-tier", "Tier lookups: 80-90% hit rate (80%+)", "tier", "80%", 0.80, 0.90),
		hit("hit-profile", "User profiles: 70-80% hit rate", "userProfile", "70%", 0.70, 0.80),
		hit("hit-conversations", "Conversations: 60-70% hit rate", "conversations", "60%", 0.60, 0.70),
		hit("hit-api", "API responses: 50-60% hit rate", "apiResponses", "50%", 0.50, 0.60),
		{ID: "warming", Quote: "Automatic cache warming for critical data",
			Figure: "tier hit rate in the first seconds after start and after Redis comes back empty, warming on vs off",
			Checks: []Check{
				{Run: RunWarmOn, Expr: `phases["steady"].hit_rate.tier >`, Versus: &Ref{Run: RunWarmOff, Path: `phases["steady"].hit_rate.tier`}},
				{Run: RunWarmOn, Expr: `phases["recovery"].hit_rate.tier >`, Versus: &Ref{Run: RunWarmOff, Path: `phases["recovery"].hit_rate.tier`}}},
			Show: []Ref{{Run: RunWarmOff, Path: `phases["steady"].hit_rate.tier`, Label: "after start, warming off"},
				{Run: RunWarmOff, Path: `phases["recovery"].hit_rate.tier`, Label: "after Redis came back, warming off"}}},
		{ID: "tier-isolation", Quote: "Tier isolation: separate cache keys per tier, no cross-tier leakage",
			Figure: "answers of another user or of a tier other than the acknowledged one, under heavy tier changes",
			Checks: []Check{{Run: RunTierChange, Expr: "isolation_violations == 0"}, {Run: RunTierChange, Expr: "errors == 0"}}},
		{ID: "tier-invalidation", Quote: "Cache invalidation on tier changes",
			Figure: "stale tiers and stale reads after acknowledged writes, Redis healthy and Redis killed, slowed, partitioned",
			Checks: []Check{{Run: RunTierChange, Expr: "stale_reads == 0"}, {Run: RunFaults, Expr: "isolation_violations == 0"},
				{Run: RunFaults, Expr: "stale_reads == 0"}}},
		{ID: "no-poisoning", Quote: "No cache poisoning: user A can't see user B's data",
			Figure: "foreign data in any answer: the hostile scenario's attacks and the world's traffic",
			Checks: []Check{{Run: RunHostile, Expr: "isolation_violations == 0"}, {Run: RunHostile, Expr: "errors == 0"},
				{Run: RunWorld, Expr: "isolation_violations == 0"}}},
		{ID: "fallback", Quote: "Fallback safety: the app works if Redis is down",
			Figure: "errors and worst latency while Redis is killed, stalled (slow) and partitioned",
			Checks: fallback, Show: fallbackShow},
		{ID: "ttl-safety-net", Quote: "TTL ensures no stale data",
			Figure: "stale reads when invalidations are lost (naive cache-aside under a partition), every TTL 10 s (8 s with -quick) as the only safety net, and the longest staleness",
			Checks: []Check{{Run: RunTTLNet, Expr: "stale_reads == 0"}},
			Show:   []Ref{{Run: RunTTLNet, Path: "stale_max_s", Label: "longest staleness"}}},
		{ID: "pooling", Quote: "Connection pooling",
			Figure: "Redis connections opened per 1,000 requests over the measured window, the pool warmed up (Redis's own INFO total_connections_received)",
			Checks: []Check{{Run: RunWorld, Expr: `redis_stats["window"].connections_per_1k_requests <= 10`}},
			Show:   []Ref{{Run: RunWorld, Path: `redis_stats["attack"].connections_per_1k_requests`, Label: "warm-up included"}}},
		{ID: "scale-cluster", Quote: "Scales to 100k+ users; cluster mode for 100k+",
			Figure: "the scale population on a 3×1 Redis Cluster, a master killed: errors, isolation, staleness, healthy slot ranges' bypass",
			Checks: []Check{{Run: RunScale, Expr: "errors == 0"}, {Run: RunScale, Expr: "isolation_violations == 0"},
				{Run: RunScale, Expr: "stale_reads == 0"},
				{Run: RunScale, Expr: `phases["redis-down"].slot_ranges["slots-2"].bypass_share <= 0.1`},
				{Run: RunScale, Expr: `phases["redis-down"].slot_ranges["slots-3"].bypass_share <= 0.1`}},
			Show: []Ref{{Run: RunScale, Path: "hit_rate.overall", Label: "overall hit rate"}, {Run: RunScale, Path: "population.seeding_s", Label: "seeding"},
				{Run: RunScale, Path: "latency.p99", Label: "p99"}}},
		{ID: "read-replicas", Quote: "Read replicas for scaling reads",
			Figure: "stale reads while a replica lags, with the replica wait (and without it, for contrast)",
			Checks: []Check{{Run: RunReplicas, Expr: "stale_reads == 0"}, {Run: RunReplicas, Expr: "errors == 0"}},
			Show:   []Ref{{Run: RunNoWait, Path: "stale_reads", Label: "without the wait"}}},
		{ID: "aof", Quote: "AOF persistence",
			Figure: "API-response hit rate in the first seconds after Redis is killed and restarted, with AOF against without (API responses are not warmed)",
			Checks: []Check{{Run: RunAOF, Expr: `phases["recovery"].hit_rate.apiResponses >`,
				Versus: &Ref{Run: RunAOFOff, Path: `phases["recovery"].hit_rate.apiResponses`}}},
			Show: []Ref{{Run: RunAOFOff, Path: `phases["recovery"].hit_rate.apiResponses`, Label: "without AOF"},
				{Run: RunAOF, Path: `phases["steady"].hit_rate.apiResponses`, Label: "before the kill"}}},
		{ID: "graceful-shutdown", Quote: "Graceful shutdown",
			Figure: "a rolling restart of three instances under load (SIGTERM, readiness failed, drain, started again): errors, requests cut off, invalidations lost, stale reads",
			Checks: []Check{{Run: RunDeploy, Expr: "restarts_total.count >= 3"}, {Run: RunDeploy, Expr: "errors == 0"},
				{Run: RunDeploy, Expr: "restarts_total.drained >=", Versus: &Ref{Run: RunDeploy, Path: "restarts_total.count"}},
				{Run: RunDeploy, Expr: "restarts_total.cut_off == 0"}, {Run: RunDeploy, Expr: "restarts_total.lost == 0"},
				{Run: RunDeploy, Expr: "stale_reads == 0"}, {Run: RunDeploy, Expr: "isolation_violations == 0"}},
			Show: []Ref{{Run: RunDeploy, Path: "restarts_total.in_flight", Label: "requests in flight at the SIGTERMs"},
				{Run: RunDeploy, Path: "restarts_total.drain_max", Label: "longest drain"},
				{Run: RunDeploy, Path: "restarts_total.exit_max_s", Label: "longest SIGTERM to exit"}}},
		{ID: "frontend-caching", Quote: "Frontend caching",
			Figure: "GETs the devices' HTTP caches revalidated (answered 304, If-None-Match) and client-visible stale reads: 304s that kept a copy a fresh GET would not answer (frontend and backend caches in sync)",
			Checks: []Check{{Run: RunClients, Expr: "client_cache.total.share_304 > 0"}, {Run: RunClients, Expr: "client_cache.total.stale_reads == 0"},
				{Run: RunClients, Expr: "stale_reads == 0"}, {Run: RunClients, Expr: "isolation_violations == 0"}},
			Show: []Ref{{Run: RunClients, Path: "client_cache.total.bytes_saved", Label: "body bytes saved"},
				{Run: RunClients, Path: "client_cache.total.p50_304", Label: "p50 of a 304"},
				{Run: RunClients, Path: "client_cache.total.p50_200", Label: "p50 of a 200"}}},
	}
}
