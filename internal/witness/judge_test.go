package witness

import (
	"math"
	"slices"
	"testing"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// server is the server's counters at one moment: requests, GETs its hook counted
// answered and unanswered, keys read and found, DB transactions.
func server(requests, gets, unconfirmed, unconfKeys, keysRead, keysFound, xacts uint64) *metrics.Snapshot {
	return &metrics.Snapshot{Stats: atlas.Stats{Requests: requests, DB: atlas.QueryStats{Transactions: xacts},
		Redis: &atlas.RedisStats{Commands: map[string]uint64{"get": gets, "ping": 3}, Unconfirmed: unconfirmed,
			UnconfirmedKeys: unconfKeys, KeysRead: keysRead, KeysFound: keysFound}}}
}

// redisAt is Redis's counters at one moment.
func redisAt(runID string, gets, hits, misses uint64) *RedisCounters {
	return &RedisCounters{Nodes: 1, Hits: hits, Misses: misses, RunIDs: []string{runID},
		Calls: map[string]uint64{"get": gets, "info": 40, "ping": 9}}
}

// TestJudgeRedis: the commands and keyspace cross-checks from two cuts, no Redis needed.
func TestJudgeRedis(t *testing.T) {
	begin := &Cut{Server: server(0, 0, 0, 0, 0, 0, 0), Redis: redisAt("a", 0, 0, 0)}
	for _, tc := range []struct {
		name               string
		finish             *Cut
		commands, keyspace string // verdicts
	}{
		// The server's 100 GETs are Redis's 100; 80 of 100 keys found on both sides.
		{"agree", &Cut{Server: server(50, 100, 0, 0, 100, 80, 0), Redis: redisAt("a", 100, 80, 20)}, summary.Agree, summary.Agree},
		// Redis ran 10 GETs the server never counted, with no unanswered commands to explain them.
		{"extra commands", &Cut{Server: server(50, 100, 0, 0, 100, 80, 0), Redis: redisAt("a", 110, 80, 20)}, summary.Disagree, summary.Agree},
		// 5 commands got no reply: Redis may have run up to 5 more (it ran 3), and 5 keys more.
		{"unanswered within", &Cut{Server: server(50, 100, 5, 5, 100, 80, 0), Redis: redisAt("a", 103, 82, 21)}, summary.Agree, summary.Agree},
		// … but not 7 more.
		{"unanswered beyond", &Cut{Server: server(50, 100, 5, 5, 100, 80, 0), Redis: redisAt("a", 107, 82, 21)}, summary.Disagree, summary.Agree},
		// Redis counted fewer keys found: a ratio 5 points off.
		{"hit ratio off", &Cut{Server: server(50, 100, 0, 0, 100, 80, 0), Redis: redisAt("a", 100, 75, 25)}, summary.Agree, summary.Disagree},
		// A restart resets Redis's counters: no verdict either way.
		{"restart", &Cut{Server: server(50, 100, 0, 0, 100, 80, 0), Redis: redisAt("b", 100, 80, 20)}, summary.NotMade, summary.NotMade},
	} {
		got := Judge(Cuts{Redis: true, Begin: begin, Finish: tc.finish}, summary.Figures{Mode: summary.ModeCache})
		if len(got.CrossChecks) != 2 {
			t.Fatalf("%s: %d cross-checks, want 2: %+v", tc.name, len(got.CrossChecks), got.CrossChecks)
		}
		cmd, key := got.CrossChecks[0], got.CrossChecks[1]
		if cmd.Verdict != tc.commands || key.Verdict != tc.keyspace {
			t.Errorf("%s: commands %s (%s), keyspace %s (%s); want %s, %s", tc.name, cmd.Verdict, cmd.Detail, key.Verdict, key.Detail, tc.commands, tc.keyspace)
		}
		if cmd.Mode != summary.ModeCache || got.RedisStats["attack"].Commands["get"] == 0 {
			t.Errorf("%s: mode %q, attack stats %+v", tc.name, cmd.Mode, got.RedisStats["attack"])
		}
	}
}

// TestJudgeRedisWindows: Redis's figures over the measured window come from the marks of
// the driver's events; without the idle cuts there are figures but no cross-check.
func TestJudgeRedisWindows(t *testing.T) {
	c := Cuts{Redis: true, Marks: []Mark{
		{Name: driver.EventWarmupEnd, Offset: 0, Server: server(10, 20, 0, 0, 20, 10, 0), Redis: redisAt("a", 20, 10, 10)},
		{Name: driver.EventEnd, Offset: 10, Server: server(60, 120, 0, 0, 120, 90, 0), Redis: redisAt("a", 120, 90, 30)},
	}}
	got := Judge(c, summary.Figures{Mode: summary.ModeCache})
	w, ok := got.RedisStats["window"]
	if !ok || w.Requests != 50 || w.Commands["get"] != 100 || w.CommandsPerRequest != 2 || w.KeyspaceHitRatio != 0.8 {
		t.Errorf("window %+v (%v)", w, ok)
	}
	if len(got.CrossChecks) != 0 {
		t.Errorf("cross-checks without idle cuts: %+v", got.CrossChecks)
	}
	if got := Judge(Cuts{Marks: c.Marks}, summary.Figures{}); got.RedisStats != nil {
		t.Errorf("no Redis witness, yet figures %+v", got.RedisStats)
	}
}

// TestJudgePG: the DB-transactions check allows 1% or DBAutovacuumAllowance, after the
// harness's own reads.
func TestJudgePG(t *testing.T) {
	for _, tc := range []struct {
		name         string
		server, xact uint64
		own          int64
		want         string
	}{
		{"exact", 1000, 1000, 0, summary.Agree},
		{"within the autovacuum allowance", 100, 120, 0, summary.Agree},
		{"within 1%", 10000, 10090, 0, summary.Agree},
		{"the harness's own reads left out", 1000, 1040, 40, summary.Agree},
		{"beyond both", 1000, 1100, 0, summary.Disagree},
	} {
		c := Cuts{PG: &PGSource{Database: "run_1"},
			Begin:  &Cut{Server: server(0, 0, 0, 0, 0, 0, 0), PG: &PGCounters{}},
			Finish: &Cut{Server: server(500, 0, 0, 0, 0, 0, tc.server), PG: &PGCounters{XactCommit: int64(tc.xact), Own: tc.own, Statements: -1}}}
		got := Judge(c, summary.Figures{Mode: summary.ModeNoCache})
		if got.PGStats == nil || got.PGStats.Database != "run_1" || got.PGStats.Statements != nil || len(got.CrossChecks) != 1 {
			t.Fatalf("%s: %+v", tc.name, got)
		}
		if cc := got.CrossChecks[0]; cc.Verdict != tc.want {
			t.Errorf("%s: %s (server %v, PostgreSQL %v), want %s", tc.name, cc.Verdict, cc.Value1, cc.Value2, tc.want)
		}
	}
}

// TestDBReduction: the reduction the server's counters show beside PostgreSQL's, within a point.
func TestDBReduction(t *testing.T) {
	nocache := &summary.PGStats{Requests: 1000, ServerTransactions: 2000, TransactionsPerRequest: 2}
	for _, tc := range []struct {
		name string
		pgPR float64 // PostgreSQL's transactions per request with the cache
		want string
	}{
		{"agree", 0.4, summary.Agree},              // both 80%
		{"half a point", 0.41, summary.Agree},      // 80% vs 79.5%
		{"two points off", 0.44, summary.Disagree}, // 80% vs 78%
	} {
		cache := &summary.PGStats{Requests: 1000, ServerTransactions: 400, TransactionsPerRequest: tc.pgPR}
		c, ok := DBReduction(cache, nocache, nil)
		if !ok || c.Verdict != tc.want {
			t.Errorf("%s: %v %s (server %.3f, PostgreSQL %.3f), want %s", tc.name, ok, c.Verdict, c.Value1, c.Value2, tc.want)
		}
	}
	if _, ok := DBReduction(nil, nocache, nil); ok {
		t.Error("a check without the cache mode's PostgreSQL figures")
	}
}

// histOf is a native histogram (schema 4, the server's bucket factor 1.044) of durations
// in seconds.
func histOf(ds ...float64) *Hist {
	h := &Hist{Native: true, Schema: 4, Buckets: map[int]uint64{}, Classic: map[float64]uint64{}}
	base := math.Pow(2, 1.0/16)
	for _, d := range ds {
		h.Buckets[int(math.Ceil(math.Log(d)/math.Log(base)))]++
		h.Count++
		h.Sum += d
	}
	return h
}

// TestJudgeLatency: the server's quantiles are bounded by the harness's service time at the
// same rank plus the requests only one window holds. The warm-up requests still in flight
// when the window opened are in the server's window alone; on a starved machine they are
// the slowest of all (seen: 4 more requests in the server's window than the harness's 300,
// the server's p99 594 ms, the harness's max 266 ms),
// and a server p99 that falls among them is judged at the highest rank the harness bounds.
// A server slower than the harness at ranks the harness holds still disagrees. The request
// counts agree within the warm-up requests answered late, and disagree beyond them.
func TestJudgeLatency(t *testing.T) {
	// The harness timed 300 requests: 290 at 2 ms, 10 from 100 to 266 ms.
	var harness []float64
	for range 290 {
		harness = append(harness, 0.002)
	}
	for i := range 10 {
		harness = append(harness, 0.100+float64(i)*0.166/9)
	}
	f := summary.Figures{Mode: summary.ModeCache, Requests: 300, Rate: summary.Rate{Target: 60, Achieved: 60},
		ServiceTime: summary.Latency{P50: 2, P90: 2, P95: 2, P99: 247.6, P999: 266, Max: 266}}
	server := func(ds ...float64) []float64 {
		out := make([]float64, len(ds))
		for i, d := range ds {
			out[i] = 0.9 * d // the server's time is the harness's less the network and client
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		window   []float64
		p50, p99 string
	}{
		// A stalled start (seen beside two busy loops: the slowest request 1.4 s, the server's
		// window 39 requests more than the harness's): 39 warm-up requests answered inside the
		// server's window, which the driver counted; the counts agree.
		{"39 warm-up requests in the server's window only", append(server(harness...), slices.Repeat([]float64{0.6}, 39)...), summary.Agree, summary.Agree},
		{"the same requests", server(harness...), summary.Agree, summary.Agree},
		{"four slow warm-up requests in the server's window only", append(server(harness...), 0.6, 0.6, 0.6, 0.6), summary.Agree, summary.Agree},
		// The server's own 10 slowest took 600 ms where the harness saw at most 266 ms.
		{"a server slower than the harness", append(server(harness[:290]...), 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6), summary.Agree, summary.Disagree},
		// Over half its requests took 50 ms, where the harness's median is 2 ms.
		{"a server median above the harness's", append(server(harness[:140]...), slices.Repeat([]float64{0.05}, 160)...), summary.Disagree, summary.Agree},
	} {
		c := Cuts{Marks: []Mark{
			{Name: driver.EventWarmupEnd, Hist: histOf(), HistAt: 0.01},
			{Name: driver.EventEnd, Offset: 5, Hist: histOf(tc.window...), HistAt: 5.01},
		}, WarmupLate: int64(max(len(tc.window)-300, 0))}
		got := Judge(c, f)
		verdicts := map[string]summary.CrossCheck{}
		for _, cc := range got.CrossChecks {
			verdicts[cc.Figure] = cc
		}
		p50, p99 := verdicts["latency p50 (server ≤ harness service time)"], verdicts["latency p99 (server ≤ harness service time)"]
		if count := verdicts["requests in the measured window"]; count.Verdict != summary.Agree {
			t.Errorf("%s: requests %s (%.0f vs %.0f, %s)", tc.name, count.Verdict, count.Value1, count.Value2, count.Tolerance)
		}
		if p50.Verdict != tc.p50 || p99.Verdict != tc.p99 {
			t.Errorf("%s: p50 %s (%.1f vs %.1f, %s), p99 %s (%.1f vs %.1f, %s); want %s, %s", tc.name,
				p50.Verdict, p50.Value1, p50.Value2, p50.Tolerance, p99.Verdict, p99.Value1, p99.Value2, p99.Tolerance, tc.p50, tc.p99)
		}
	}
}

// TestJudgeRequestCount: the server's count of the window may exceed the harness's by the
// warm-up requests answered after the window opened, not by more, and fall short of it by
// those answered before the first scrape.
func TestJudgeRequestCount(t *testing.T) {
	f := summary.Figures{Mode: summary.ModeCache, Requests: 300, Rate: summary.Rate{Target: 60, Achieved: 60},
		ServiceTime: summary.Latency{P50: 2, P90: 2, P95: 2, P99: 2, P999: 2, Max: 2}}
	for _, tc := range []struct {
		name         string
		server, late int
		want         string
	}{
		{"39 more, 39 answered late", 339, 39, summary.Agree},
		{"39 more, none answered late", 339, 0, summary.Disagree},
		{"60 more, 39 answered late", 360, 39, summary.Disagree},
		{"3 fewer, the first scrape 10 ms late", 297, 0, summary.Agree},
		// Late warm-up answers do not excuse a server that counted fewer.
		{"20 fewer, 39 answered late", 280, 39, summary.Disagree},
	} {
		c := Cuts{Marks: []Mark{
			{Name: driver.EventWarmupEnd, Hist: histOf(), HistAt: 0.01},
			{Name: driver.EventEnd, Offset: 5, Hist: histOf(slices.Repeat([]float64{0.0018}, tc.server)...), HistAt: 5.01},
		}, WarmupLate: int64(tc.late)}
		for _, cc := range Judge(c, f).CrossChecks {
			if cc.Figure == "requests in the measured window" && cc.Verdict != tc.want {
				t.Errorf("%s: %s (%.0f vs %.0f, %s), want %s", tc.name, cc.Verdict, cc.Value1, cc.Value2, cc.Tolerance, tc.want)
			}
		}
	}
}
