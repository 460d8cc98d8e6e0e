package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// builtinFS holds the built-in scenarios, one NAME.yaml each.
//
//go:embed *.yaml
var builtinFS embed.FS

// builtinPrefix marks a Scenario.Source that names an embedded scenario.
const builtinPrefix = "builtin:"

// Scenario is one load scenario: who sends what, how fast, for how long, which faults are
// injected when, and the thresholds the run must meet.
type Scenario struct {
	Name        string
	Description string        // one sentence, shown by `bench scenarios`
	Source      string        // "builtin:mixed" or the file path, for messages
	Seed        int64         // seeds the request plan; default 1
	Warmup      time.Duration // run but excluded from every figure; default 0
	Duration    time.Duration // measured window, after warm-up
	Rate        Rate          // over the whole attack: Warmup + Duration
	Population  Population
	Keys        Keys
	Mix         []MixEntry
	DB          DBModel
	Redis       RedisSpec // the Redis the harness starts for the cache mode
	Faults      []Fault   // in time order
	Clients     Clients   // the users' devices and their HTTP caches (clients.go)
	// Servers is how many `bench serve` instances share one Redis and one database; 0 means 1.
	// The driver spreads requests over them round-robin by request (see Pin).
	Servers int
	// Pin sends every write to one instance and every read to another (1-based; 0: round-robin).
	Pin Pin
	// Deploy is how the instances shut down and how the harness balances them (deploy:); nil
	// when the scenario has no deploy section.
	Deploy *Deploy
	// ReadOnly (`writes: false`, or bench run -read-only) drops every write of the mix: for
	// a system whose data must not change. The checks that need writes (staleness, tier
	// after a change) then have nothing to judge; ReadOnlyChecksOff names them.
	ReadOnly   bool
	Thresholds []string // raw expressions; package threshold parses them (the runner, before the first attack) and evaluates them over the summary
	// Aborts are the thresholds written {expr, abort: true, grace}: the run stops once one is
	// lost for good, after its grace period (k6's abortOnFail); the runner checks that each
	// can be lost for good during a run.
	Aborts []Abort

	// lines maps a field path ("mix[2].weight") to its line in the source, so that
	// Validate after a change still points into the file. Nil for scenarios built in code.
	lines map[string]int
}

// Rate is the target request rate over time. Shape is constant (the default when empty),
// linear, sine, steps or max; each shape reads only its own fields. Max is no schedule at
// all but a closed loop: Workers requests in flight, each sent as soon as the one before
// it answered, so its latency is the service time.
type Rate struct {
	Shape    string        // constant, linear, sine, steps or max
	RPS      float64       // constant: requests per second
	From, To float64       // linear: rps at the start and at the end of the whole attack
	Mean     float64       // sine: mean rps
	Amp      float64       // sine: amplitude in rps, 0 <= Amp <= Mean
	Period   time.Duration // sine: period of the wave
	Steps    []Step        // steps: in order; the last one holds until the end
	Workers  int           // max: concurrent requests of the closed loop
	Search   Search        // search: the capacity search (From and To bound its rates)
}

// ClosedLoop reports whether the rate is the max shape: no schedule, Workers in a loop.
func (r Rate) ClosedLoop() bool { return r.Shape == ShapeMax }

// Searching reports whether the rate is the search shape: steps decided while the attack
// runs (see Search), no schedule known in advance.
func (r Rate) Searching() bool { return r.Shape == ShapeSearch }

// Step is one stage of a steps rate: RPS for For (For is ignored on the last step).
type Step struct {
	RPS float64
	For time.Duration
}

// Rate shapes.
const (
	ShapeConstant = "constant"
	ShapeLinear   = "linear"
	ShapeSine     = "sine"
	ShapeSteps    = "steps"
	ShapeMax      = "max"
	ShapeSearch   = "search"
)

// DefaultMaxWorkers is the closed loop's concurrency when -rate max is given without -workers.
const DefaultMaxWorkers = 32

// MaxWorkers is the largest closed loop a scenario may ask for.
const MaxWorkers = 10000

// MaxRPS is the highest rate any shape may ask for; beyond it a value is taken for a typo.
const MaxRPS = 1e6

// Population is what the server is seeded with (bench serve -seed-* flags, store.SeedConfig).
type Population struct {
	Users         int           // u1 … uN; default 1000
	Tiers         atlas.TierMix // default 70% free, 20% core, 10% studio
	Conversations int           // per user; default 5
	Messages      int           // per conversation; default 40
}

// Keys is how the user of each request is chosen. Distribution is uniform (the default
// when empty), zipf (S > 0) or hotspot (0 < Fraction < 1, 0 < Share < 1).
type Keys struct {
	Distribution string
	S            float64 // zipf exponent; rank 1 (u1) is the hottest
	Fraction     float64 // hotspot: the first Fraction of the users are hot …
	Share        float64 // … and receive Share of the picks
}

// Key distributions.
const (
	DistUniform = "uniform"
	DistZipf    = "zipf"
	DistHotspot = "hotspot"
)

// MixEntry is one kind of request and its weight in the mix: a route (Req) or an attack
// kind (Attack), never both.
type MixEntry struct {
	Req    string  // as written: "GET /api/conversations/{id}/messages?limit=20"
	Method string  // "GET"
	Path   string  // the route pattern: "/api/conversations/{id}/messages"; {id} is one of the caller's conversations
	Query  string  // raw query without '?', e.g. "limit=20"; empty when none
	Attack string  // one of AttackKinds() instead of a route; Req, Method, Path, Query and Expect are then empty
	Weight float64 // relative, > 0
	Expect []int   // statuses that are not errors; the route's Expect when the file gives none
	// Own marks a route of the target the harness has no model of (a path outside /api/,
	// e.g. "GET /v1/items/{item}"): its {placeholders} come from the users file's columns,
	// {user} is the user's ID; the harness measures status, latency, X-Cache where present
	// and, with an owner pointer, isolation. Routes under /api/ must be Atlas's.
	Own bool
	// Changes lists, for an own write, the reads it must change ("GET /v1/items/{item}"): the
	// write carries a unique marker and every later read of those paths must show it.
	Changes []string
	// Body is an own write's body, with {placeholders} and {marker}; default
	// {"atlasbench":"{marker}"}.
	Body string
}

// OwnRoute reports whether a path is outside the Atlas API (/api/…, /healthz, /metrics), so
// that a mix entry naming it is one of the target's own routes.
func OwnRoute(path string) bool {
	return !strings.HasPrefix(path, "/api/") && path != "/api" && path != "/healthz" && path != "/metrics"
}

// Placeholders returns the {names} in s (letters, digits, _ and -), in order, each once;
// other braces (a JSON body's) are text.
func Placeholders(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9' || s[j] == '_' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] == '}' && j > i+1 && !slices.Contains(out, s[i+1:j]) {
			out = append(out, s[i+1:j])
		}
	}
	return out
}

// DBModel is the simulated database round trip the server adds to every query.
type DBModel struct {
	Latency time.Duration
	Jitter  time.Duration
}

// RedisSpec is the scenario's redis section: the Redis the harness starts (ignored for an
// external -redis URL).
type RedisSpec struct {
	// Cluster, when set, asks for a Redis Cluster of child processes instead of one server.
	Cluster *ClusterSpec
	// Persistence is none (the default) or aof: appendonly yes, fsync every second, so a
	// restarted Redis reloads its data.
	Persistence string
}

// ClusterSpec is the shape of a harness-started Redis Cluster.
type ClusterSpec struct {
	Masters     int           // shards; default 3
	Replicas    int           // per master; default 1 (0: none)
	NodeTimeout time.Duration // cluster-node-timeout, how soon a replica takes over; default 2s
}

// Persistence modes of RedisSpec.Persistence.
const (
	PersistenceNone = "none"
	PersistenceAOF  = "aof"
)

// Pin routes writes and reads to fixed instances (1-based); 0 leaves that kind round-robin.
type Pin struct {
	Writes, Reads int
}

// Server returns the 0-based instance of request seq (0-based), a write or not, among n.
func (p Pin) Server(seq uint64, write bool, n int) int {
	if n <= 1 {
		return 0
	}
	switch {
	case write && p.Writes > 0:
		return p.Writes - 1
	case !write && p.Reads > 0:
		return p.Reads - 1
	}
	return int(seq % uint64(n))
}

// Deploy says how server instances are stopped and balanced: the harness polls every
// instance's /readyz every ReadyPeriod and sends no new request to one that is not ready;
// each instance it starts runs with -shutdown-delay ShutdownDelay and -drain-timeout
// DrainTimeout; FirstWindow is how long after a restarted instance is ready again its hit
// rate and p99 are measured (its cold local state). Zero means the default of each field.
type Deploy struct {
	ReadyPeriod   time.Duration // default 100ms
	ShutdownDelay time.Duration // default 500ms; longer than ReadyPeriod
	DrainTimeout  time.Duration // default 5s
	FirstWindow   time.Duration // default 3s
}

// DeploySettings are the scenario's deploy settings with the defaults filled in, and
// whether the harness balances the instances on their readiness: when the scenario has a
// deploy section or stops instances gracefully (stop-server, restart-server,
// rolling-restart). Without, requests go where Pin says and instances stop without delay.
func (s *Scenario) DeploySettings() (d Deploy, balanced bool) {
	if s.Deploy != nil {
		return s.Deploy.WithDefaults(), true
	}
	for _, f := range s.Faults {
		if f.Do == FaultStopServer || f.Do == FaultRestartServer || f.Do == FaultRollingRestart {
			return Deploy{}.WithDefaults(), true
		}
	}
	return Deploy{}.WithDefaults(), false
}

// WithDefaults returns d with every zero field set to its default.
func (d Deploy) WithDefaults() Deploy {
	set := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&d.ReadyPeriod, 100*time.Millisecond)
	set(&d.ShutdownDelay, 500*time.Millisecond)
	set(&d.DrainTimeout, 5*time.Second)
	set(&d.FirstWindow, 3*time.Second)
	return d
}

// Fault is one action on Redis or a server instance at an offset from the end of the warm-up.
type Fault struct {
	At      time.Duration
	Do      string        // one of FaultVerbs()
	Server  int           // 1-based instance the fault is addressed to; 0: the shared Redis (or every instance's link to it)
	Node    string        // on a cluster: the one node it acts on (master-1…, replica-1…); empty: every node
	Latency time.Duration // slow-redis: added latency per command
	Jitter  time.Duration // slow-redis: ± spread of that latency
	Period  time.Duration // flap-redis: Redis is down for half of each period, up for the other half
	// Interval is rolling-restart's pause between one instance being ready again and the
	// SIGTERM of the next.
	Interval time.Duration
}

// Fault verbs.
const (
	FaultKillRedis      = "kill-redis"      // SIGKILL the Redis process; its data is lost
	FaultStartRedis     = "start-redis"     // start Redis again (empty) on the same address
	FaultSlowRedis      = "slow-redis"      // add Latency ± Jitter to every command
	FaultPartitionRedis = "partition-redis" // connections hang
	FaultRefuseRedis    = "refuse-redis"    // connections are refused; Redis keeps its data
	FaultHealRedis      = "heal-redis"      // undo slow, partition, refuse and flap
	FaultFlapRedis      = "flap-redis"      // alternate refuse and heal every Period/2
	FaultFlushRedis     = "flush-redis"     // FLUSHALL
	FaultKillServer     = "kill-server"     // SIGKILL one server instance (server: N)
	FaultStartServer    = "start-server"    // start a killed instance again (server: N)
	FaultFailover       = "failover"        // cluster: promote a replica of Node's shard (CLUSTER FAILOVER)
	FaultLagReplica     = "lag-replica"     // cluster: replica Node stops applying its master's stream (still serves reads) until heal-redis
	FaultStopServer     = "stop-server"     // SIGTERM one server instance (server: N) and wait until it exited: a graceful stop
	FaultRestartServer  = "restart-server"  // stop-server, then start it again on its address and wait until it is ready
	FaultRollingRestart = "rolling-restart" // restart-server every instance in turn, Interval apart: a deploy
)

// FaultVerbs lists the fault verbs a scenario may use.
func FaultVerbs() []string {
	return []string{FaultKillRedis, FaultStartRedis, FaultSlowRedis, FaultPartitionRedis,
		FaultRefuseRedis, FaultHealRedis, FaultFlapRedis, FaultFlushRedis, FaultKillServer, FaultStartServer, FaultFailover, FaultLagReplica,
		FaultStopServer, FaultRestartServer, FaultRollingRestart}
}

// ServerVerbs lists the verbs that act on one instance and must name it (server: N).
func ServerVerbs() []string {
	return []string{FaultKillServer, FaultStartServer, FaultStopServer, FaultRestartServer}
}

// PerServerVerbs lists the verbs that may name one instance (server: N): the fault-proxy
// verbs (each instance has its own proxy in front of Redis) and ServerVerbs, which must.
func PerServerVerbs() []string {
	return []string{FaultSlowRedis, FaultPartitionRedis, FaultRefuseRedis, FaultHealRedis, FaultFlapRedis,
		FaultKillServer, FaultStartServer, FaultStopServer, FaultRestartServer}
}

// ValidNodeName reports whether name has the shape of a cluster node's name: master-N or
// replica-N, N >= 1.
func ValidNodeName(name string) bool {
	for _, prefix := range []string{"master-", "replica-"} {
		if n, ok := strings.CutPrefix(name, prefix); ok {
			i, err := strconv.Atoi(n)
			return err == nil && i >= 1 && strconv.Itoa(i) == n
		}
	}
	return false
}

// Route is one API route a mix may use.
type Route struct {
	Method string
	Path   string // pattern, with {id} for one of the caller's conversations
	// Class is the store query class the route's own work is counted under; for reads it is
	// also the cache class of its X-Cache header, for writes it is atlas.QueryWrites.
	Class  string
	Write  bool
	Expect []int // statuses that are not errors
}

// Routes lists the routes a scenario's mix may use, in a fixed order.
func Routes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/me", Class: atlas.QueryUserProfile, Expect: []int{200}},
		{Method: "GET", Path: "/api/me/tier", Class: atlas.QueryTier, Expect: []int{200}},
		{Method: "PUT", Path: "/api/me/tier", Class: atlas.QueryWrites, Write: true, Expect: []int{200}},
		{Method: "GET", Path: "/api/conversations", Class: atlas.QueryConversations, Expect: []int{200}},
		{Method: "POST", Path: "/api/conversations", Class: atlas.QueryWrites, Write: true, Expect: []int{201}},
		{Method: "GET", Path: "/api/conversations/{id}/messages", Class: atlas.QueryAPIResponses, Expect: []int{200}},
		// 429: the free tier's daily message quota.
		{Method: "POST", Path: "/api/conversations/{id}/messages", Class: atlas.QueryWrites, Write: true, Expect: []int{201, 429}},
	}
}

// LookupRoute returns the route with this method and path pattern.
func LookupRoute(method, path string) (Route, bool) {
	for _, r := range Routes() {
		if r.Method == method && r.Path == path {
			return r, true
		}
	}
	return Route{}, false
}

// ReadOnlyChecksOff says which checks a read-only run turns off, for its notes.
const ReadOnlyChecksOff = "staleness (no write is acknowledged, so no read can miss one), the tier after a change (no PUT /api/me/tier), and write latency and errors"

// WriteMark is how every text a run writes begins (conversation titles, message contents),
// so that what a run wrote into a real system can be found and removed.
const WriteMark = "atlasbench "

// Info is one line of `bench scenarios`.
type Info struct {
	Name        string
	Description string
}

// Total is the whole attack: warm-up plus the measured window.
func (s *Scenario) Total() time.Duration { return s.Warmup + s.Duration }

// Schedule is the send schedule of the whole attack (warm-up included).
func (s *Scenario) Schedule() Schedule { return s.Rate.Schedule(s.Total()) }

// Load reads a built-in scenario by name, or else a scenario file by path (a built-in
// name wins over a file of the same name in the working directory: write ./NAME for it).
// Every problem of the file is reported at once; an unknown name lists the built-ins.
func Load(nameOrPath string) (*Scenario, error) {
	if slices.Contains(builtinNames(), nameOrPath) {
		data, err := builtinFS.ReadFile(nameOrPath + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("scenario %q: %w", nameOrPath, err)
		}
		return Parse(builtinPrefix+nameOrPath, data)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !looksLikePath(nameOrPath) {
			return nil, fmt.Errorf("scenario %q: no built-in of that name and no such file (built-ins: %s)",
				nameOrPath, strings.Join(builtinNames(), ", "))
		}
		return nil, fmt.Errorf("scenario %q: %w", nameOrPath, err)
	}
	return Parse(nameOrPath, data)
}

// looksLikePath reports whether s names a file rather than a built-in.
func looksLikePath(s string) bool {
	ext := filepath.Ext(s)
	return strings.ContainsRune(s, '/') || strings.ContainsRune(s, filepath.Separator) || ext == ".yaml" || ext == ".yml"
}

// Builtins lists the built-in scenarios, sorted by name.
func Builtins() []Info {
	var out []Info
	for _, name := range builtinNames() {
		info := Info{Name: name}
		if s, err := Load(name); err == nil {
			info.Description = s.Description
		} else {
			info.Description = "invalid: " + strings.SplitN(err.Error(), "\n", 2)[0]
		}
		out = append(out, info)
	}
	return out
}

// BuiltinYAML returns the text of a built-in scenario, e.g. to start a file from it.
func BuiltinYAML(name string) ([]byte, error) {
	if slices.Contains(builtinNames(), name) {
		return builtinFS.ReadFile(name + ".yaml")
	}
	return nil, fmt.Errorf("scenario %q: no built-in of that name (built-ins: %s)", name, strings.Join(builtinNames(), ", "))
}

// builtinNames lists the embedded scenarios' names, sorted.
func builtinNames() []string {
	entries, _ := builtinFS.ReadDir(".")
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// displayName is how messages name a source: a built-in "builtin:NAME" is shown as the
// file it was embedded from.
func displayName(source string) string {
	if name, ok := strings.CutPrefix(source, builtinPrefix); ok {
		return "scenarios/" + name + ".yaml"
	}
	if source == "" {
		return "scenario"
	}
	return source
}

// defaultName is the name a scenario without one gets: the file name without extension.
func defaultName(source string) string {
	if name, ok := strings.CutPrefix(source, builtinPrefix); ok {
		return name
	}
	base := filepath.Base(source)
	for _, ext := range []string{".yaml", ".yml"} {
		if n, ok := strings.CutSuffix(base, ext); ok {
			return n
		}
	}
	return base
}

// Abort makes a threshold stop the run once it is lost for good (`abort: true`).
type Abort struct {
	Threshold int           // index into Scenario.Thresholds
	Grace     time.Duration // how long the run goes on once the threshold is lost (`grace`; default 0)
}
