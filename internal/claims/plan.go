package claims

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// Options configure Plan. Zero values mean the defaults.
type Options struct {
	// Quick makes every run seconds long (make test); the default takes about 15 minutes.
	Quick bool
	// Layer is the cache config under test (built-in name or file) for the runs that judge the
	// layer itself; default "default". Derived configs (warming off, the sweep's TTLs, …) are
	// written from TTL.
	Layer string
	// TTL and ProductionTTL are the base TTLs in seconds, per tier per class, of the write-up's
	// table (the default config) and its production table (the production config). TTL is required.
	TTL, ProductionTTL map[string]map[string]float64
	// DBLatency is the world's simulated DB round trip per query (Calibrate); default ProbeLatency.
	DBLatency time.Duration
	// Redis is the -redis spec of the single-Redis runs; default "auto". Cluster runs take
	// the cluster from their scenario.
	Redis string
	// Dir is where the derived cache configs are written (Dir/configs/).
	Dir string
	// Only limits the plan to these claim IDs; empty: every claim.
	Only []string
}

// Run is one run of the plan: a scenario, a cache config and a mode.
type Run struct {
	Name     string
	Describe string // what it is, for the scorecard's evidence
	Scenario *scenarios.Scenario
	Config   string // a built-in config name or a file
	Mode     summary.Mode
	Redis    string
	Count    int
}

// Estimate is how long the run should take: its attacks plus a few seconds per stack.
func (r Run) Estimate() time.Duration {
	modes := 1
	if r.Mode == summary.ModeBoth {
		modes = 2
	}
	per := r.Scenario.Total() + 3*time.Second
	if r.Scenario.Population.Users >= 50000 {
		per += time.Duration(r.Scenario.Population.Users/4000) * time.Second // seeding
	}
	if r.Scenario.Redis.Cluster != nil {
		per += 4 * time.Second
	}
	return time.Duration(max(r.Count, 1)*modes) * per
}

// The calibration of the world's DB round trip.
const (
	// ProbeLatency is the per-query round trip of the calibration probe.
	ProbeLatency = 100 * time.Millisecond
	// TargetP50 is the no-cache p50 the calibration aims at: the geometric middle of the
	// write-up's 200-500 ms.
	TargetP50 = 316 * time.Millisecond
)

// Calibration is how the world's DB round trip was chosen.
type Calibration struct {
	ProbeLatencyMS float64 `json:"probe_latency_ms"` // per query, in the probe
	ProbeP50MS     float64 `json:"probe_p50_ms"`     // the probe's no-cache p50
	TargetP50MS    float64 `json:"target_p50_ms"`
	LatencyMS      float64 `json:"latency_ms"` // the world's per-query round trip
	JitterMS       float64 `json:"jitter_ms"`
	// WorldP50MS is the world's no-cache p50 as measured (0 until the world ran).
	WorldP50MS float64 `json:"world_p50_ms,omitempty"`
}

// String is the calibration in one line for the terminal and the scorecard.
func (c Calibration) String() string {
	s := fmt.Sprintf("DB round trip %.0f ms ± %.0f ms per query: a no-cache probe at %.0f ms per query had p50 %.0f ms, scaled to aim at %.0f ms",
		c.LatencyMS, c.JitterMS, c.ProbeLatencyMS, c.ProbeP50MS, c.TargetP50MS)
	if c.WorldP50MS > 0 {
		s += fmt.Sprintf("; the world's no-cache p50 is %.0f ms (the write-up: 200-500 ms)", c.WorldP50MS)
	}
	return s
}

// Calibrate scales the probe's per-query round trip so that the no-cache p50 (nearly all DB
// round trips) lands on TargetP50; probeP50 is the probe's no-cache p50 in milliseconds.
func Calibrate(probeP50 float64) (Calibration, error) {
	if !(probeP50 > 0) {
		return Calibration{}, fmt.Errorf("claims: calibration: the probe's no-cache p50 is %v ms", probeP50)
	}
	probe := float64(ProbeLatency.Milliseconds())
	l := math.Round(probe * float64(TargetP50.Milliseconds()) / probeP50)
	l = min(max(l, 10), 1000)
	return Calibration{ProbeLatencyMS: probe, ProbeP50MS: probeP50, TargetP50MS: float64(TargetP50.Milliseconds()),
		LatencyMS: l, JitterMS: math.Round(l / 10)}, nil
}

// ProbeRun is the calibration probe: the world's traffic without the cache at ProbeLatency.
func ProbeRun(o Options) (Run, error) {
	o.DBLatency = ProbeLatency
	sc, err := world(o)
	if err != nil {
		return Run{}, err
	}
	sc.Name = "calibration"
	if o.Quick {
		sc.Warmup, sc.Duration = 500*time.Millisecond, 2*time.Second
	} else {
		sc.Warmup, sc.Duration = 2*time.Second, 6*time.Second
	}
	return Run{Name: "calibration", Describe: "no-cache probe of the world's traffic at " + ProbeLatency.String() + " per query",
		Scenario: sc, Config: "none", Mode: summary.ModeNoCache, Redis: or(o.Redis, "auto"), Count: 1}, nil
}

// Plan returns the runs the (selected) claims need, in the order to run them, and writes
// the derived cache configs into o.Dir.
func Plan(o Options) ([]Run, error) {
	if len(o.TTL) == 0 {
		return nil, errors.New("claims: plan: no TTL table")
	}
	o.Layer, o.Redis = or(o.Layer, "default"), or(o.Redis, "auto")
	if o.DBLatency <= 0 {
		o.DBLatency = ProbeLatency
	}
	claims, err := Select(Table(), o.Only)
	if err != nil {
		return nil, err
	}
	need := map[string]bool{}
	sweep := false
	for _, c := range claims {
		for _, n := range c.Runs() {
			need[n] = true
		}
		sweep = sweep || c.Sweep != nil
	}
	cfgDir := filepath.Join(o.Dir, "configs")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		return nil, fmt.Errorf("claims: plan: %w", err)
	}
	writeConfig := func(name string, ttl map[string]map[string]float64, jitter float64, warm bool, redis, unsafe string) (string, error) {
		path := filepath.Join(cfgDir, name+".yaml")
		if err := os.WriteFile(path, []byte(ConfigYAML(name, ttl, jitter, warm, redis, unsafe)), 0o644); err != nil {
			return "", fmt.Errorf("claims: plan: %w", err)
		}
		return path, nil
	}
	q := o.Quick
	pick := func(quick, full time.Duration) time.Duration {
		if q {
			return quick
		}
		return full
	}
	var runs []Run
	add := func(r Run) {
		if r.Mode == "" {
			r.Mode = summary.ModeCache
		}
		r.Redis = or(r.Redis, o.Redis)
		r.Count = max(r.Count, 1)
		r.Scenario.Thresholds = nil // the claims judge; the runs only measure
		runs = append(runs, r)
	}

	if need[RunWorld] {
		sc, err := world(o)
		if err != nil {
			return nil, err
		}
		count := 3
		if q {
			count = 1
		}
		add(Run{Name: RunWorld, Scenario: sc, Config: o.Layer, Mode: summary.ModeBoth, Count: count,
			Describe: fmt.Sprintf("redis-kill's traffic without its faults, %d users, %g rps, the calibrated DB round trip, both modes, %d repeat(s)",
				sc.Population.Users, sc.Rate.RPS, count)})
	}
	if sweep {
		ttl := pick(time.Second, 4*time.Second)
		cfg, err := writeConfig("sweep", uniformTTL(o.TTL, ttl.Seconds()), 0, false, "", "")
		if err != nil {
			return nil, err
		}
		rps := 150.0
		ks := []float64{1, 3, 10, 30, 100}
		if q {
			rps, ks = 60, []float64{2, 20}
		}
		for i, k := range ks {
			sc, err := load("redis-kill")
			if err != nil {
				return nil, err
			}
			users := max(int(math.Round(rps*ttl.Seconds()/k)), 2)
			sc.Name = fmt.Sprintf("sweep-%d", i+1)
			sc.Faults, sc.Keys = nil, scenarios.Keys{Distribution: "uniform"}
			sc.Rate = scenarios.Rate{Shape: scenarios.ShapeConstant, RPS: rps}
			sc.Population.Users = users
			sc.Warmup, sc.Duration = 2*ttl, pick(2*time.Second, 12*time.Second)
			sc.DB = scenarios.DBModel{Latency: pick(3*time.Millisecond, 5*time.Millisecond), Jitter: time.Millisecond}
			add(Run{Name: fmt.Sprintf("%s%d", SweepPrefix, i+1), Scenario: sc, Config: cfg, Mode: summary.ModeBoth,
				Describe: fmt.Sprintf("sweep point: %d users, %g rps, uniform keys, every TTL %s, warming off (%.3g requests per user per TTL planned)", users, rps, ttl, k)})
		}
	}
	if need[RunWarmOn] || need[RunWarmOff] {
		for _, warm := range []bool{true, false} {
			name := RunWarmOff
			if warm {
				name = RunWarmOn
			}
			cfg, err := writeConfig(name, o.TTL, 0.1, warm, "", "")
			if err != nil {
				return nil, err
			}
			sc, err := load("cold-restart")
			if err != nil {
				return nil, err
			}
			sc.Warmup = 0
			kill, start := pick(1500*time.Millisecond, 4*time.Second), pick(2*time.Second, 5*time.Second)
			sc.Duration = start + pick(4*time.Second, 6*time.Second)
			sc.Faults = []scenarios.Fault{{At: kill, Do: scenarios.FaultKillRedis}, {At: start, Do: scenarios.FaultStartRedis}}
			if q {
				sc.Population.Users, sc.Rate.RPS = 300, 100
			}
			add(Run{Name: name, Scenario: sc, Config: cfg,
				Describe: fmt.Sprintf("cold-restart without warm-up: the first %s after start, Redis killed at %s and back empty at %s, warm: %t", kill, kill, start, warm)})
		}
	}
	if need[RunTierChange] {
		sc, err := load("tier-change")
		if err != nil {
			return nil, err
		}
		sc.Warmup, sc.Duration = pick(time.Second, 5*time.Second), pick(3*time.Second, 20*time.Second)
		if q {
			sc.Population.Users, sc.Rate.RPS = 100, 80
		}
		add(Run{Name: RunTierChange, Scenario: sc, Config: o.Layer, Describe: "tier-change, " + sc.Duration.String()})
	}
	if need[RunHostile] {
		sc, err := load("hostile")
		if err != nil {
			return nil, err
		}
		sc.Warmup, sc.Duration = pick(time.Second, 5*time.Second), pick(3*time.Second, 15*time.Second)
		if q {
			sc.Rate.RPS = 60
		}
		add(Run{Name: RunHostile, Scenario: sc, Config: o.Layer, Describe: "hostile, " + sc.Duration.String()})
	}
	if need[RunFaults] {
		sc, err := load("redis-partition")
		if err != nil {
			return nil, err
		}
		sc.Name = "fallback"
		var f []scenarios.Fault
		if q {
			sc.Warmup, sc.Duration = time.Second, 13*time.Second
			sc.Rate.RPS, sc.Population.Users, sc.Population.Conversations, sc.Population.Messages = 120, 80, 2, 10
			sc.DB = scenarios.DBModel{Latency: 3 * time.Millisecond, Jitter: time.Millisecond}
			// The partition last, so that what lost invalidations leave behind is read after
			// it heals (a kill after it would empty Redis); the window goes on for seconds after
			// the heal, because a client that a stalled Redis holds for seconds (go-redis's
			// defaults) holds the faults back too on a busy machine.
			f = faults(time.Second, 2*time.Second, 3*time.Second, 4500*time.Millisecond, 5500*time.Millisecond, 7500*time.Millisecond)
		} else {
			sc.Warmup, sc.Duration = 5*time.Second, 40*time.Second
			f = faults(4*time.Second, 8*time.Second, 12*time.Second, 18*time.Second, 24*time.Second, 32*time.Second)
		}
		sc.Faults = f
		add(Run{Name: RunFaults, Scenario: sc, Config: o.Layer,
			Describe: fmt.Sprintf("redis-partition's traffic (writes, tier changes); Redis killed %s-%s, slowed 100 ms %s-%s, partitioned %s-%s",
				f[0].At, f[1].At, f[2].At, f[3].At, f[4].At, f[5].At)})
	}
	if need[RunTTLNet] {
		// A small hot population, so that entries cached before the partition are read again
		// after it heals, before their TTL ends: each such read is stale, at most a TTL old.
		ttl := pick(8*time.Second, 10*time.Second)
		cfg, err := writeConfig("ttl-net", uniformTTL(o.TTL, ttl.Seconds()), 0, true, "", "dropFailedInvalidations: true")
		if err != nil {
			return nil, err
		}
		sc, err := load("redis-partition")
		if err != nil {
			return nil, err
		}
		sc.Name = "ttl-net"
		p, h := pick(time.Second, 3*time.Second), pick(3*time.Second, 8*time.Second)
		sc.Faults = []scenarios.Fault{{At: p, Do: scenarios.FaultPartitionRedis}, {At: h, Do: scenarios.FaultHealRedis}}
		sc.Warmup, sc.Duration = pick(time.Second, 3*time.Second), p+ttl+pick(2*time.Second, 5*time.Second)
		sc.Rate.RPS, sc.Population.Users, sc.Population.Conversations, sc.Population.Messages = 120, 80, 2, 10
		add(Run{Name: RunTTLNet, Scenario: sc, Config: cfg,
			Describe: fmt.Sprintf("naive cache-aside (invalidations that fail are dropped), every TTL %s, 80 users; Redis partitioned %s-%s, then %s more", ttl, p, h, sc.Duration-h)})
	}
	if need[RunScale] {
		sc, err := load("scale")
		if err != nil {
			return nil, err
		}
		sc.Redis.Cluster = &scenarios.ClusterSpec{Masters: 3, Replicas: 1, NodeTimeout: pick(500*time.Millisecond, 2*time.Second)}
		// The claim is about a master's death under steady load, not the capacity search
		// the scale scenario runs by itself: a constant rate, and its thresholds without
		// the search's.
		sc.Rate = scenarios.Rate{Shape: scenarios.ShapeConstant, RPS: 300}
		sc.Thresholds = slices.DeleteFunc(slices.Clone(sc.Thresholds), func(t string) bool { return strings.HasPrefix(t, "capacity_search.") })
		sc.Thresholds = append([]string{"errors == 0"}, sc.Thresholds...)
		kill, start := pick(1500*time.Millisecond, 15*time.Second), pick(4*time.Second, 30*time.Second)
		sc.Faults = []scenarios.Fault{{At: kill, Do: scenarios.FaultKillRedis, Node: "master-1"}, {At: start, Do: scenarios.FaultStartRedis, Node: "master-1"}}
		sc.Warmup, sc.Duration = pick(time.Second, 10*time.Second), pick(6*time.Second, 40*time.Second)
		if q {
			sc.Population.Users, sc.Rate.RPS = 2000, 80
		}
		add(Run{Name: RunScale, Scenario: sc, Config: o.Layer, Redis: "auto",
			Describe: fmt.Sprintf("scale: %d users over %d instances on a 3×1 Redis Cluster, master-1 killed at %s and back at %s", sc.Population.Users, sc.Servers, kill, start)})
	}
	if need[RunReplicas] || need[RunNoWait] {
		for _, wait := range []bool{true, false} {
			name, unsafe := RunReplicas, ""
			if !wait {
				name, unsafe = RunNoWait, "skipReplicaWait: true"
			}
			cfg, err := writeConfig(name, o.TTL, 0.1, true, "readFromReplicas: true", unsafe)
			if err != nil {
				return nil, err
			}
			sc, err := load("redis-partition")
			if err != nil {
				return nil, err
			}
			sc.Name = name
			sc.Redis.Cluster = &scenarios.ClusterSpec{Masters: 1, Replicas: 1, NodeTimeout: 2 * time.Second}
			sc.Keys = scenarios.Keys{Distribution: "uniform"}
			lag, heal := pick(1500*time.Millisecond, 5*time.Second), pick(3500*time.Millisecond, 12*time.Second)
			sc.Faults = []scenarios.Fault{{At: lag, Do: scenarios.FaultLagReplica, Node: "replica-1"}, {At: heal, Do: scenarios.FaultHealRedis, Node: "replica-1"}}
			sc.Warmup, sc.Duration = pick(time.Second, 3*time.Second), pick(5*time.Second, 20*time.Second)
			sc.Rate.RPS, sc.Population.Users, sc.Population.Conversations, sc.Population.Messages = float64(pickInt(q, 80, 120)), pickInt(q, 30, 200), 2, 10
			add(Run{Name: name, Scenario: sc, Config: cfg, Redis: "auto",
				Describe: fmt.Sprintf("reads from replicas on a 1×1 Redis Cluster, the replica lagging %s-%s, replica wait: %t", lag, heal, wait)})
		}
	}
	if need[RunAOF] || need[RunAOFOff] {
		for _, aof := range []bool{true, false} {
			sc, err := load("cold-restart-aof")
			if err != nil {
				return nil, err
			}
			name := RunAOF
			if !aof {
				name, sc.Name, sc.Redis.Persistence = RunAOFOff, "cold-restart", scenarios.PersistenceNone
			}
			kill, start := pick(2*time.Second, 10*time.Second), pick(2500*time.Millisecond, 11*time.Second)
			sc.Warmup, sc.Duration = pick(time.Second, 5*time.Second), start+pick(3*time.Second, 5*time.Second)
			sc.Faults = []scenarios.Fault{{At: kill, Do: scenarios.FaultKillRedis}, {At: start, Do: scenarios.FaultStartRedis}}
			if q {
				sc.Population.Users, sc.Rate.RPS = 300, 100
			}
			add(Run{Name: name, Scenario: sc, Config: o.Layer,
				Describe: fmt.Sprintf("cold-restart-aof, appendonly %t: Redis killed at %s and restarted at %s, %s measured after", aof, kill, start, sc.Duration-start)})
		}
	}
	if need[RunClients] {
		// The world's traffic from two devices per user that keep HTTP caches; a fixed short DB
		// round trip (the claim is about what the devices save, not the calibrated latency).
		sc, err := load("redis-kill")
		if err != nil {
			return nil, err
		}
		sc.Name, sc.Faults = RunClients, nil
		sc.Clients = scenarios.Clients{Devices: 2, Cache: true}
		sc.DB = scenarios.DBModel{Latency: 5 * time.Millisecond, Jitter: time.Millisecond}
		sc.Warmup, sc.Duration = pick(time.Second, 5*time.Second), pick(3*time.Second, 20*time.Second)
		if q {
			sc.Rate.RPS, sc.Population.Users = 80, 100
		}
		add(Run{Name: RunClients, Scenario: sc, Config: o.Layer,
			Describe: fmt.Sprintf("redis-kill's traffic without its faults from 2 devices per user that keep HTTP caches (If-None-Match), %d users, %g rps, %s",
				sc.Population.Users, sc.Rate.RPS, sc.Duration)})
	}
	if need[RunDeploy] {
		sc, err := load("rolling-deploy")
		if err != nil {
			return nil, err
		}
		sc.Name = RunDeploy
		at, interval := pick(time.Second, 10*time.Second), pick(500*time.Millisecond, 5*time.Second)
		sc.Faults = []scenarios.Fault{{At: at, Do: scenarios.FaultRollingRestart, Interval: interval}}
		if q {
			// Three restarts of one to two seconds each (the shutdown delay, the drain, the
			// start), then the last instance's first window. The shutdown delay stays six
			// readiness polls long, so that a busy harness still sees the instance unready
			// before its listener closes.
			sc.Deploy = &scenarios.Deploy{ReadyPeriod: 100 * time.Millisecond, ShutdownDelay: 600 * time.Millisecond,
				DrainTimeout: 10 * time.Second, FirstWindow: time.Second}
			sc.Warmup, sc.Duration = time.Second, 11*time.Second
			sc.Rate.RPS, sc.Population.Users = 120, 200
		}
		d, _ := sc.DeploySettings()
		add(Run{Name: RunDeploy, Scenario: sc, Config: o.Layer,
			Describe: fmt.Sprintf("rolling-deploy: %d instances restarted in turn from %s, %s apart (shutdown delay %s, drain timeout %s), %g rps with writes and tier changes, %s",
				sc.Servers, at, interval, d.ShutdownDelay, d.DrainTimeout, sc.Rate.RPS, sc.Duration)})
	}
	for _, r := range runs {
		if err := r.Scenario.Validate(); err != nil {
			return nil, fmt.Errorf("claims: plan: run %s: %w", r.Name, err)
		}
	}
	return runs, nil
}

// Calibrated sets the world run's DB round trip per query (jitter a tenth of it); other
// runs keep their own.
func (r Run) Calibrated(c Calibration) {
	if r.Name != RunWorld || r.Scenario == nil {
		return
	}
	l := time.Duration(c.LatencyMS * float64(time.Millisecond))
	r.Scenario.DB = scenarios.DBModel{Latency: l, Jitter: time.Duration(c.JitterMS * float64(time.Millisecond))}
}

// world is the write-up's world: redis-kill's mixed traffic (every read route, writes, a
// few tier changes) without its faults, at the calibrated DB round trip.
func world(o Options) (*scenarios.Scenario, error) {
	sc, err := load("redis-kill")
	if err != nil {
		return nil, err
	}
	sc.Name, sc.Faults = "world", nil
	sc.DB = scenarios.DBModel{Latency: o.DBLatency, Jitter: o.DBLatency / 10}
	if o.Quick {
		sc.Warmup, sc.Duration, sc.Rate.RPS, sc.Population.Users = time.Second, 3*time.Second, 100, 300
	} else {
		sc.Warmup, sc.Duration = 5*time.Second, 20*time.Second
	}
	return sc, nil
}

// faults are kill/start, slow/heal and partition/heal at the six offsets.
func faults(at ...time.Duration) []scenarios.Fault {
	return []scenarios.Fault{
		{At: at[0], Do: scenarios.FaultKillRedis}, {At: at[1], Do: scenarios.FaultStartRedis},
		{At: at[2], Do: scenarios.FaultSlowRedis, Latency: 100 * time.Millisecond, Jitter: 20 * time.Millisecond}, {At: at[3], Do: scenarios.FaultHealRedis},
		{At: at[4], Do: scenarios.FaultPartitionRedis}, {At: at[5], Do: scenarios.FaultHealRedis},
	}
}

func load(name string) (*scenarios.Scenario, error) {
	sc, err := scenarios.Load(name)
	if err != nil {
		return nil, fmt.Errorf("claims: plan: %w", err)
	}
	return sc, nil
}

// uniformTTL is ttl's tiers and classes, every one set to seconds.
func uniformTTL(ttl map[string]map[string]float64, seconds float64) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for tier, classes := range ttl {
		out[tier] = map[string]float64{}
		for class := range classes {
			out[tier][class] = seconds
		}
	}
	return out
}

// ConfigYAML writes a cache config (docs/CACHE-CONFIG.md) with these TTLs (whole seconds),
// jitter and warming, the fail-fast Redis client, and the given extra redis and unsafe
// fields ("readFromReplicas: true", "dropFailedInvalidations: true"; "" for none).
func ConfigYAML(name string, ttl map[string]map[string]float64, jitter float64, warm bool, redis, unsafe string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by bench claims.\nname: %s\nttl:\n", name)
	for _, tier := range slices.Sorted(maps.Keys(ttl)) {
		var parts []string
		for _, class := range slices.Sorted(maps.Keys(ttl[tier])) {
			parts = append(parts, class+": "+strconv.Itoa(int(math.Round(ttl[tier][class]))))
		}
		fmt.Fprintf(&b, "  %s: {%s}\n", tier, strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, "jitter: %g\nwarm: %t\n", jitter, warm)
	extra := ""
	if redis != "" {
		extra = ", " + redis
	}
	fmt.Fprintf(&b, "redis: {dialTimeout: 100ms, readTimeout: 50ms, writeTimeout: 50ms, poolSize: 0%s}\nbreaker: {failures: 5, openFor: 1s}\n", extra)
	if unsafe != "" {
		fmt.Fprintf(&b, "unsafe: {%s}\n", unsafe)
	}
	return b.String()
}

// Select returns the claims named in only (every claim when only is empty), in table order;
// an unknown name is an error listing the known ones.
func Select(table []Claim, only []string) ([]Claim, error) {
	if len(only) == 0 {
		return table, nil
	}
	var ids []string
	for _, c := range table {
		ids = append(ids, c.ID)
	}
	var bad []string
	for _, id := range only {
		if !slices.Contains(ids, id) {
			bad = append(bad, strconv.Quote(id))
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("claims: unknown claim %s (known: %s)", strings.Join(bad, ", "), strings.Join(ids, ", "))
	}
	var out []Claim
	for _, c := range table {
		if slices.Contains(only, c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Runs are the names of the runs the claim reads (its sweep's points are SweepPrefix runs).
func (c Claim) Runs() []string {
	var out []string
	addRun := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, ch := range c.Checks {
		addRun(ch.Run)
		if ch.Versus != nil {
			addRun(ch.Versus.Run)
		}
	}
	for _, s := range c.Show {
		addRun(s.Run)
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func pickInt(quick bool, q, full int) int {
	if quick {
		return q
	}
	return full
}
