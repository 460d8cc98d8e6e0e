// Package summary owns summary.json, the machine-readable result of a run (schema
// atlasbench/summary/v2; v1 is still read): its Go types and reading and writing it. Every later stage
// (report, gate, compare) reads a run through this package instead of attacking again.
package summary

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/atomicfile"
)

// Schema is the value of Summary.Schema for this version of the format.
const Schema = "atlasbench/summary/v2"

// SchemaV1 is the previous version, which Read still accepts: its notes are strings, its
// no-cache figures carry their own "mode", its Redis Cluster slot ranges are "shards".
const SchemaV1 = "atlasbench/summary/v1"

// FileName is the name of the summary inside a run directory.
const FileName = "summary.json"

// Summary is the whole result of one run. With both modes, the top-level figures are the
// cache mode's and NoCache holds the same figures for the no-cache run.
type Summary struct {
	Schema   string `json:"schema"`
	Scenario string `json:"scenario"`
	Config   string `json:"config"`
	// CacheConfig is the effective cache config the server ran with (absent for -target,
	// whose config is unknown): reports render from it instead of loading config files.
	CacheConfig *CacheConfig `json:"cache_config,omitempty"`
	Mode        Mode         `json:"mode"` // cache, nocache, both or target
	Started     time.Time    `json:"started"`
	Env         Env          `json:"env"`
	Notes       []Note       `json:"notes,omitempty"` // loud caveats, e.g. "embedded Redis: latencies not representative"
	// Interrupted is true when the run was stopped (Ctrl-C) before its end; figures cover what was measured.
	Interrupted bool `json:"interrupted,omitempty"`
	// Aborted says why a threshold with abort: true stopped the run once it was lost for good;
	// the figures cover what was measured until then, and the run failed.
	Aborted string `json:"aborted,omitempty"`
	// Inconclusive says why the run's latency verdicts are INCONCLUSIVE: the load generator
	// or its machine was saturated in a mode or repeat (GeneratorHealth), so its latency
	// thresholds are neither passed nor failed; counts are judged as always.
	Inconclusive string `json:"inconclusive,omitempty"`

	Figures // the cache mode's figures (or the only mode's)

	// Population is what every mode's database was seeded with.
	Population *Population `json:"population,omitempty"`

	DBQueryReduction *float64 `json:"db_query_reduction,omitempty"` // 1 - cache per-request / nocache per-request; both modes only
	Speedup          *Speedup `json:"speedup,omitempty"`            // nocache / cache latency; both modes only
	NoCache          *Figures `json:"nocache,omitempty"`
	// CapacityRatio is the cache's capacity over the no-cache one (capacity_search.rps_held
	// of each mode): what the cache multiplies capacity by. Both modes of a capacity search only.
	CapacityRatio *float64 `json:"capacity_ratio,omitempty"`

	// Count is how many times the measured window was repeated (bench run -count N; modes
	// interleaved). The figures above are the median repeat's; Samples keep every repeat.
	Count int `json:"count,omitempty"`
	// Samples holds each repeat's value of the gated metrics, keyed by threshold path
	// ("latency.p99", "hit_rate.tier", "db_queries.per_request", "errors", …; no-cache
	// figures under "nocache.…"), in repeat order. bench gate compares these with a baseline's.
	Samples map[string][]float64 `json:"samples,omitempty"`

	// Shard is set on one shard of a distributed run (bench run -shard i/N).
	Shard *Shard `json:"shard,omitempty"`
	// Shards is how many shard runs bench merge combined into this one; 0 for a plain run.
	Shards int `json:"shards,omitempty"`
	// CrossChecks gathers every mode's and repeat's cross-checks (a disagreement in any
	// repeat is kept); thresholds gate on cross_checks.all_agree.
	CrossChecks *CrossChecks `json:"cross_checks,omitempty"`

	Thresholds []Threshold `json:"thresholds"`
	Pass       bool        `json:"pass"`
}

// Shard says which part of a distributed run a run directory holds; bench merge checks that
// the parts belong together.
type Shard struct {
	Index int   `json:"index"` // 1-based
	Count int   `json:"count"`
	Seed  int64 `json:"seed"` // the scenario's seed: the plan the shards split
	// StartAt is the agreed start of the measured window (-start-at); zero when not given.
	StartAt time.Time `json:"start_at,omitzero"`
	// LateS is how many seconds after StartAt this shard's measured window started.
	LateS float64 `json:"late_s,omitempty"`
}

// CacheConfig is a run's effective cache config, as far as the reports need it.
type CacheConfig struct {
	// Enabled is whether the config caches anything.
	Enabled bool `json:"enabled"`
	// TTLSeconds is each tier's base TTL per class, in seconds (classes not cached left out).
	TTLSeconds map[string]map[string]float64 `json:"ttl_s,omitempty"`
}

// Env describes where the run happened.
type Env struct {
	Go           string `json:"go"`
	CPUs         int    `json:"cpus"`
	OS           string `json:"os"`
	RedisBackend string `json:"redis_backend"` // process, docker, embedded, external
	DB           string `json:"db"`            // sqlite or postgres
	Git          string `json:"git,omitempty"`
	Target       string `json:"target,omitempty"` // set when -target drove an external server
	// TargetMode is the mode a -target server said it runs in (cache or nocache).
	TargetMode Mode `json:"target_mode,omitempty"`
}

// String is the environment on one line, for the foot of a page:
// "go1.26.8 · linux/amd64 · 2 CPUs · Redis process · DB sqlite · git 3f9c2ab".
func (e Env) String() string {
	var parts []string
	add := func(label, v string) {
		if v != "" {
			parts = append(parts, label+v)
		}
	}
	add("", e.Go)
	add("", e.OS)
	if e.CPUs > 0 {
		parts = append(parts, fmt.Sprintf("%d CPUs", e.CPUs))
	}
	add("Redis ", e.RedisBackend)
	add("DB ", e.DB)
	add("git ", e.Git)
	add("target ", e.Target)
	return strings.Join(parts, " · ")
}

// Figures are one mode's measurements over the measured window (warm-up excluded).
type Figures struct {
	// Mode is ModeCache or ModeNoCache. summary.json does not repeat it: Read derives it
	// from Summary.Mode (and Env.TargetMode), and NoCache's is ModeNoCache.
	Mode Mode `json:"-"`
	// Repeat says which repeat these figures are (1-based) when the run had several
	// (-count N): the one whose p50 latency is the median. 0 with a single repeat.
	Repeat              int                   `json:"repeat,omitempty"`
	Requests            int64                 `json:"requests"`
	Rate                Rate                  `json:"rate"`
	SuccessRatio        float64               `json:"success_ratio"`
	Errors              int64                 `json:"errors"`
	ErrorsByKind        map[string]int64      `json:"errors_by_kind,omitempty"` // e.g. "transport", "5xx", "unexpected 404"
	Latency             Latency               `json:"latency_ms"`               // from the intended send time
	ServiceTime         Latency               `json:"service_time_ms"`          // from the actual send
	ByEndpoint          map[string]Endpoint   `json:"by_endpoint"`
	HitRate             HitRate               `json:"hit_rate"`
	HitRateHeaders      *HitRate              `json:"hit_rate_headers,omitempty"` // the same from X-Cache headers seen
	DBQueries           DBQueries             `json:"db_queries"`
	Phases              []Phase               `json:"phases"`
	IsolationViolations int64                 `json:"isolation_violations"`
	StaleReads          int64                 `json:"stale_reads"`
	Examples            []Example             `json:"examples,omitempty"`    // first violations, for the report
	Series              *Series               `json:"series,omitempty"`      // per-second time series for the charts
	Percentiles         []PercentilePoint     `json:"percentiles,omitempty"` // HDR-style latency by percentile
	Extra               map[string]float64    `json:"extra,omitempty"`
	CacheStats          map[string]ClassStats `json:"cache_stats,omitempty"` // server counters over the window
	// Servers are the figures per server instance, when the run had several (scenario servers: N).
	Servers []Server `json:"servers,omitempty"`
	// Restarts are the graceful stops and restarts of instances in the window, in order.
	Restarts []Restart `json:"restarts,omitempty"`
	// RestartsTotal are Restarts added up (TotalRestarts).
	RestartsTotal *RestartTotals `json:"restarts_total,omitempty"`
	// Processes is the resident memory over time of every process of the run: the harness,
	// each server instance, each Redis node.
	Processes []ProcessRSS `json:"processes,omitempty"`
	// GC is the Go GC pause total of the harness and of each server instance over the attack.
	GC []GCPauses `json:"gc,omitempty"`
	// HarnessRSSMiB is the peak resident memory of the bench process itself (MiB).
	HarnessRSSMiB float64 `json:"harness_rss_mib,omitempty"`
	// Capacity is the Redis memory the cache used at the end of the window, per user and per class.
	Capacity *Capacity `json:"capacity,omitempty"`
	// CapacitySearch is what a capacity search found (rate shape search); nil otherwise.
	CapacitySearch *CapacitySearch `json:"capacity_search,omitempty"`
	// Warming is what the servers' warming at start loaded and how the requests fared while
	// it ran and after; nil when no instance warmed.
	Warming *Warming `json:"warming,omitempty"`
	// IsolationNA is why isolation could not be judged: no answer named an owner at the
	// run's owner pointer. A threshold on isolation_violations is then not applicable.
	IsolationNA string `json:"isolation_not_applicable,omitempty"`
	// RedisStats are Redis's own counters by window: "attack" (warm-up included, between
	// idle moments), "window" (the measured window) and each phase by name.
	RedisStats map[string]RedisStats `json:"redis_stats,omitempty"`
	// PGStats are PostgreSQL's own counters of the run's database over the attack.
	PGStats *PGStats `json:"pg_stats,omitempty"`
	// ServerLatency is the server's own latency histogram over the measured window.
	ServerLatency *ServerLatency `json:"server_latency_ms,omitempty"`
	// CrossChecks are this mode's figures checked by second witnesses; summary.json keeps
	// them in Summary.CrossChecks (every mode and repeat together).
	CrossChecks []CrossCheck `json:"-"`
	// Redis is the Redis the cache mode ran on, as the harness saw it at the end of the
	// mode; nil in no-cache mode and against a -target.
	Redis *Redis `json:"redis,omitempty"`
	// RedisMemory is the run's Redis memory over time, its evictions and the garbage left in it;
	// nil when the run had no Redis of its own to read.
	RedisMemory *RedisMemory `json:"redis_memory,omitempty"`
	// HitRateIdeal is, per class, the hit rate an ideal cache would reach on the requests this
	// run executed (same TTLs, same invalidate-on-write rules, no faults, no capacity limit).
	HitRateIdeal *HitRate `json:"hit_rate_ideal,omitempty"`
	// CacheEfficiency is, per class, hit_rate ÷ hit_rate_ideal (0 when the ideal is 0).
	CacheEfficiency *HitRate `json:"cache_efficiency,omitempty"`
	// ClientCache is what the devices' HTTP caches did (scenario clients with cache: true).
	ClientCache *ClientCache `json:"client_cache,omitempty"`
	// StaleMaxS is how long before the stalest read was sent the write it missed had been
	// acknowledged (seconds); absent without stale reads.
	StaleMaxS float64 `json:"stale_max_s,omitempty"`
	// LatencyHits is the latency (from the intended send time) of the GETs answered wholly
	// from the cache: the tier lookup and the route's own lookup both hits. Nil without any.
	LatencyHits *Latency `json:"latency_hits_ms,omitempty"`
	// CacheEfficiencySteady is the same over the steady phase alone: its hit rate ÷ the ideal
	// cache's over the same seconds. In a fault scenario the whole window's efficiency mostly
	// measures the fault (the ideal cache has none); this one measures the cache.
	CacheEfficiencySteady *HitRate `json:"cache_efficiency_steady,omitempty"`
	// GeneratorHealth is how healthy the load generator and its machine were over the
	// window; nil when not sampled (a merged run's).
	GeneratorHealth *GeneratorHealth `json:"generator_health,omitempty"`
}

// RedisMemory is the memory of the run's Redis: sampled every few seconds, with the
// evictions its maxmemory caused and the share of entries left on dead generations.
type RedisMemory struct {
	MaxMemoryBytes int64  `json:"maxmemory_bytes"` // 0: no limit
	Policy         string `json:"maxmemory_policy,omitempty"`
	UsedBytes      int64  `json:"used_bytes"`   // used_memory at the end of the window
	PeakBytes      int64  `json:"peak_bytes"`   // the largest sample
	EvictedKeys    int64  `json:"evicted_keys"` // keys evicted during the run (evicted_keys delta)
	// SampledEntries and DeadShare: cache entries among random keys drawn at the end of the
	// window, and the share of them tagged with generations that are no longer current.
	SampledEntries int           `json:"sampled_entries"`
	DeadShare      float64       `json:"dead_share"`
	Series         []MemoryPoint `json:"series,omitempty"`
}

// MemoryPoint is one sample of RedisMemory.
type MemoryPoint struct {
	T           float64 `json:"t_s"` // seconds from the end of warm-up (negative during it)
	UsedBytes   int64   `json:"used_bytes"`
	EvictedKeys int64   `json:"evicted_keys"` // since the first sample
}

// Server is one instance's share of a run: the requests the driver sent to it.
type Server struct {
	Server   int     `json:"server"` // 1-based instance number, as in faults' server: N
	URL      string  `json:"url,omitempty"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	P99      float64 `json:"p99_ms"`
	// HitRate is the share of cache lookups that hit among the answers of this instance
	// (X-Cache and X-Atlas-Tier-Cache headers); -1 when it made none.
	HitRate float64 `json:"hit_rate"`
	// RSSMiB is the instance's peak resident memory (MiB); 0 when unknown.
	RSSMiB float64 `json:"rss_mib,omitempty"`
}

// Population is what the database was seeded with, and how long seeding took.
type Population struct {
	Users         int     `json:"users"`
	Conversations int     `json:"conversations"` // per user
	Messages      int     `json:"messages"`      // per conversation
	SeedingS      float64 `json:"seeding_s"`     // the first instance's seeding time
}

// Warming is what the server instances' warming at start did (docs/CACHE-CONFIG.md,
// warming) and the requests' figures before and after it ended.
type Warming struct {
	// Instances is how many instances said their warming ended.
	Instances int `json:"instances"`
	// Active is the active population one instance was to warm; Users the most users one
	// instance warmed (every instance warms the same users, most active first).
	Active int `json:"active"`
	Users  int `json:"users"`
	// Keys and Bytes are the entries every instance wrote (SET NX that took) and their
	// estimated memory (key + value + 64 bytes each).
	Keys  int   `json:"keys"`
	Bytes int64 `json:"bytes"`
	// TookS is the longest instance's warming; OpsPerS its Redis commands per second
	// (every instance's commands over the longest time), OpsPerSLimit the pace each was held to.
	TookS        float64 `json:"took_s"`
	OpsPerS      float64 `json:"ops_per_s"`
	OpsPerSLimit int     `json:"ops_per_s_limit"`
	// Stopped is why the last instance's warming ended: done, budget or deadline; or
	// WarmRunning when an instance's had not ended by the end of the window.
	Stopped string `json:"stopped"`
	// DoneS is when the last instance's warming ended, in seconds from the start of the
	// measured window (negative: during the warm-up); nil when it had not by the end.
	DoneS *float64 `json:"done_s"`
	// During and After are the measured window's seconds before DoneS and from it (whole
	// seconds); nil when that part of the window is empty.
	During *WarmingWindow `json:"during,omitempty"`
	After  *WarmingWindow `json:"after,omitempty"`
}

// WarmRunning is Warming.Stopped when an instance was still warming at the end of the window.
const WarmRunning = "running"

// WarmingWindow is the figures of part of the measured window, before or after warming ended.
type WarmingWindow struct {
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// HitRate is the servers' counters' hit rate over the window, HitRateIdeal the ideal
	// cache's over the same seconds, Efficiency their ratio.
	HitRate      HitRate `json:"hit_rate"`
	HitRateIdeal HitRate `json:"hit_rate_ideal"`
	Efficiency   HitRate `json:"cache_efficiency"`
	// LatencyP99MaxMS is the highest per-second p99 latency of the window (the live view's p99).
	LatencyP99MaxMS float64 `json:"latency_p99_max_ms"`
}

// Capacity is the Redis memory of the cache and its extrapolation to larger populations.
type Capacity struct {
	UsedMemoryBytes  int64              `json:"used_memory_bytes"`   // INFO memory used_memory at the end of the window
	BaselineBytes    int64              `json:"baseline_bytes"`      // used_memory with no keys (INFO used_memory_startup)
	Keys             int64              `json:"keys"`                // DBSIZE
	CachedUsers      int64              `json:"cached_users"`        // distinct users with at least one key
	KeysPerUser      float64            `json:"keys_per_user"`       // keys / cached users
	BytesPerUser     float64            `json:"bytes_per_user"`      // (used - baseline) / cached users
	SampledKeys      int                `json:"sampled_keys"`        // keys whose MEMORY USAGE was read
	BytesPerKeyClass map[string]float64 `json:"bytes_per_key_class"` // mean MEMORY USAGE per key, by class (tier, userProfile, conversations, apiResponses, gen)
	// Extrapolated is the Redis memory for a larger population with the same share of users
	// cached as this run (cached users / seeded users), keyed by population ("1M", "10M").
	Extrapolated map[string]int64 `json:"extrapolated_bytes"`
	HitRate      float64          `json:"hit_rate"` // the overall hit rate the figures were measured at
}

// Redis describes the Redis of a run: its topology and each node at the end.
type Redis struct {
	Topology Topology    `json:"topology"`
	Nodes    []RedisNode `json:"nodes,omitempty"`
	// SlotRanges are a cluster's cache lookups per slot range (a master and its replicas)
	// over the measured window, from the X-Cache headers and each user's hash slot.
	SlotRanges []SlotRange `json:"slot_ranges,omitempty"`
}

// SlotRange is one Redis Cluster slot range's share of the cache lookups (X-Cache headers of
// the measured GETs whose user's keys live in it). A slot range is what Redis calls a
// shard; "shard" here is always a slice of the load (bench run -shard i/N).
type SlotRange struct {
	Name        string  `json:"name"`  // slots-1 … (slot range N is master-N's)
	Slots       string  `json:"slots"` // "0-5460"
	Lookups     int64   `json:"lookups"`
	HitRate     float64 `json:"hit_rate"`
	BypassShare float64 `json:"bypass_share"` // share of lookups answered BYPASS
	// BackAfterS, in a fault phase, is the time from the fault's START until the first second
	// whose hit rate is back within 10% of the slot range's steady level after falling below it
	// (0: it never fell); absent when it was not back by the next fault or the end of the run.
	// Named apart from Phase.RecoveryS, which counts from the fault's end: a slot range's outage
	// is over when its replica takes over, not when the harness restarts the killed node.
	BackAfterS *float64 `json:"back_after_s,omitempty"`
}

// Topology kinds.
const (
	TopologySingle  = "single"
	TopologyCluster = "cluster"
)

// Topology is the shape of the Redis: one server, or a cluster of Masters slot ranges (masters) with
// Replicas replicas each.
type Topology struct {
	Kind     string `json:"kind"` // TopologySingle or TopologyCluster
	Masters  int    `json:"masters"`
	Replicas int    `json:"replicas"` // per master
}

// RedisNode is one Redis server at the end of the run.
type RedisNode struct {
	Name    string `json:"name"`    // "redis" for a single server; master-1…, replica-1… (roles at creation) in a cluster
	Address string `json:"address"` // host:port clients used (a cluster node's fault proxy)
	Role    string `json:"role"`    // master or replica now
	Up      bool   `json:"up"`
	Keys    int64  `json:"keys"`
	// UsedMemory is INFO memory's used_memory, in bytes.
	UsedMemory int64 `json:"used_memory_bytes"`
}

// Rate is the target and achieved request rate in requests per second.
type Rate struct {
	Target   float64 `json:"target"`
	Achieved float64 `json:"achieved"`
	// Kept is false when the load generator fell behind the schedule by more than 5%.
	Kept bool `json:"kept"`
	// ClosedLoopWorkers is N for `rate: {shape: max, workers: N}`: no schedule (Target 0), N
	// requests in flight as fast as the server answers; latency is then the service time.
	ClosedLoopWorkers int `json:"closed_loop_workers,omitempty"`
	// MaxLagS is how far behind its schedule the latest-sent request went out, at worst, in
	// seconds (scheduled runs).
	MaxLagS float64 `json:"max_lag_s,omitempty"`
	// CutOff is true when the run stopped sending because it fell more than the bound
	// (bench run -max-lag, default 10 s) behind its schedule; the figures cover the window up
	// to the cut, and Dropped counts the scheduled requests of the window never sent.
	CutOff  bool  `json:"cut_off,omitempty"`
	Dropped int64 `json:"dropped,omitempty"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Endpoint is the figures of one route, keyed by "METHOD /path/{pattern}".
type Endpoint struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Latency  Latency `json:"latency_ms"`
	HitRate  float64 `json:"hit_rate"` // share of X-Cache: HIT
}

// HitRate is the share of cache lookups that hit, per class, from the server's counters.
// A class with no lookups is 0.
type HitRate struct {
	Tier          float64 `json:"tier"`
	UserProfile   float64 `json:"userProfile"`
	Conversations float64 `json:"conversations"`
	APIResponses  float64 `json:"apiResponses"`
	Overall       float64 `json:"overall"`
}

// ClassStats are a cache class's server counters.
type ClassStats = atlas.ClassStats

// DBQueries are the server's DB query counters over the measured window.
type DBQueries struct {
	Total      uint64            `json:"total"`
	PerRequest float64           `json:"per_request"`
	ByClass    map[string]uint64 `json:"by_class"`
}

// Speedup is how many times faster the cache mode was than the no-cache mode.
type Speedup struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
}

// Phase is a window of the run: steady, or a fault window and the recovery after it.
type Phase struct {
	Name     string  `json:"name"`
	Fault    string  `json:"fault,omitempty"` // the verb that opened it
	StartS   float64 `json:"start_s"`         // seconds from the end of warm-up
	EndS     float64 `json:"end_s"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Latency  Latency `json:"latency_ms"`
	HitRate  HitRate `json:"hit_rate"`
	// RecoveryS is the time from the end of the fault until the overall hit rate is back within
	// 10% of its level before the fault; nil when it did not recover within the run.
	RecoveryS *float64 `json:"recovery_s,omitempty"`
	DBQPSPeak float64  `json:"db_qps_peak,omitempty"`
	// SlotRanges, on a Redis Cluster, are each slot range's lookups over a fault phase and
	// the time its hit rate took to come back.
	SlotRanges []SlotRange `json:"slot_ranges,omitempty"`
}

// Example is one checker finding, kept for the report.
type Example struct {
	Kind     string  `json:"kind"` // isolation, stale, tier
	Request  string  `json:"request"`
	Expected string  `json:"expected"`
	Got      string  `json:"got"`
	AtS      float64 `json:"at_s"`
}

// Series are per-second samples over the measured window (index i covers [i, i+1) s).
type Series struct {
	LatencyP50 []float64            `json:"latency_p50_ms"`
	LatencyP99 []float64            `json:"latency_p99_ms"`
	LatencyMax []float64            `json:"latency_max_ms"`
	RPS        []float64            `json:"rps"`
	Errors     []float64            `json:"errors"`
	HitRate    map[string][]float64 `json:"hit_rate"` // per class and "overall"; NaN-free: -1 when no lookups
	// HitRateBySlotRange is the per-second hit rate of each Redis Cluster slot range ("slots-1": …); -1 when no lookups.
	HitRateBySlotRange map[string][]float64 `json:"hit_rate_by_slot_range,omitempty"`
	DBQPS              []float64            `json:"db_qps"`
	Faults             []FaultMark          `json:"faults,omitempty"`
}

// FaultMark is a fault window to shade in the charts, in seconds from the end of warm-up.
type FaultMark struct {
	Name   string  `json:"name"`
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
}

// PercentilePoint is one point of an HDR-style percentile curve.
type PercentilePoint struct {
	Percentile float64 `json:"p"` // percent, 0–100
	LatencyMS  float64 `json:"ms"`
}

// Threshold is one evaluated CI-gate expression.
type Threshold struct {
	Expr  string  `json:"expr"`
	Value float64 `json:"value"`
	Pass  bool    `json:"pass"`
	Error string  `json:"error,omitempty"`
	// NotApplicable, when set, says why the run's mode cannot produce the threshold's figure
	// (db_query_reduction without -mode both, say); such a threshold neither passes nor
	// fails the run (Pass is true, Value 0).
	NotApplicable string `json:"not_applicable,omitempty"`
	// NotJudged, when set, says why the threshold was not judged: the run was interrupted, so
	// Value is what was measured until then and Pass is false without the run having failed.
	NotJudged string `json:"not_judged,omitempty"`
	// Inconclusive, when set, says why a latency threshold was not judged: the generator
	// was saturated (Summary.Inconclusive). Value is what was measured; Pass is false
	// without the run having failed (bench run exits 4 when nothing else failed).
	Inconclusive string `json:"inconclusive,omitempty"`
}

// Write stores s as dir/summary.json (indented, atomically).
func Write(dir string, s *Summary) error {
	if s.Schema == "" {
		s.Schema = Schema
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: encode: %w", err)
	}
	err = atomicfile.Write(filepath.Join(dir, FileName), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return nil
}

// Read loads a summary from a run directory or a summary.json path and checks its schema.
func Read(path string) (*Summary, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, FileName)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("summary: %s: %w", position(path, data, err), err)
	}
	switch s.Schema {
	case Schema:
	case SchemaV1:
		if err := s.fromV1(data); err != nil {
			return nil, fmt.Errorf("summary: %s: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("summary: %s: schema %q, want %q (or %q)", path, s.Schema, Schema, SchemaV1)
	}
	if s.Scenario == "" {
		return nil, errors.New("summary: " + path + ": no scenario")
	}
	s.deriveModes()
	return &s, nil
}

// SchemaJSON is the JSON Schema (draft-07) of summary.json, for users who validate runs in CI.
//
//go:embed schema.json
var SchemaJSON []byte

// position names where in data a JSON decoding error is: "path:line:col" (1-based) for a
// syntax or type error, else path alone.
func position(path string, data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &syn):
		off = syn.Offset - 1 // Offset is just after the offending byte
	case errors.As(err, &typ):
		off = typ.Offset
	default:
		return path
	}
	off = min(max(off, 0), int64(len(data)))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Sprintf("%s:%d:%d", path, line, col)
}

// ProcessRSS is one process's resident memory over the attack, sampled every EveryS seconds
// from the start of the attack (warm-up included).
type ProcessRSS struct {
	Name    string    `json:"name"` // harness, server-1, …, redis
	EveryS  float64   `json:"every_s"`
	PeakMiB float64   `json:"peak_mib"`
	RSSMiB  []float64 `json:"rss_mib"`
}

// GCPauses is one Go process's GC work over an attack.
type GCPauses struct {
	Process string  `json:"process"`
	Count   int64   `json:"count"`    // collections
	PauseMS float64 `json:"pause_ms"` // total stop-the-world pause
}
