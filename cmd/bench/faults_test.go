package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestFaultScenarios runs seconds-long versions of the built-in fault scenarios against a
// real redis-server behind the fault proxy, with their thresholds (no errors, no isolation
// violation, no stale read) and bounded harm (boundedHarm: each fault phase's p99 within
// the layer's Redis budget of the same run's healthy p99, harmBound), and the two-instance partition.
// Then it weakens the cache layer three ways and shows the same harness failing it. The
// runs are independent (each its own Redis, server and output directory) and run in
// parallel, beside the package's other parallel tests: nothing they judge depends on how
// fast the machine is.
func TestFaultScenarios(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scenario, config string
		code             int // exit code; anyExit: 0 or 1, the check judges
		check            func(t *testing.T, s *summary.Summary)
	}{
		{"fault-slow", "default", 0, nil},
		{"fault-partition", "default", 0, nil},
		{"fault-refuse", "default", 0, nil},
		{"fault-flap", "default", 0, nil},
		{"fault-cold", "default", 0, nil},
		// A 3x1 Redis Cluster (each node behind its own fault proxy): master-1 killed, its
		// replica promoted, the old master back as a replica. The default layer with patient
		// Redis timeouts (testdata/patient-breaker.yaml): what the thresholds judge is the
		// breaker per node, which 50ms timeouts on a starved CPU would hide.
		{"fault-shard", "patient-breaker", 0, func(t *testing.T, s *summary.Summary) {
			checkFaultFree(t, s)
			if s.Redis == nil || s.Redis.Topology != (summary.Topology{Kind: summary.TopologyCluster, Masters: 3, Replicas: 1}) || len(s.Redis.Nodes) != 6 {
				t.Fatalf("redis: %+v", s.Redis)
			}
			roles := map[string]string{}
			var keys int64
			for _, n := range s.Redis.Nodes {
				if !n.Up {
					t.Errorf("%s down at the end", n.Name)
				}
				roles[n.Name] = n.Role
				if n.Role == "master" {
					keys += n.Keys
				}
			}
			if roles["master-1"] != "replica" || roles["replica-1"] != "master" {
				t.Errorf("roles at the end %v: want replica-1 promoted and master-1 back as its replica", roles)
			}
			if keys == 0 {
				t.Error("the masters hold no keys")
			}
		}},
		// The same with reads spread over masters and replicas: the invalidations' WAIT copes
		// with a master killed, its replica promoted (no replicas left) and the old master back.
		{"fault-shard", "replica-reads", 0, nil},
		// Replica reads on a 1x1 cluster whose replica lags (keeps serving reads, stops applying
		// the replication stream): the invalidations wait for the replica, none is stale …
		{"fault-replica-lag", "replica-reads", 0, func(t *testing.T, s *summary.Summary) {
			checkFaultFree(t, s)
			lagPhase(t, s)
		}},
		// … while answering writes without waiting lets the lagging replica serve stale reads.
		{"fault-replica-lag", "weak-replica-reads", exitFail, func(t *testing.T, s *summary.Summary) {
			if s.StaleReads == 0 {
				t.Errorf("replica reads without the wait: no stale reads caught (isolation %d)", s.IsolationViolations)
			}
			t.Logf("weak-replica-reads: %d stale reads", s.StaleReads)
			lagPhase(t, s)
		}},
		// Naive cache-aside drops an invalidation that fails during the partition: once Redis is
		// back with its old entries, reads are stale.
		{"fault-partition", "weak-invalidation", exitFail, func(t *testing.T, s *summary.Summary) {
			if s.StaleReads == 0 {
				t.Errorf("weakened layer: no stale reads caught (isolation %d)", s.IsolationViolations)
			}
		}},
		// Two instances; Redis cut off from instance 1, which takes the writes, while instance 2
		// serves the reads from Redis: the fence log keeps instance 2 from serving what the
		// writes made stale.
		{"instance-partition", "default", 0, nil},
		// Pending invalidations kept in the writing process only: instance 2 serves stale reads.
		{"instance-partition", "weak-local-pending", exitFail, func(t *testing.T, s *summary.Summary) {
			if s.StaleReads == 0 {
				t.Errorf("weakened layer: no stale reads caught across instances (isolation %d)", s.IsolationViolations)
			}
			t.Logf("weak-local-pending: %d stale reads, %d isolation violations", s.StaleReads, s.IsolationViolations)
		}},
		// go-redis's default cluster client behind one breaker for the whole cache (no breaker
		// per node): the killed master's failures open it, and the users of the healthy shards
		// bypass Redis too.
		{"fault-shard", "weak-client", exitFail, func(t *testing.T, s *summary.Summary) {
			p := phaseNamed(t, s, "redis-down")
			for _, sh := range p.SlotRanges {
				if sh.Name != "slots-1" && sh.BypassShare <= 0.1 {
					t.Errorf("weakened client: healthy %s bypassed %.3f of its lookups during redis-down, want the spill-over caught", sh.Name, sh.BypassShare)
				}
				t.Logf("weak-client: %s bypass share %.3f during redis-down", sh.Name, sh.BypassShare)
			}
			if len(p.SlotRanges) != 3 {
				t.Errorf("redis-down slot ranges: %+v", p.SlotRanges)
			}
			failed := false
			for _, th := range s.Thresholds {
				if strings.Contains(th.Expr, "slots-2") && !th.Pass {
					failed = true
				}
			}
			if !failed {
				t.Errorf("thresholds %+v: want the shard-2 bypass threshold failed", s.Thresholds)
			}
		}},
		// With go-redis's default timeouts a partitioned Redis holds requests for seconds:
		// far beyond the bound the default layer keeps in the same scenario.
		{"fault-partition", "weak-client", anyExit, func(t *testing.T, s *summary.Summary) {
			p := phaseNamed(t, s, summary.PhaseRedisPartition)
			// Its bound comes from the healthy phases' median, not their p99: on a starved CPU
			// the weak client's seconds-long timeouts stretch the healthy phases' tail to
			// seconds as well (a healthy p99 of 5 s measured at PSI 86%), which must not
			// widen the bound that its stall is caught by.
			bound := harmBound(t, s, "testdata/weak-client.yaml", "p50")
			t.Logf("weak-client: %s p99 %.0f ms, max %.0f ms", p.Name, p.Latency.P99, p.Latency.Max)
			if p.Latency.P99 <= bound {
				t.Errorf("weakened client: %s p99 %.0f ms within the bound %.0f ms; want the multi-second stall caught", p.Name, p.Latency.P99, bound)
			}
		}},
	} {
		t.Run(tc.scenario+"/"+tc.config, func(t *testing.T) {
			t.Parallel()
			config := tc.config
			if config != "default" {
				config = filepath.Join("testdata", config+".yaml")
			}
			out := t.TempDir()
			redis := "process"
			if strings.HasPrefix(tc.scenario, "fault-shard") || tc.scenario == "fault-replica-lag" {
				redis = "auto" // the scenario's redis.cluster
			}
			stdout, stderr, code := runBench(t, context.Background(), nil, "run", "-scenario", filepath.Join("testdata", tc.scenario+".yaml"),
				"-config", config, "-mode", "cache", "-redis", redis, "-out", out, "-quiet")
			if code != tc.code && (tc.code != anyExit || code != 0 && code != exitFail) {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			s, err := summary.Read(filepath.Join(out, "latest"))
			if err != nil {
				t.Fatal(err)
			}
			var fault *summary.Phase
			for i := range s.Phases {
				if s.Phases[i].Fault != "" && s.Phases[i].Requests > 0 {
					fault = &s.Phases[i]
					break
				}
			}
			if fault == nil {
				t.Fatalf("no fault phase with requests: %+v", s.Phases)
			}
			if tc.check != nil {
				tc.check(t, s)
				return
			}
			checkFaultFree(t, s)
			boundedHarm(t, s, config)
		})
	}
}

// anyExit is a TestFaultScenarios row's exit code when 0 and 1 are both fine: a run
// without latency thresholds whose requests may still time out.
const anyExit = -1

// checkFaultFree fails unless the run's first fault phase (one with requests) had no
// errors and the run no stale read and no isolation violation.
func checkFaultFree(t *testing.T, s *summary.Summary) {
	t.Helper()
	for _, fault := range s.Phases {
		if fault.Fault == "" || fault.Requests == 0 {
			continue
		}
		if fault.Errors != 0 || s.StaleReads != 0 || s.IsolationViolations != 0 {
			t.Fatalf("%s: errors %d, stale %d, isolation %d", fault.Name, fault.Errors, s.StaleReads, s.IsolationViolations)
		}
		t.Logf("%s: p99 %.1f ms, max %.1f ms, recovery %v s", fault.Name, fault.Latency.P99, fault.Latency.Max, deref(fault.RecoveryS))
		return
	}
	t.Fatalf("no fault phase with requests: %+v", s.Phases)
}

// boundedHarm fails unless every fault phase's p99 is within harmBound: what a stalled or
// unreachable Redis may add to a request is the layer's Redis budget, whatever the
// machine's speed, which the same run's healthy phases measure.
func boundedHarm(t *testing.T, s *summary.Summary, config string) {
	t.Helper()
	bound := harmBound(t, s, config, "p99")
	for _, p := range s.Phases {
		if p.Fault != "" && p.Requests > 0 && p.Latency.P99 > bound {
			t.Errorf("%s: p99 %.1f ms, want <= %.1f ms (harmBound)", p.Name, p.Latency.P99, bound)
		}
	}
}

// harmBound is the p99 a fault phase may reach: twice the run's healthy p99 (the highest
// p99 of its phases without a fault, so a machine slow enough to stretch every request
// stretches the bound with them) plus three times a request's Redis budget from the config,
// dialTimeout + readTimeout (a request pays for one failed call: its view stops using Redis
// after it; the budget of 150ms with the default is what these scenarios once judged as a
// fixed number, and three of it is the room for timers a starved CPU fires late) plus how far the
// harness itself fell behind its schedule (rate.max_lag_s: a busy machine that freezes the
// harness for seconds delays every request sent meanwhile, in whatever phase that falls; the
// open-loop generator adds workers for slow answers, so a stalling cache does not add to it).
// stat is the healthy phases' figure the bound doubles: "p99", or "p50" for a layer whose
// own tail is what is judged.
func harmBound(t *testing.T, s *summary.Summary, config, stat string) float64 {
	t.Helper()
	cfg, err := cache.LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	if stat != "p99" && stat != "p50" {
		t.Fatalf("harmBound: stat %q, want p99 or p50", stat)
	}
	healthy := 0.0
	for _, p := range s.Phases {
		if p.Fault == "" && p.Requests > 0 {
			v := p.Latency.P99
			if stat == "p50" {
				v = p.Latency.P50
			}
			healthy = max(healthy, v)
		}
	}
	if healthy == 0 {
		t.Fatalf("no phase without a fault has requests: %+v", s.Phases)
	}
	budget := 3 * float64(cfg.Redis.DialTimeout+cfg.Redis.ReadTimeout) / float64(time.Millisecond)
	lag := s.Rate.MaxLagS * 1000
	t.Logf("harm bound %.1f ms = 2 x healthy %s %.1f ms + 3 x (dialTimeout %s + readTimeout %s) + the harness's max lag %.1f ms",
		2*healthy+budget+lag, stat, healthy, cfg.Redis.DialTimeout, cfg.Redis.ReadTimeout, lag)
	return 2*healthy + budget + lag
}

// phaseNamed returns the run's phase called name, failing the test when there is none.
func phaseNamed(t *testing.T, s *summary.Summary, name string) *summary.Phase {
	t.Helper()
	for i := range s.Phases {
		if s.Phases[i].Name == name {
			return &s.Phases[i]
		}
	}
	t.Fatalf("no %s phase: %+v", name, s.Phases)
	return nil
}

func deref(p *float64) any {
	if p == nil {
		return "none"
	}
	return *p
}

// lagPhase fails unless the run has a redis-replica-lag phase with requests.
func lagPhase(t *testing.T, s *summary.Summary) {
	t.Helper()
	for _, p := range s.Phases {
		if p.Name == summary.PhaseReplicaLag && p.Requests > 0 {
			t.Logf("%s: %d requests, hit rate %.2f, p99 %.1f ms", p.Name, p.Requests, p.HitRate.Overall, p.Latency.P99)
			return
		}
	}
	t.Errorf("no %s phase with requests: %+v", summary.PhaseReplicaLag, s.Phases)
}
