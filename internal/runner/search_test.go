package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/procstat"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/witness"
)

// TestBottleneckRule: the first step (by offered rate) where a resource reaches its mark
// names it, in the rule's order; with none at its mark, "none" and the knee's figures.
func TestBottleneckRule(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	step := func(rps float64, lag float64, cpu map[string]float64, res func(*summary.StepResources)) summary.SearchStep {
		r := &summary.StepResources{CPU: cpu, MachineBusy: 0.5, RedisPoolWaitsPerRequest: f(0), RedisPoolWaitMSPerReq: f(0), DBPoolWaitsPerRequest: f(0), DBPoolWaitMSPerReq: f(0)}
		if res != nil {
			res(r)
		}
		return summary.SearchStep{OfferedRPS: rps, LagP99MS: lag, Held: true, Resources: r}
	}
	low := map[string]float64{"harness": 0.1, "server-1": 0.2, "redis": 0.05}
	tests := []struct {
		name  string
		steps []summary.SearchStep
		want  string
		at    float64
		ev    string
	}{
		{"server saturates first", []summary.SearchStep{
			step(100, 1, low, nil),
			step(400, 2, map[string]float64{"harness": 0.3, "server-1": 1.9, "redis": 0.1}, nil),
			step(200, 1, map[string]float64{"harness": 0.2, "server-1": 1.85, "redis": 0.4}, nil),
		}, "server-1", 200, "server-1 used 1.85 of 2 cores at 200 rps"},
		// the generator's lag comes first in the rule's order, at the same step
		{"generator lag", []summary.SearchStep{
			step(100, 1, low, nil),
			step(200, 20, map[string]float64{"harness": 0.5, "server-1": 1.9}, nil),
		}, "generator", 200, "send lag p99 20.0 ms at 200 rps"},
		{"redis by its own account", []summary.SearchStep{
			step(100, 1, low, func(r *summary.StepResources) { r.RedisCPU, r.RedisOpsPerS = f(0.95), f(90000) }),
		}, "redis", 100, "Redis used 0.950 of its one core at 100 rps (90000 commands/s)"},
		{"redis pool", []summary.SearchStep{
			step(100, 1, low, nil),
			step(150, 1, low, func(r *summary.StepResources) { r.RedisPoolWaitsPerRequest, r.RedisPoolWaitMSPerReq = f(0.5), f(2) }),
		}, "redis-pool", 150, "0.500 of the requests waited for a Redis connection, 4.00 ms each"},
		{"db pool", []summary.SearchStep{
			step(100, 1, low, func(r *summary.StepResources) { r.DBPoolWaitsPerRequest, r.DBPoolWaitMSPerReq = f(0.2), f(1) }),
		}, "db-pool", 100, "0.200 of the requests waited for a database connection"},
		{"postgres's cpu", []summary.SearchStep{
			step(100, 1, low, func(r *summary.StepResources) { r.PGCPU = f(1.9) }),
		}, "db", 100, "PostgreSQL's backends used 1.90 of 2 cores at 100 rps"},
		// its time per query rising over twice the first step's (and over 1 ms)
		{"postgres's time per query", []summary.SearchStep{
			step(100, 1, low, func(r *summary.StepResources) { r.DBMSPerQuery = f(0.8) }),
			step(200, 1, low, func(r *summary.StepResources) { r.DBMSPerQuery = f(1.5) }),
			step(400, 1, low, func(r *summary.StepResources) { r.DBMSPerQuery = f(2.4) }),
		}, "db", 400, "PostgreSQL spent 2.40 ms per query at 400 rps, over twice the 0.800 ms of the first step"},
		// every process of the run together at 90% of the cores, none alone
		{"machine", []summary.SearchStep{
			step(100, 1, map[string]float64{"harness": 0.7, "server-1": 0.7, "server-2": 0.5}, nil),
		}, "machine", 100, "the run's processes together used 1.90 of the machine's 2 cores"},
		// other processes' CPU does not make the run's machine saturated
		{"none: a busy machine is not the run's", []summary.SearchStep{
			step(100, 1, low, func(r *summary.StepResources) { r.MachineBusy = 1 }),
		}, "none", 100, "other processes kept the machine busy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := &summary.CapacitySearch{SLOMS: 50, Cores: 2, Steps: tc.steps}
			b := bottleneck(cs)
			if b.Resource != tc.want || b.AtRPS != tc.at {
				t.Fatalf("bottleneck %s at %g, want %s at %g (%v)", b.Resource, b.AtRPS, tc.want, tc.at, b.Evidence)
			}
			if ev := strings.Join(b.Evidence, "; "); !strings.Contains(ev, tc.ev) {
				t.Errorf("evidence %q lacks %q", ev, tc.ev)
			}
			if b.Rule != BottleneckRule {
				t.Errorf("rule %q", b.Rule)
			}
		})
	}
}

// TestStepResources: the resources over a step are the deltas between the first and the
// last sample inside its window, per wall second.
func TestStepResources(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sample := func(s float64, harness, server time.Duration, busy, total time.Duration, redisCPU float64, cmds uint64, waits float64) resourceSample {
		return resourceSample{at: t0.Add(time.Duration(s * float64(time.Second))), cpu: []time.Duration{harness, server},
			machine: procstat.Machine{Busy: busy, Total: total}, redis: &witness.RedisCounters{CPUSeconds: redisCPU, Commands: cmds},
			pools: &poolCounters{redisWaits: waits, dbWaits: waits / 2}}
	}
	samples := []resourceSample{
		sample(0, 0, 0, 0, 0, 0, 0, 0), // before the window: not used
		sample(1, time.Second, time.Second, 2*time.Second, 4*time.Second, 1, 1000, 10),
		sample(3, 2*time.Second, 3*time.Second, 5*time.Second, 8*time.Second, 1.5, 5000, 110),
		sample(9, 9*time.Second, 9*time.Second, 9*time.Second, 9*time.Second, 9, 9000, 900), // after it: not used
	}
	r := stepResources(samples, []string{"harness", "server-1"}, t0.Add(500*time.Millisecond), t0.Add(4*time.Second), 100, 2)
	if r == nil {
		t.Fatal("no resources")
	}
	if r.CPU["harness"] != 0.5 || r.CPU["server-1"] != 1 || r.MachineBusy != 0.75 {
		t.Errorf("cpu %v, machine %v; want harness 0.5, server-1 1, machine 0.75", r.CPU, r.MachineBusy)
	}
	if *r.RedisCPU != 0.25 || *r.RedisOpsPerS != 2000 {
		t.Errorf("redis cpu %v ops %v", *r.RedisCPU, *r.RedisOpsPerS)
	}
	// 100 waits over 2 s at 100 rps: 0.5 per request; the database's half of that.
	if *r.RedisPoolWaitsPerRequest != 0.5 || *r.DBPoolWaitsPerRequest != 0.25 {
		t.Errorf("pool waits per request %v, %v", *r.RedisPoolWaitsPerRequest, *r.DBPoolWaitsPerRequest)
	}
	if stepResources(samples, nil, t0.Add(3500*time.Millisecond), t0.Add(4*time.Second), 100, 2) != nil {
		t.Error("resources from fewer than two samples in the window")
	}
}
