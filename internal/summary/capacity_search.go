package summary

// CapacitySearch is what a capacity search (scenario rate shape search) found in one mode:
// the highest offered rate whose step held the SLO with no error and its rate achieved,
// every step it ran, and the resource that saturated first.
type CapacitySearch struct {
	SLO       string       `json:"slo"`                  // as the scenario wrote it, e.g. "latency.p99 <= 50ms"
	SLOMS     float64      `json:"slo_ms"`               // the SLO's latency bound (ms)
	RPSHeld   float64      `json:"rps_held"`             // the highest offered rate a step held at; 0: none did
	RPSMissed float64      `json:"rps_missed,omitempty"` // the lowest offered rate a step missed at; 0: none did
	Stopped   string       `json:"stopped"`              // why the search stopped
	Cores     int          `json:"cores"`                // CPUs of the machine every process shared
	Steps     []SearchStep `json:"steps"`                // in the order they ran
	// Bottleneck is the resource that saturated first, with the figures that show it; nil
	// when the resources were not sampled (a -target run samples only the harness).
	Bottleneck *Bottleneck `json:"bottleneck,omitempty"`
}

// SearchStep is one step of a capacity search, over its judged part (after the settle).
type SearchStep struct {
	OfferedRPS  float64 `json:"offered_rps"`
	AchievedRPS float64 `json:"achieved_rps"` // answers that ended inside the judged window, per second
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	P50MS       float64 `json:"p50_ms"` // latency from the intended send time
	P99MS       float64 `json:"p99_ms"`
	MaxMS       float64 `json:"max_ms"`
	// LagP99MS is how late the generator sent its requests (p99): a generator that cannot
	// keep its schedule shows here, and HarnessCPU is the cores it used (CPU s / wall s).
	LagP99MS   float64 `json:"lag_p99_ms"`
	HarnessCPU float64 `json:"harness_cpu"`
	Held       bool    `json:"held"`
	Why        string  `json:"why,omitempty"` // why it missed
	// Resources are the run's resources over the step's judged part; nil when not sampled.
	Resources *StepResources `json:"resources,omitempty"`
}

// StepResources are what each resource of the run did over one step.
type StepResources struct {
	// CPU is the cores each process used (CPU seconds / wall seconds; 1 = one core busy):
	// "harness", "server-1" …, "redis".
	CPU map[string]float64 `json:"cpu"`
	// MachineBusy is the share of all the machine's cores busy (every process, ours or not).
	MachineBusy float64 `json:"machine_busy"`
	// RedisCPU is Redis's own account of its CPU (INFO used_cpu_sys + used_cpu_user, cores)
	// and RedisOpsPerS its commands per second (total_commands_processed).
	RedisCPU     *float64 `json:"redis_cpu,omitempty"`
	RedisOpsPerS *float64 `json:"redis_ops_per_s,omitempty"`
	// The connection pools of the servers, per answered request: how many requests waited
	// for a connection and how long in all (ms), Redis's and the database's.
	RedisPoolWaitsPerRequest *float64 `json:"redis_pool_waits_per_request,omitempty"`
	RedisPoolWaitMSPerReq    *float64 `json:"redis_pool_wait_ms_per_request,omitempty"`
	RedisPoolTimeouts        *int64   `json:"redis_pool_timeouts,omitempty"`
	DBPoolWaitsPerRequest    *float64 `json:"db_pool_waits_per_request,omitempty"`
	DBPoolWaitMSPerReq       *float64 `json:"db_pool_wait_ms_per_request,omitempty"`
	// PostgreSQL, when the run's database is one on this machine: the cores its backends
	// connected to the run's database used (/proc), and its time executing statements per
	// transaction (pg_stat_database active_time, PostgreSQL 14+).
	PGCPU        *float64 `json:"pg_cpu,omitempty"`
	DBMSPerQuery *float64 `json:"db_ms_per_query,omitempty"`
}

// Bottleneck names the resource that saturated first in a capacity search.
type Bottleneck struct {
	// Resource is "generator", "redis", "redis-pool", "db-pool", "db", "server-N", "machine", or
	// "none" when no resource reached its saturation mark.
	Resource string  `json:"resource"`
	AtRPS    float64 `json:"at_rps"` // the offered rate of the step it saturated at
	// Rule is the rule that named it, Evidence the figures it read.
	Rule     string   `json:"rule"`
	Evidence []string `json:"evidence"`
}

// CapacityRatio is the cache's capacity over the no-cache one (rps held), when both modes
// ran a capacity search and both held a step; nil otherwise.
func CapacityRatio(c, nc *Figures) *float64 {
	if c == nil || nc == nil || c.CapacitySearch == nil || nc.CapacitySearch == nil ||
		c.CapacitySearch.RPSHeld <= 0 || nc.CapacitySearch.RPSHeld <= 0 {
		return nil
	}
	r := c.CapacitySearch.RPSHeld / nc.CapacitySearch.RPSHeld
	return &r
}
