package witness

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// Judging is pure: Judge reads the Cuts a Session collected and the recorder's figures,
// and talks to nothing.

// Tolerances of the cross-checks.
const (
	HitRateTolerance = 0.01 // absolute: one point
	DBTolerance      = 0.01 // relative: 1%
	RequestTolerance = 0.01 // relative: 1%, for the server's count of requests in the window
	// DBAutovacuumAllowance is the absolute tolerance of the DB-transactions check: the
	// autovacuum and autoanalyze workers PostgreSQL starts on freshly seeded tables run
	// transactions of their own in the run's database (a few per table).
	DBAutovacuumAllowance = 25
)

// Cuts are what a Session collected over one mode.
type Cuts struct {
	// Redis is true when a Redis witness was open (its counters may still be missing).
	Redis bool
	// PG describes the PostgreSQL witness; nil when there was none.
	PG *PGSource
	// Begin and Finish are the counters at the idle moments before and after the attack.
	Begin, Finish *Cut
	// Marks are the counters at each boundary of the measured window, in order.
	Marks []Mark
	// InstanceRestarted is true when a server instance restarted during the attack (a kill
	// and start, a deploy): its counters and histogram began again with the new process.
	InstanceRestarted bool
	// WarmupLate is how many warm-up requests were answered after the measured window
	// opened (the driver's Outcome.WarmupLate): in the server's window, not the harness's.
	WarmupLate int64
}

// PGSource is the database the PostgreSQL witness read, and why its pg_stat_statements
// figures are missing, if they are.
type PGSource struct {
	Database, Note string
}

// Cut is the counters at an idle moment; a nil field is a witness that could not be read.
type Cut struct {
	Server *metrics.Snapshot
	Redis  *RedisCounters
	PG     *PGCounters
}

// Mark is the counters at a boundary of the measured window (a driver event).
type Mark struct {
	Name   string  // the driver event: driver.EventWarmupEnd, a fault, driver.EventEnd
	Offset float64 // seconds from the end of warm-up
	Server *metrics.Snapshot
	Redis  *RedisCounters
	Hist   *Hist
	// HitHist is the same histogram of the answers served from the cache alone.
	HitHist *Hist
	HistAt  float64 // when the histogram scrape finished, seconds from the end of warm-up
}

// Figures are what the witnesses measured of one mode, and the cross-checks of the
// recorder's figures they make.
type Figures struct {
	RedisStats    map[string]summary.RedisStats
	PGStats       *summary.PGStats
	ServerLatency *summary.ServerLatency
	CrossChecks   []summary.CrossCheck
}

// Judge returns the witnessed figures and the cross-checks of f, the recorder's figures,
// from what a Session collected.
func Judge(c Cuts, f summary.Figures) Figures {
	var out Figures
	out.RedisStats, out.CrossChecks = judgeRedis(c, &f)
	out.PGStats, out.CrossChecks = judgePG(c, &f, out.CrossChecks)
	out.ServerLatency, out.CrossChecks = judgeLatency(c, &f, out.CrossChecks)
	if c.InstanceRestarted {
		// Every check has the server on one side, which covers only part of the window.
		for i := range out.CrossChecks {
			if out.CrossChecks[i].Verdict != summary.NotMade {
				out.CrossChecks[i].Verdict, out.CrossChecks[i].Detail = summary.NotMade, restartedReason
			}
		}
	}
	return out
}

// restartedReason is why a cross-check is not made after a server instance restarted.
const restartedReason = "a server instance restarted during the attack: its counters and histogram started again, so the server's side covers only part of the window"

// serverDelta is the server's counters between two snapshots.
type serverDelta struct {
	requests           uint64
	hits, lookups      uint64 // class counters: hits, hits+misses+bypasses
	redis              *atlas.RedisStats
	transactions, dbQs uint64
}

func serverSub(a, b *metrics.Snapshot) *serverDelta {
	if a == nil || b == nil {
		return nil
	}
	d := &serverDelta{requests: b.Stats.Requests - a.Stats.Requests,
		transactions: b.Stats.DB.Transactions - a.Stats.DB.Transactions, dbQs: b.Stats.DB.Total - a.Stats.DB.Total}
	for class, cb := range b.Stats.Cache {
		ca := a.Stats.Cache[class]
		d.hits += cb.Hits - ca.Hits
		d.lookups += (cb.Hits + cb.Misses + cb.Bypasses) - (ca.Hits + ca.Misses + ca.Bypasses)
	}
	if a.Stats.Redis != nil && b.Stats.Redis != nil {
		r := &atlas.RedisStats{Commands: map[string]uint64{},
			Unconfirmed:     b.Stats.Redis.Unconfirmed - a.Stats.Redis.Unconfirmed,
			UnconfirmedKeys: b.Stats.Redis.UnconfirmedKeys - a.Stats.Redis.UnconfirmedKeys,
			KeysRead:        b.Stats.Redis.KeysRead - a.Stats.Redis.KeysRead,
			KeysFound:       b.Stats.Redis.KeysFound - a.Stats.Redis.KeysFound}
		for name, n := range b.Stats.Redis.Commands {
			if d := n - a.Stats.Redis.Commands[name]; d > 0 {
				r.Commands[name] = d
			}
		}
		d.redis = r
	}
	return d
}

// redisStats is Redis's word over a window, beside the server's.
func redisStats(a, b *RedisCounters, srv *serverDelta) (summary.RedisStats, bool) {
	d, restarted := b.Sub(*a)
	rs := summary.RedisStats{Nodes: d.Nodes, KeyspaceHits: d.Hits, KeyspaceMisses: d.Misses,
		KeyspaceHitRatio: ratio(d.Hits, d.Hits+d.Misses), Commands: map[string]uint64{}, Restarted: restarted,
		ConnectionsReceived: d.Connections}
	var total uint64
	for name, n := range d.Calls {
		if name == "info" || n == 0 {
			continue
		}
		rs.Commands[name] = n
		if !excluded(name) {
			total += n
		}
	}
	if srv != nil {
		rs.Requests = srv.requests
		rs.CommandsPerRequest = ratio(total, srv.requests)
		rs.ServerHitRate = ratio(srv.hits, srv.lookups)
		rs.ConnectionsPer1kRequests = 1000 * ratio(d.Connections, srv.requests)
	}
	return rs, restarted
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// markNear is the mark within half a second of offset; nil when none is.
func (c Cuts) markNear(offset float64) *Mark {
	for i := range c.Marks {
		if math.Abs(c.Marks[i].Offset-offset) < 0.5 {
			return &c.Marks[i]
		}
	}
	return nil
}

// markNamed is the mark of the driver event name; nil when there is none.
func (c Cuts) markNamed(name string) *Mark {
	for i := range c.Marks {
		if c.Marks[i].Name == name {
			return &c.Marks[i]
		}
	}
	return nil
}

// judgeRedis is Redis's word on the mode: its counters over the attack, the measured
// window and each phase, and, when the server counted its own commands, two cross-checks
// (commands by name, keyspace hit ratio).
func judgeRedis(c Cuts, f *summary.Figures) (map[string]summary.RedisStats, []summary.CrossCheck) {
	if !c.Redis {
		return nil, nil
	}
	stats := windowStats(c, f.Phases)
	if c.Begin == nil || c.Finish == nil || c.Begin.Redis == nil || c.Finish.Redis == nil {
		if len(stats) == 0 {
			stats = nil
		}
		return stats, nil
	}
	srv := serverSub(c.Begin.Server, c.Finish.Server)
	attack, restarted := redisStats(c.Begin.Redis, c.Finish.Redis, srv)
	stats["attack"] = attack
	if srv == nil || srv.redis == nil {
		return stats, nil // no server word on Redis: Redis's figures stand alone
	}
	d, _ := c.Finish.Redis.Sub(*c.Begin.Redis)
	naReason := ""
	if restarted {
		naReason = "a Redis node restarted during the attack: its counters started again"
	}
	return stats, []summary.CrossCheck{
		commandsCheck(f.Mode, d, srv, naReason),
		keyspaceCheck(f.Mode, d, attack, srv, naReason),
	}
}

// windowStats are Redis's counters over the measured window and each phase, between
// marks (not idle moments: figures only, no cross-check).
func windowStats(c Cuts, phases []summary.Phase) map[string]summary.RedisStats {
	stats := map[string]summary.RedisStats{}
	if a, b := c.markNamed(driver.EventWarmupEnd), c.markNamed(driver.EventEnd); a != nil && b != nil && a.Redis != nil && b.Redis != nil {
		stats["window"], _ = redisStats(a.Redis, b.Redis, serverSub(a.Server, b.Server))
	}
	for _, p := range phases {
		a, b := c.markNear(p.StartS), c.markNear(p.EndS)
		if a == nil || b == nil || a == b || a.Redis == nil || b.Redis == nil {
			continue
		}
		stats[p.Name], _ = redisStats(a.Redis, b.Redis, serverSub(a.Server, b.Server))
	}
	return stats
}

// commandsCheck compares the commands the server's hook counted with Redis's
// commandstats (d), by name: exact, except that Redis may have run some of the commands
// the server got no reply for (timeouts), so Redis's count may exceed the server's by at
// most those. naReason, when set, is why no verdict can be given.
func commandsCheck(mode summary.Mode, d RedisCounters, srv *serverDelta, naReason string) summary.CrossCheck {
	unconf := srv.redis.Unconfirmed
	names := map[string]bool{}
	for name := range srv.redis.Commands {
		names[name] = true
	}
	for name := range d.Calls {
		names[name] = true
	}
	var mismatches, perReq []string
	var srvTotal, redisTotal, extra uint64
	for _, name := range slices.Sorted(mapsKeys(names)) {
		if excluded(name) {
			continue
		}
		a, b := srv.redis.Commands[name], d.Calls[name]
		srvTotal += a
		redisTotal += b
		switch {
		case b < a:
			mismatches = append(mismatches, fmt.Sprintf("%s: server %d, Redis %d", name, a, b))
		case b > a:
			extra += b - a
			if unconf == 0 {
				mismatches = append(mismatches, fmt.Sprintf("%s: server %d, Redis %d", name, a, b))
			}
		}
		if b > 0 {
			perReq = append(perReq, fmt.Sprintf("%s %.2f", name, ratio(b, srv.requests)))
		}
	}
	if unconf > 0 && extra > unconf {
		mismatches = append(mismatches, fmt.Sprintf("Redis ran %d commands more than the server counted, beyond its %d unanswered ones", extra, unconf))
	}
	tol := "exact, command by command (health pings, connection set-up and the witness's INFO left out)"
	if unconf > 0 {
		tol = fmt.Sprintf("exact, command by command, but for the %d commands that got no reply (timeouts)", unconf)
	}
	cc := summary.CrossCheck{Figure: "Redis commands per request", Mode: mode,
		Witness1: "server (cache's go-redis hook)", Value1: ratio(srvTotal, srv.requests),
		Witness2: "Redis INFO commandstats", Value2: ratio(redisTotal, srv.requests),
		Unit: "per request", Tolerance: tol}
	cc.Verdict, cc.Detail = summary.Agree, "per request: "+strings.Join(perReq, ", ")
	if unconf > 0 {
		cc.Detail += fmt.Sprintf("; Redis ran %d of the %d unanswered", extra, unconf)
	}
	if len(mismatches) > 0 {
		cc.Verdict, cc.Detail = summary.Disagree, strings.Join(mismatches, "; ")
	}
	if naReason != "" {
		cc.Verdict, cc.Detail = summary.NotMade, naReason
	}
	return cc
}

// keyspaceCheck compares the share of keys found among those the server's GET/MGET
// replies read with Redis's keyspace hit ratio over the attack: within a point, plus what
// the unanswered reads could move it.
func keyspaceCheck(mode summary.Mode, d RedisCounters, attack summary.RedisStats, srv *serverDelta, naReason string) summary.CrossCheck {
	redisRead := d.Hits + d.Misses
	hc := summary.CrossCheck{Figure: "Redis keyspace hit ratio", Mode: mode,
		Witness1: "server (keys found in its GET/MGET replies)", Value1: ratio(srv.redis.KeysFound, srv.redis.KeysRead),
		Witness2: "Redis INFO keyspace_hits/misses", Value2: attack.KeyspaceHitRatio,
		Unit: "ratio", Tolerance: "1 point"}
	slack := 0.0
	if srv.redis.UnconfirmedKeys > 0 {
		slack = ratio(srv.redis.UnconfirmedKeys, redisRead)
		hc.Tolerance = fmt.Sprintf("1 point + %.1f points for %d keys read by unanswered commands", 100*slack, srv.redis.UnconfirmedKeys)
	}
	hc.Detail = fmt.Sprintf("keys read: server %d, Redis %d; the server's cache hit rate is %.1f%% (generation counters are keys too)",
		srv.redis.KeysRead, redisRead, 100*ratio(srv.hits, srv.lookups))
	hc.Verdict = verdict(math.Abs(hc.Value1-hc.Value2) <= HitRateTolerance+slack+1e-9 &&
		redisRead >= srv.redis.KeysRead && redisRead-srv.redis.KeysRead <= srv.redis.UnconfirmedKeys)
	for name := range srv.redis.Commands {
		if strings.HasPrefix(name, "eval") || strings.HasPrefix(name, "fcall") {
			naReason = "the server ran scripts (" + name + ") whose key reads its hook cannot see"
		}
	}
	if srv.redis.KeysRead == 0 && redisRead == 0 {
		naReason = "no keys read"
	}
	if naReason != "" {
		hc.Verdict, hc.Detail = summary.NotMade, naReason
	}
	return hc
}

// judgePG is PostgreSQL's word on the mode: its counters over the attack and, when the
// server's counters are known, the DB-transactions cross-check appended to checks.
func judgePG(c Cuts, f *summary.Figures, checks []summary.CrossCheck) (*summary.PGStats, []summary.CrossCheck) {
	if c.PG == nil || c.Begin == nil || c.Finish == nil || c.Begin.PG == nil || c.Finish.PG == nil {
		return nil, checks
	}
	d := c.Finish.PG.Sub(*c.Begin.PG)
	own := d.Own
	xacts := d.XactCommit + d.XactRollback - own
	ps := &summary.PGStats{Database: c.PG.Database, XactCommit: d.XactCommit, XactRollback: d.XactRollback,
		TupReturned: d.TupReturned, TupFetched: d.TupFetched, BlksHit: d.BlksHit, BlksRead: d.BlksRead, Note: c.PG.Note}
	if d.Statements >= 0 {
		st := d.Statements
		ps.Statements = &st
	}
	srv := serverSub(c.Begin.Server, c.Finish.Server)
	if srv == nil {
		return ps, checks
	}
	ps.Requests = srv.requests
	ps.ServerTransactions = srv.transactions
	ps.TransactionsPerRequest = ratio(uint64(max(xacts, 0)), srv.requests)
	cc := summary.CrossCheck{Figure: "DB transactions", Mode: f.Mode,
		Witness1: "server (store's counters)", Value1: float64(srv.transactions),
		Witness2: "PostgreSQL pg_stat_database", Value2: float64(xacts),
		Unit: "count", Tolerance: fmt.Sprintf("1%% or %d, PostgreSQL's own autovacuum/autoanalyze transactions in the freshly seeded database", DBAutovacuumAllowance)}
	b, e := c.Begin.Server.Stats.DB, c.Finish.Server.Stats.DB
	cc.Detail = fmt.Sprintf("server: %d queries, %d pings, %d connections, %d prepares; PostgreSQL: %d commits + %d rollbacks",
		srv.dbQs, e.Pings-b.Pings, e.Connections-b.Connections, e.Prepares-b.Prepares, d.XactCommit, d.XactRollback)
	if own > 0 {
		cc.Tolerance += fmt.Sprintf(", after the harness's own %d stats queries", own)
	}
	cc.Verdict = verdict(math.Abs(cc.Value1-cc.Value2) <= math.Max(DBTolerance*math.Max(cc.Value1, cc.Value2), DBAutovacuumAllowance))
	return ps, append(checks, cc)
}

// judgeLatency is the server's own latency histogram over the measured window, and the
// cross-checks of the harness's service time and request count against it, appended to
// checks.
func judgeLatency(c Cuts, f *summary.Figures, checks []summary.CrossCheck) (*summary.ServerLatency, []summary.CrossCheck) {
	a, b := c.markNamed(driver.EventWarmupEnd), c.markNamed(driver.EventEnd)
	if a == nil || b == nil || a.Hist == nil || b.Hist == nil {
		return nil, checks
	}
	h := b.Hist.Sub(*a.Hist)
	if h.Count == 0 {
		return nil, checks
	}
	sl := &summary.ServerLatency{Requests: h.Count, P50: 1000 * h.Quantile(0.5), P99: 1000 * h.Quantile(0.99), Buckets: "classic"}
	rel := h.RelError()
	if h.Native {
		sl.Buckets = fmt.Sprintf("native ×%.3g", 1+rel)
	} else {
		rel = 0.25 // classic buckets: a quantile is only known to its bucket; allow a quarter
	}
	if a.HitHist != nil && b.HitHist != nil {
		if hh := b.HitHist.Sub(*a.HitHist); hh.Count > 0 {
			sl.HitRequests, sl.HitP50 = hh.Count, 1000*hh.Quantile(0.5)
		}
	}
	sl.NetworkClientP50 = f.ServiceTime.P50 - sl.P50
	sl.NetworkClientP99 = f.ServiceTime.P99 - sl.P99
	// Requests answered between the window's start and the first scrape are in the
	// harness's window but before the server's: at most the rate times that delay.
	early := math.Ceil(math.Max(f.Rate.Target, f.Rate.Achieved) * math.Max(a.HistAt, 0))
	transport := float64(f.ErrorsByKind["transport"])
	// The two windows hold nearly the same requests. The server's lacks at most `missing`
	// of the harness's (answered before the first scrape, transport errors, in flight at
	// either scrape: never fewer than the counts' difference, and one for discreteness),
	// and it also holds the warm-up requests still in flight when the window opened, which
	// the harness did not time and which, on a starved machine, are the slowest of all. The
	// server's value at rank r is then at most the harness's at rank r + missing, as long
	// as r + missing is a rank the harness has; a server quantile beyond that may be one of
	// those untimed requests, and the highest rank still bounded is judged instead.
	n, total := float64(max(f.Requests, 1)), float64(h.Count)
	missing := math.Max(early+transport, math.Abs(total-n)) + 1
	for _, q := range []struct {
		name          string
		q             float64
		server, local float64
	}{{"p50", 0.5, sl.P50, f.ServiceTime.P50}, {"p99", 0.99, sl.P99, f.ServiceTime.P99}} {
		cc := summary.CrossCheck{Figure: "latency " + q.name + " (server ≤ harness service time)", Mode: f.Mode,
			Witness1: "server histogram (/metrics)", Value1: q.server,
			Witness2: "harness service time", Value2: q.local, Unit: "ms"}
		cc.Detail = fmt.Sprintf("network + client share %.3f ms", q.local-q.server)
		rank, judged := q.q*total, ""
		if rank+missing > n {
			rank = n - missing
			if rank < 1 {
				cc.Verdict, cc.Tolerance = summary.NotMade, fmt.Sprintf("%.0f requests: too few to bound the server's %s by the harness's", n, q.name)
				checks = append(checks, cc)
				continue
			}
			cc.Value1 = 1000 * h.Quantile(rank/total)
			judged = fmt.Sprintf("; the server's %s may be one of the warm-up requests the harness did not time, so its %.1fth percentile is judged", q.name, 100*rank/total)
		}
		bound := serviceAt(f.ServiceTime, math.Min(1, (rank+missing)/n))
		cc.Tolerance = fmt.Sprintf("server ≤ the harness's time %.3g ms (its rank + %.0f for requests in one window only) + %.1f%% (bucket width)%s",
			bound, missing, 100*rel, judged)
		cc.Verdict = verdict(cc.Value1 <= bound*(1+rel)+0.001)
		checks = append(checks, cc)
	}
	// The server's window also counts the warm-up requests answered after it opened (a
	// stalled start leaves up to a second's worth in flight): more requests by that many.
	late := float64(c.WarmupLate)
	rc := summary.CrossCheck{Figure: "requests in the measured window", Mode: f.Mode,
		Witness1: "server histogram (/metrics)", Value1: float64(h.Count),
		Witness2: "harness", Value2: float64(f.Requests), Unit: "count",
		Tolerance: fmt.Sprintf("1%%, plus %.0f warm-up requests answered after the window opened, plus %.0f answered before the first scrape (%.0f ms after the window opened), plus %.0f transport errors",
			late, early, 1000*a.HistAt, transport)}
	diff, allowed := rc.Value1-rc.Value2, RequestTolerance*rc.Value2+early+transport+1
	rc.Verdict = verdict(diff <= allowed+late && -diff <= allowed)
	return sl, append(checks, rc)
}

// serviceAt interpolates the harness's service time at quantile q between the
// percentiles the summary keeps (p50, p90, p95, p99, p99.9, max).
func serviceAt(l summary.Latency, q float64) float64 {
	pts := []struct{ q, v float64 }{{0.5, l.P50}, {0.9, l.P90}, {0.95, l.P95}, {0.99, l.P99}, {0.999, l.P999}, {1, l.Max}}
	if q <= pts[0].q {
		return pts[0].v
	}
	for i := 1; i < len(pts); i++ {
		if q <= pts[i].q {
			a, b := pts[i-1], pts[i]
			return a.v + (b.v-a.v)*(q-a.q)/(b.q-a.q)
		}
	}
	return l.Max
}

func verdict(ok bool) string {
	if ok {
		return summary.Agree
	}
	return summary.Disagree
}
