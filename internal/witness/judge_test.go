package witness

import (
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
