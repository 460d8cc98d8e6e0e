package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// TestParseErrors feeds bad files and compares the whole error text: every problem of a
// file at once, in line order, each FILE:LINE: FIELD: PROBLEM.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		source string
		yaml   string
		want   string
	}{
		{
			name:   "misspelt field and a duration in words",
			source: "x.yaml",
			yaml: `name: t
durration: 10s
duration: "10 sec"
rate: {rps: 10}
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: `x.yaml:2: unknown field "durration" (did you mean "duration"?)
x.yaml:3: duration: "10 sec" is not a duration (want e.g. 30s, 1m)`,
		},
		{
			name:   "mix: unknown route, bad weights, bad request text, query on a write, bad status",
			source: "scenarios/bad.yaml",
			yaml: `duration: 10s
rate: 50
mix:
  - {req: "GET /api/nope", weight: 1}
  - {req: "GET /api/me", weight: -1}
  - {req: "GET /api/me/tier", weight: 0}
  - {req: "DELETE", weight: 1}
  - {req: "POST /api/conversations?x=1", weight: 1}
  - {req: "GET /api/me", weight: 1, expect: [200, 700]}
  - {req: "GET /api/me", weight: abc, extra: 1}
  - {weight: 1}
`,
			want: `scenarios/bad.yaml:4: mix[0].req: unknown route "GET /api/nope" (known: GET /api/me, GET /api/me/tier, PUT /api/me/tier, GET /api/conversations, POST /api/conversations, GET /api/conversations/{id}/messages, POST /api/conversations/{id}/messages)
scenarios/bad.yaml:5: mix[1].weight: must be > 0
scenarios/bad.yaml:6: mix[2].weight: must be > 0
scenarios/bad.yaml:7: mix[3].req: "DELETE" is not "METHOD /path" (e.g. "GET /api/me/tier")
scenarios/bad.yaml:8: mix[4].req: a query is only allowed on GET routes
scenarios/bad.yaml:9: mix[5].expect[1]: 700 is not an HTTP status (100-599)
scenarios/bad.yaml:10: mix[6]: unknown field "extra"
scenarios/bad.yaml:10: mix[6].weight: "abc" is not a number
scenarios/bad.yaml:11: mix[7].req: required (e.g. "GET /api/me/tier"), or attack: KIND instead`,
		},
		{
			name:   "rate: unknown shape",
			source: "x.yaml",
			yaml: `duration: 10s
rate: {shape: square, rps: 10}
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: `x.yaml:2: rate.shape: "square" is not one of constant, linear, sine, steps, max, search`,
		},
		{
			name:   "rate: max without workers, with an rps",
			source: "x.yaml",
			yaml: `duration: 10s
rate: {shape: max, rps: 10}
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: "x.yaml:2: rate.rps: not a field of shape max (it takes workers)\nx.yaml:2: rate.workers: required for shape max",
		},
		{
			name:   "rate: max with zero workers",
			source: "x.yaml",
			yaml: `duration: 10s
rate: {shape: max, workers: 0}
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: "x.yaml:2: rate.workers: must be between 1 and 10000, got 0",
		},
		{
			name:   "rate: a field of another shape, and a missing one",
			source: "x.yaml",
			yaml: `duration: 10s
rate:
  shape: linear
  from: 10
  rps: 5
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: `x.yaml:2: rate.to: required for shape linear
x.yaml:5: rate.rps: not a field of shape linear (it takes from, to)`,
		},
		{
			name:   "rate: sine amplitude above the mean, no period",
			source: "x.yaml",
			yaml: `duration: 10s
rate: {shape: sine, mean: 10, amp: 20, period: 0s}
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: `x.yaml:2: rate.amp: must not exceed mean (10), or the rate would go below 0
x.yaml:2: rate.period: must be > 0, got 0s`,
		},
		{
			name:   "rate: steps without for before the last, a negative rate",
			source: "x.yaml",
			yaml: `duration: 10s
rate:
  shape: steps
  steps:
    - {rps: 10}
    - {rps: -5, for: 2s}
    - {rps: 20}
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: `x.yaml:5: rate.steps[0].for: required (only the last step may leave it out: it holds until the end)
x.yaml:6: rate.steps[1].rps: must be >= 0 and <= 1e+06, got -5`,
		},
		{
			name:   "rate: all steps idle, linear from and to 0",
			source: "x.yaml",
			yaml: `duration: 10s
rate: {shape: steps, steps: [{rps: 0, for: 1s}, {rps: 0}]}
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: `x.yaml:2: rate.steps: every step has rps 0: nothing would be sent`,
		},
		{
			name:   "keys: unknown distribution",
			source: "x.yaml",
			yaml: `duration: 10s
rate: 10
keys: {distribution: pareto}
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: `x.yaml:3: keys.distribution: "pareto" is not one of uniform, zipf, hotspot`,
		},
		{
			name:   "keys: zipf exponent 0, a hotspot field on zipf",
			source: "x.yaml",
			yaml: `duration: 10s
rate: 10
keys: {distribution: zipf, s: 0, share: 0.5}
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: `x.yaml:3: keys.share: not a field of distribution zipf (it takes s)
x.yaml:3: keys.s: must be a finite number > 0, got 0`,
		},
		{
			name:   "keys: hotspot fraction and share outside (0,1)",
			source: "x.yaml",
			yaml: `duration: 10s
rate: 10
keys:
  distribution: hotspot
  fraction: 1.5
  share: 0
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: `x.yaml:5: keys.fraction: must be in (0, 1), got 1.5
x.yaml:6: keys.share: must be in (0, 1), got 0`,
		},
		{
			name:   "population: no users, tiers summing to 0, an unknown tier, {id} without conversations",
			source: "x.yaml",
			yaml: `duration: 10s
rate: 10
population:
  users: 0
  tiers: {free: 0, core: 0, gold: 1}
  conversations: 0
  messages: 1.5
mix: [{req: "GET /api/conversations/{id}/messages?limit=20", weight: 1}]
`,
			want: `x.yaml:4: population.users: must be between 1 and 1000000, got 0
x.yaml:5: population.tiers: unknown field "gold"
x.yaml:5: population.tiers: shares must sum to > 0
x.yaml:6: population.conversations: must be between 1 and 1000, got 0 (the mix uses {id}, one of the caller's conversations)
x.yaml:7: population.messages: "1.5" is not a whole number`,
		},
		{
			name:   "faults: unknown verb, beyond the duration, out of order, verb fields",
			source: "x.yaml",
			yaml: `duration: 30s
rate: 10
mix: [{req: "GET /api/me", weight: 1}]
faults:
  - {at: 10s, do: reboot-redis}
  - {at: 40s, do: kill-redis, latency: 5ms}
  - {at: 20s, do: flap-redis}
  - {at: 25s, do: slow-redis, period: 1s}
  - {do: heal-redis}
`,
			want: `x.yaml:5: faults[0].do: "reboot-redis" is not one of kill-redis, start-redis, slow-redis, partition-redis, refuse-redis, heal-redis, flap-redis, flush-redis, kill-server, start-server, failover, lag-replica, stop-server, restart-server, rolling-restart
x.yaml:6: faults[1].at: 40s is beyond duration 30s (offsets count from the end of warm-up)
x.yaml:6: faults[1].latency: only for slow-redis
x.yaml:7: faults[2].at: 20s is before faults[1].at (40s): list faults in time order
x.yaml:7: faults[2].period: must be > 0 for flap-redis, got 0s
x.yaml:8: faults[3].latency: must be > 0 for slow-redis, got 0s
x.yaml:8: faults[3].period: only for flap-redis
x.yaml:9: faults[4].at: required (an offset from the end of warm-up, e.g. 20s)`,
		},
		{
			name:   "redis: a cluster out of range, unknown persistence, nodes it does not have",
			source: "x.yaml",
			yaml: `duration: 30s
rate: 10
mix: [{req: "GET /api/me", weight: 1}]
redis: {cluster: {masters: 0, replicas: 1, nodeTimeout: 10ms}, persistence: rdb}
faults:
  - {at: 1s, do: kill-redis, node: master-4}
  - {at: 2s, do: kill-redis, node: replica-2}
  - {at: 3s, do: failover}
  - {at: 4s, do: refuse-redis, node: "master-01"}
  - {at: 5s, do: lag-replica}
  - {at: 6s, do: lag-replica, node: master-1}
`,
			want: `x.yaml:4: redis.persistence: "rdb" is not one of none, aof
x.yaml:4: redis.cluster.masters: must be 1…16, got 0
x.yaml:4: redis.cluster.nodeTimeout: must be >= 100ms, got 10ms
x.yaml:6: faults[0].node: "master-4": the cluster has 0 masters
x.yaml:7: faults[1].node: "replica-2": the cluster has 0 replicas
x.yaml:8: faults[2].node: required for failover (the shard's master or the replica to promote, e.g. master-1)
x.yaml:9: faults[3].node: "master-01" is not a node name (want master-N or replica-N)
x.yaml:10: faults[4].node: required for lag-replica (the replica that falls behind, e.g. replica-1)
x.yaml:11: faults[5].node: lag-replica acts on a replica (replica-N), got "master-1"`,
		},
		{
			name:   "redis: unknown fields",
			source: "x.yaml",
			yaml: `duration: 30s
rate: 10
mix: [{req: "GET /api/me", weight: 1}]
redis: {cluster: {shards: 3}, aof: true}
`,
			want: `x.yaml:4: redis: unknown field "aof"
x.yaml:4: redis.cluster: unknown field "shards"`,
		},
		{
			name:   "negative durations, a bad seed, an empty threshold",
			source: "x.yaml",
			yaml: `seed: x
warmup: -1s
duration: -10s
rate: 10
mix: [{req: "GET /api/me", weight: 1}]
db: {latency: -5ms, jitter: 1ms}
thresholds: ["errors == 0", "", "hit_rate.tier 0.8"]
`,
			want: `x.yaml:1: seed: "x" is not a whole number
x.yaml:2: warmup: must be >= 0, got -1s
x.yaml:3: duration: must be > 0, got -10s
x.yaml:6: db.latency: must be >= 0, got -5ms
x.yaml:7: thresholds[1]: is empty (want e.g. "errors == 0")
x.yaml:7: thresholds[2]: "hit_rate.tier 0.8" has no comparison (want e.g. "errors == 0")`,
		},
		{
			name:   "nothing required is there",
			source: "x.yaml",
			yaml:   "name: t\ndescription: nothing else\n",
			want: `x.yaml:1: duration: required (e.g. 60s)
x.yaml:1: rate: required (e.g. {shape: constant, rps: 100})
x.yaml:1: mix: required (e.g. [{req: "GET /api/me/tier", weight: 1}])`,
		},
		{
			name:   "empty mix, a name that cannot be a directory",
			source: "x.yaml",
			yaml: `name: "my scenario"
duration: 10s
rate: 10
mix: []
`,
			want: `x.yaml:1: name: "my scenario" must be 1-64 letters, digits, '.', '_' or '-'
x.yaml:4: mix: must have at least one entry`,
		},
		{
			name:   "a field twice, a list where a mapping belongs",
			source: "x.yaml",
			yaml: `duration: 10s
rate: 10
duration: 20s
db: [5ms]
mix: [{req: "GET /api/me", weight: 1}]
`,
			want: `x.yaml:3: duplicate field "duration" (first at line 1)
x.yaml:4: db: want a mapping, got a list`,
		},
		{
			name:   "a built-in names its embedded file",
			source: "builtin:broken",
			yaml: `duration: 10s
rate: 10
mix: [{req: "GET /api/me", weight: 0}]
`,
			want: `scenarios/broken.yaml:3: mix[0].weight: must be > 0`,
		},
		{
			name:   "YAML syntax error",
			source: "x.yaml",
			yaml:   "duration: 10s\nrate: {rps: 10\nmix: []\n",
			want:   `x.yaml:2: did not find expected ',' or '}'`, // the line where the unclosed mapping begins
		},
		{
			name:   "YAML syntax error on line 1, reported without a line by the parser",
			source: "x.yaml",
			yaml:   "duration: 10s: 5\n",
			want:   `x.yaml:1: mapping values are not allowed in this context`,
		},
		{
			name:   "YAML scanner error",
			source: "x.yaml",
			yaml:   "duration: 10s\n  rate: 10\n",
			want:   `x.yaml:2: mapping values are not allowed in this context`,
		},
		{
			name:   "empty file",
			source: "x.yaml",
			yaml:   "",
			want:   `x.yaml:1: empty document (want a mapping with at least duration, rate and mix)`,
		},
		{
			name:   "a list instead of a scenario",
			source: "x.yaml",
			yaml:   "- duration: 10s\n",
			want:   `x.yaml:1: want a mapping of scenario fields (name, duration, rate, mix, …), got a list`,
		},
		{
			name:   "servers, pins and faults addressed to an instance",
			source: "x.yaml",
			yaml: `duration: 10s
rate: 10
servers: 2
pin: {writes: 3, reads: -1}
mix: [{req: GET /api/me, weight: 1}]
faults:
  - {at: 1s, do: flush-redis, server: 1}
  - {at: 2s, do: partition-redis, server: 5}
  - {at: 3s, do: kill-server}
`,
			want: `x.yaml:4: pin.writes: must name an instance 1…2 (servers: 2), or 0 for round-robin; got 3
x.yaml:4: pin.reads: must name an instance 1…2 (servers: 2), or 0 for round-robin; got -1
x.yaml:7: faults[0].server: only for slow-redis, partition-redis, refuse-redis, heal-redis, flap-redis, kill-server, start-server, stop-server, restart-server (flush-redis acts on the shared Redis)
x.yaml:8: faults[1].server: must name an instance 1…2 (servers: 2), got 5
x.yaml:9: faults[2].server: kill-server needs the instance it acts on (server: 1…2)`,
		},
		{
			name:   "clients: devices out of range, cache not a boolean, an unknown field",
			source: "x.yaml",
			yaml: `duration: 10s
rate: 10
mix: [{req: GET /api/me, weight: 1}]
clients: {devices: 17, cache: yes please, memory: 1}
`,
			want: `x.yaml:4: clients: unknown field "memory"
x.yaml:4: clients.cache: "yes please" is not true or false
x.yaml:4: clients.devices: must be 1…16 (0: one device), got 17`,
		},
		{
			name:   "deploy verbs and the deploy section",
			source: "x.yaml",
			yaml: `duration: 10s
rate: 10
servers: 3
mix: [{req: GET /api/me, weight: 1}]
deploy: {readyPeriod: 1s, shutdownDelay: 500ms, drainTimeout: -1s, fristWindow: 2s}
faults:
  - {at: 1s, do: restart-server}
  - {at: 2s, do: rolling-restart, server: 2, interval: -1s}
  - {at: 3s, do: stop-server, server: 1, interval: 1s}
`,
			want: `x.yaml:5: deploy: unknown field "fristWindow" (did you mean "firstWindow"?)
x.yaml:5: deploy.drainTimeout: must be >= 0 (0: the default), got -1s
x.yaml:5: deploy.shutdownDelay: 500ms must be longer than deploy.readyPeriod (1s): the balancer must notice that an instance is stopping before its listener closes
x.yaml:7: faults[0].server: restart-server needs the instance it acts on (server: 1…3)
x.yaml:8: faults[1].server: rolling-restart restarts every instance in turn (restart-server {server: N} restarts one)
x.yaml:8: faults[1].interval: must be >= 0, got -1s
x.yaml:9: faults[2].interval: only for rolling-restart`,
		},
		{
			name:   "thresholds: an aborting one misspelt, without its expression, a grace without abort, a bad grace",
			source: "x.yaml",
			yaml: `duration: 10s
rate: 10
mix: [{req: GET /api/me, weight: 1}]
thresholds:
  - {expr: "errors == 0", abrot: true}
  - {abort: true}
  - {expr: "stale_reads == 0", grace: 5s}
  - {expr: "errors == 0", abort: yes}
  - {expr: "errors == 0", abort: true, grace: -1s}
`,
			want: `x.yaml:5: thresholds[0]: unknown field "abrot" (did you mean "abort"?)
x.yaml:6: thresholds[1].expr: required (want e.g. {expr: "errors == 0", abort: true})
x.yaml:7: thresholds[2].grace: applies only with abort: true
x.yaml:8: thresholds[3].abort: "yes": want true or false
x.yaml:9: thresholds[4].grace: must be >= 0, got -1s`,
		},
		{
			name:   "two documents",
			source: "x.yaml",
			yaml:   "duration: 10s\nrate: 10\nmix: [{req: GET /api/me, weight: 1}]\n---\nname: second\n",
			want:   `x.yaml:4: only one YAML document is allowed`, // the line of the second document's ---
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.source, []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want:\n%s", s, tt.want)
			}
			if s != nil {
				t.Errorf("Parse returned a scenario with an error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 {
				t.Errorf("errors.As(*Error) = %v, %+v; want an *Error with a line", e != nil, e)
			}
		})
	}
}

// TestParseGood checks defaults, every field and every rate shape of valid files.
func TestParseGood(t *testing.T) {
	tests := []struct {
		name   string
		source string
		yaml   string
		want   Scenario // Source and lines are not compared
	}{
		{
			// Only the required fields: every default shows.
			name:   "defaults",
			source: "dir/my-test.yaml",
			yaml:   "duration: 1m30s\nrate: 25\nmix: [{req: GET /api/me/tier, weight: 2}]\n",
			want: Scenario{
				Name: "my-test", Seed: 1, Duration: 90 * time.Second,
				Rate:       Rate{Shape: ShapeConstant, RPS: 25},
				Population: Population{Users: 1000, Tiers: atlas.DefaultTierMix(), Conversations: 5, Messages: 40},
				Keys:       Keys{Distribution: DistUniform},
				Mix:        []MixEntry{{Req: "GET /api/me/tier", Method: "GET", Path: "/api/me/tier", Weight: 2, Expect: []int{200}}},
			},
		},
		{
			// Every field, linear rate, hotspot keys, a query, explicit expect, faults with parameters.
			name:   "everything",
			source: "x.yml",
			yaml: `name: all
description: All of it.
seed: -3
warmup: 250ms
duration: 10s
rate: {shape: linear, from: 0, to: 100.5}
population: {users: 10, tiers: {studio: 2}, conversations: 1, messages: 0}
keys: {distribution: hotspot, fraction: 0.2, share: 0.8}
mix:
  - {req: "get /api/conversations/{id}/messages?limit=20", weight: 0.5}
  - {req: "POST /api/conversations/{id}/messages", weight: 1, expect: 201}
  - {req: "POST /api/conversations", weight: 1}
db: {latency: 5ms, jitter: 1ms}
clients: {devices: 3, cache: true}
faults:
  - {at: 0s, do: slow-redis, latency: 100ms, jitter: 10ms}
  - {at: 2s, do: flap-redis, period: 1s}
  - {at: 10s, do: heal-redis}
thresholds:
  - errors == 0
  - "latency.p99 <= 50ms"
`,
			want: Scenario{
				Name: "all", Description: "All of it.", Seed: -3, Warmup: 250 * time.Millisecond, Duration: 10 * time.Second,
				Rate:       Rate{Shape: ShapeLinear, From: 0, To: 100.5},
				Population: Population{Users: 10, Tiers: atlas.TierMix{Studio: 2}, Conversations: 1, Messages: 0},
				Keys:       Keys{Distribution: DistHotspot, Fraction: 0.2, Share: 0.8},
				Mix: []MixEntry{
					{Req: "get /api/conversations/{id}/messages?limit=20", Method: "GET", Path: "/api/conversations/{id}/messages", Query: "limit=20", Weight: 0.5, Expect: []int{200}},
					{Req: "POST /api/conversations/{id}/messages", Method: "POST", Path: "/api/conversations/{id}/messages", Weight: 1, Expect: []int{201}},
					{Req: "POST /api/conversations", Method: "POST", Path: "/api/conversations", Weight: 1, Expect: []int{201}},
				},
				DB:      DBModel{Latency: 5 * time.Millisecond, Jitter: time.Millisecond},
				Clients: Clients{Devices: 3, Cache: true},
				Faults: []Fault{
					{At: 0, Do: FaultSlowRedis, Latency: 100 * time.Millisecond, Jitter: 10 * time.Millisecond},
					{At: 2 * time.Second, Do: FaultFlapRedis, Period: time.Second},
					{At: 10 * time.Second, Do: FaultHealRedis},
				},
				Thresholds: []string{"errors == 0", "latency.p99 <= 50ms"},
			},
		},
		{
			// Sine and zipf with s < 1 (allowed: the sampler is not math/rand's Zipf); null fields are absent.
			name:   "sine",
			source: "s.yaml",
			yaml: `duration: 10s
warmup:
rate: {shape: sine, mean: 100, amp: 100, period: 4s}
keys: {distribution: zipf, s: 0.8}
mix: [{req: PUT /api/me/tier, weight: 1}]
faults: []
`,
			want: Scenario{
				Name: "s", Seed: 1, Duration: 10 * time.Second,
				Rate:       Rate{Shape: ShapeSine, Mean: 100, Amp: 100, Period: 4 * time.Second},
				Population: Population{Users: 1000, Tiers: atlas.DefaultTierMix(), Conversations: 5, Messages: 40},
				Keys:       Keys{Distribution: DistZipf, S: 0.8},
				Mix:        []MixEntry{{Req: "PUT /api/me/tier", Method: "PUT", Path: "/api/me/tier", Weight: 1, Expect: []int{200}}},
				Faults:     []Fault{},
			},
		},
		{
			// Steps: the last step may leave out `for`; anchors and aliases are followed.
			name:   "steps and aliases",
			source: "st.yaml",
			yaml: `duration: 10s
rate: {shape: steps, steps: [{rps: 10, for: 2s}, {rps: 0, for: 1s}, {rps: 30}]}
mix:
  - &me {req: GET /api/me, weight: 1}
  - *me
`,
			want: Scenario{
				Name: "st", Seed: 1, Duration: 10 * time.Second,
				Rate:       Rate{Shape: ShapeSteps, Steps: []Step{{10, 2 * time.Second}, {0, time.Second}, {30, 0}}},
				Population: Population{Users: 1000, Tiers: atlas.DefaultTierMix(), Conversations: 5, Messages: 40},
				Keys:       Keys{Distribution: DistUniform},
				Mix: []MixEntry{
					{Req: "GET /api/me", Method: "GET", Path: "/api/me", Weight: 1, Expect: []int{200}},
					{Req: "GET /api/me", Method: "GET", Path: "/api/me", Weight: 1, Expect: []int{200}},
				},
			},
		},
		{
			name:   "max",
			source: "mx.yaml",
			yaml: `duration: 10s
rate: {shape: max, workers: 8}
mix: [{req: GET /api/me, weight: 1}]
`,
			want: Scenario{
				Name: "mx", Seed: 1, Duration: 10 * time.Second,
				Rate:       Rate{Shape: ShapeMax, Workers: 8},
				Population: Population{Users: 1000, Tiers: atlas.DefaultTierMix(), Conversations: 5, Messages: 40},
				Keys:       Keys{Distribution: DistUniform},
				Mix:        []MixEntry{{Req: "GET /api/me", Method: "GET", Path: "/api/me", Weight: 1, Expect: []int{200}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.source, []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if s.Source != tt.source {
				t.Errorf("Source = %q, want %q", s.Source, tt.source)
			}
			got := *s
			got.Source, got.lines = "", nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if err := s.Validate(); err != nil {
				t.Errorf("Validate after Parse: %v", err)
			}
		})
	}
}

// TestValidateAfterChange: a change in code (a -duration flag) is checked whole, and the
// problem still points at the file's line.
func TestValidateAfterChange(t *testing.T) {
	s, err := Parse("x.yaml", []byte("duration: 60s\nrate: 10\nmix: [{req: GET /api/me, weight: 1}]\nfaults:\n  - {at: 20s, do: kill-redis}\n  - {at: 30s, do: start-redis}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.Duration = 25 * time.Second
	want := "x.yaml:6: faults[1].at: 30s is beyond duration 25s (offsets count from the end of warm-up)"
	if err := s.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
	// A scenario built in code has no lines.
	code := &Scenario{Name: "c", Source: "flags", Duration: time.Second, Rate: Rate{RPS: 0}, Population: Population{Users: 1, Tiers: atlas.DefaultTierMix()}}
	want = "flags: rate.rps: must be > 0 and <= 1e+06, got 0\nflags: mix: must have at least one entry"
	if err := code.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
}

// TestBuiltins loads every built-in and holds it to the rules of the brief.
func TestBuiltins(t *testing.T) {
	infos := Builtins()
	var names []string
	for _, in := range infos {
		names = append(names, in.Name)
	}
	for _, want := range []string{"free", "core", "studio", "mixed", "redis-kill", "tier-change", "smoke",
		"redis-slow", "redis-partition", "redis-flap", "cold-restart"} {
		if !strings.Contains(","+strings.Join(names, ",")+",", ","+want+",") {
			t.Errorf("built-in %q missing (have %v)", want, names)
		}
	}
	for i, in := range infos {
		if i > 0 && infos[i-1].Name >= in.Name {
			t.Errorf("Builtins not sorted: %q before %q", infos[i-1].Name, in.Name)
		}
		t.Run(in.Name, func(t *testing.T) {
			s, err := Load(in.Name)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if s.Name != in.Name || s.Source != "builtin:"+in.Name {
				t.Errorf("Name, Source = %q, %q; want %q, builtin:%s", s.Name, s.Source, in.Name, in.Name)
			}
			if d := s.Description; d == "" || d != in.Description || !strings.HasSuffix(d, ".") || strings.Count(d, ". ") > 0 {
				t.Errorf("Description %q: want one sentence, the same as Builtins' (%q)", d, in.Description)
			}
			if len(s.Thresholds) == 0 {
				t.Errorf("no thresholds")
			}
			if s.DB.Latency != 5*time.Millisecond || s.DB.Jitter != time.Millisecond {
				t.Errorf("db = %+v, want 5ms ± 1ms", s.DB)
			}
			if n := s.Schedule().Hits(); n == 0 && !s.Rate.Searching() { // a search's steps are decided as it runs
				t.Errorf("schedule sends nothing")
			}
			raw, err := BuiltinYAML(in.Name)
			if err != nil || !strings.Contains(string(raw), "name: "+in.Name+"\n") {
				t.Errorf("BuiltinYAML: %v; want the file with name: %s", err, in.Name)
			}
		})
	}

	// The per-name promises.
	tier := map[string]atlas.TierMix{"free": {Free: 1}, "core": {Core: 1}, "studio": {Studio: 1}}
	for name, mix := range tier {
		s := mustLoad(t, name)
		if s.Population.Tiers != mix {
			t.Errorf("%s: tiers = %+v, want %+v", name, s.Population.Tiers, mix)
		}
		for _, m := range s.Mix {
			if m.Method == "PUT" && m.Path == "/api/me/tier" {
				t.Errorf("%s: PUT /api/me/tier would move users out of the tier", name)
			}
		}
	}
	smoke := mustLoad(t, "smoke")
	if smoke.Total() > 15*time.Second || smoke.Population.Users > 200 {
		t.Errorf("smoke: %s total, %d users; want <= 15s, <= 200", smoke.Total(), smoke.Population.Users)
	}
	for _, th := range []string{"hit_rate.tier >= 0.80", "errors == 0", "isolation_violations == 0", "stale_reads == 0", "db_query_reduction >= 0.40"} {
		if !strings.Contains(strings.Join(smoke.Thresholds, "\n"), th) {
			t.Errorf("smoke: threshold %q missing", th)
		}
	}
	mixed := mustLoad(t, "mixed")
	// make bench runs mixed in both modes within 2 minutes, setup included.
	if 2*mixed.Total() > 100*time.Second {
		t.Errorf("mixed: %s per mode, too long for make bench", mixed.Total())
	}
	if len(mixed.Faults) != 2 || mixed.Faults[0].Do != FaultKillRedis || mixed.Faults[1].Do != FaultStartRedis {
		t.Errorf("mixed: faults = %+v, want kill-redis then start-redis", mixed.Faults)
	}
	if mixed.Keys != (Keys{Distribution: DistZipf, S: 1.1}) || mixed.Population.Tiers != atlas.DefaultTierMix() {
		t.Errorf("mixed: keys %+v, tiers %+v", mixed.Keys, mixed.Population.Tiers)
	}
}

func mustLoad(t *testing.T, name string) *Scenario {
	t.Helper()
	s, err := Load(name)
	if err != nil {
		t.Fatalf("Load(%q): %v", name, err)
	}
	return s
}

// TestLoad covers files, unknown names and missing files.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(path, []byte("duration: 5s\nrate: 10\nmix: [{req: GET /api/me, weight: 1}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil || s.Name != "mine" || s.Source != path {
		t.Errorf("Load(file) = %+v, %v; want name mine, source %s", s, err, path)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("duration: 5s\nrate: 10\nmix: [{req: GET /api/me, weight: 0}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || err.Error() != bad+":3: mix[0].weight: must be > 0" {
		t.Errorf("Load(bad) = %v", err)
	}

	_, err = Load("nope")
	if err == nil || !strings.Contains(err.Error(), `scenario "nope": no built-in of that name`) || !strings.Contains(err.Error(), "mixed, redis-flap") {
		t.Errorf("Load(unknown name) = %v; want the list of built-ins", err)
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing file) = %v; want ErrNotExist", err)
	}
	if _, err := BuiltinYAML("nope"); err == nil {
		t.Errorf("BuiltinYAML(nope) succeeded")
	}
}

// TestRoutes checks the route table's promises.
func TestRoutes(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Routes() {
		key := r.Method + " " + r.Path
		if seen[key] {
			t.Errorf("route %s twice", key)
		}
		seen[key] = true
		if len(r.Expect) == 0 || r.Write != (r.Class == atlas.QueryWrites) {
			t.Errorf("route %s: %+v", key, r)
		}
		got, ok := LookupRoute(r.Method, r.Path)
		if !ok || !reflect.DeepEqual(got, r) {
			t.Errorf("LookupRoute(%s) = %+v, %v", key, got, ok)
		}
	}
	if len(seen) != 7 {
		t.Errorf("%d routes, want 7", len(seen))
	}
	// Routes returns fresh slices: a caller cannot change the table.
	Routes()[0].Expect[0] = 999
	if r, _ := LookupRoute("GET", "/api/me"); r.Expect[0] != 200 {
		t.Errorf("Routes shares its slices")
	}
}

// TestWithClientCaches: the variants keep the scenario and its devices (at least two) and
// differ only in the caches.
func TestWithClientCaches(t *testing.T) {
	s, err := Parse("x.yaml", []byte("duration: 10s\nrate: 10\nmix: [{req: GET /api/me, weight: 1}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	on, off := s.WithClientCaches(true), s.WithClientCaches(false)
	if on.Clients != (Clients{Devices: 2, Cache: true}) || off.Clients != (Clients{Devices: 2}) || s.Clients != (Clients{}) {
		t.Errorf("on %+v, off %+v, original %+v", on.Clients, off.Clients, s.Clients)
	}
	if on.Name != s.Name || on.Seed != s.Seed || len(on.Mix) != len(s.Mix) {
		t.Errorf("variant changed the scenario: %+v", on)
	}
	s.Clients.Devices = 5
	if v := s.WithClientCaches(true); v.Clients.Devices != 5 {
		t.Errorf("devices %d, want the scenario's 5", v.Clients.Devices)
	}
}

// TestParseAborts: a threshold written as {expr, abort, grace} keeps its place among the
// plain ones and is listed in Aborts with its grace.
func TestParseAborts(t *testing.T) {
	s, err := Parse("x.yaml", []byte(`duration: 10s
rate: 10
mix: [{req: GET /api/me, weight: 1}]
thresholds:
  - "latency.p99 <= 50ms"
  - {expr: "errors == 0", abort: true, grace: 2s}
  - {expr: "stale_reads == 0", abort: false}
  - {expr: "isolation_violations == 0", abort: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"latency.p99 <= 50ms", "errors == 0", "stale_reads == 0", "isolation_violations == 0"}
	if !slices.Equal(s.Thresholds, want) {
		t.Errorf("Thresholds = %q, want %q", s.Thresholds, want)
	}
	if wantA := []Abort{{Threshold: 1, Grace: 2 * time.Second}, {Threshold: 3}}; !slices.Equal(s.Aborts, wantA) {
		t.Errorf("Aborts = %+v, want %+v", s.Aborts, wantA)
	}
}
