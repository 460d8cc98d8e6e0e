package witness

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/summary"
)

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

// Sources are the witnesses of one mode of a run. A zero field means that witness is absent.
type Sources struct {
	// Redis are the URLs of every Redis node the server uses (or -target-redis).
	Redis []string
	// PGDSN connects to PostgreSQL; PGDatabase names the database to read (empty: PGDSN's own).
	PGDSN, PGDatabase string
	// MetricsURLs are the servers' /metrics, where the request-duration histogram is
	// (one per server instance; their histograms are added).
	MetricsURLs []string
	// Server reads the server's own counters (the harness's stats poll); nil when the server
	// has none (a -target that is not an Atlas server).
	Server func(ctx context.Context) (metrics.Snapshot, error)
	// HTTP scrapes MetricsURL; default a client with a 5 s timeout.
	HTTP *http.Client
}

// Session reads the witnesses of one mode: a consistent cut of the server's and Redis's
// counters (and PostgreSQL's, once its counters have settled) before and after the attack
// (Begin, Finish), and the server's counters, Redis's and the latency histogram at each
// boundary of the measured window and its phases (Mark). Judge turns them into figures and
// cross-checks. A witness that cannot be read becomes a note, never a failed run.
type Session struct {
	src   Sources
	redis *Redis
	pg    *Postgres
	notes []string

	begin, finish *cut
	marks         []mark
}

// cut is the counters at an idle moment.
type cut struct {
	server *metrics.Snapshot
	redis  *RedisCounters
	pg     *PGCounters
}

// mark is the counters at a boundary of the measured window.
type mark struct {
	name   string
	offset float64 // seconds from the end of warm-up
	server *metrics.Snapshot
	redis  *RedisCounters
	hist   *Hist
	histAt float64 // when the histogram scrape finished, seconds from the end of warm-up
}

// Open connects to the witnesses src names.
func Open(ctx context.Context, src Sources) *Session {
	s := &Session{src: src}
	if s.src.HTTP == nil {
		s.src.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	if len(src.Redis) > 0 {
		r, err := NewRedis(src.Redis)
		if err != nil {
			s.note("Redis witness: %v", err)
		} else {
			s.redis = r
		}
	}
	if src.PGDSN != "" {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		p, err := OpenPostgres(cctx, src.PGDSN, src.PGDatabase)
		cancel()
		if err != nil {
			s.note("PostgreSQL witness: %v", err)
		} else {
			s.pg = p
			if p.Note != "" {
				s.note("%s", p.Note)
			}
		}
	}
	return s
}

func (s *Session) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !slices.Contains(s.notes, n) {
		s.notes = append(s.notes, n)
	}
}

// Close releases the connections.
func (s *Session) Close() {
	if s.redis != nil {
		s.redis.Close()
	}
	if s.pg != nil {
		s.pg.Close()
	}
}

// Begin takes the cut before the attack; call it with the server idle.
func (s *Session) Begin(ctx context.Context) { s.begin = s.cut(ctx) }

// Finish takes the cut after the attack, once every answer came back and the stats
// poller stopped.
func (s *Session) Finish(ctx context.Context) { s.finish = s.cut(ctx) }

// cut reads Redis, the server, and Redis again until the two Redis reads agree on every
// command the cache could have sent (nothing ran in between but the server's own health
// ping), so the server's counters and Redis's describe the same moment. PostgreSQL is read
// after its counters have settled (PGFlushWait).
func (s *Session) cut(ctx context.Context) *cut {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := &cut{}
	for attempt := range 20 {
		var r1 *RedisCounters
		if s.redis != nil {
			r, err := s.redis.Read(ctx)
			if err != nil {
				s.note("Redis witness: %v", err)
				break
			}
			r1 = &r
		}
		if s.src.Server != nil {
			snap, err := s.src.Server(ctx)
			if err != nil {
				s.note("server counters for the witnesses: %v", err)
				c.server = nil
			} else {
				c.server = &snap
			}
		}
		if r1 == nil {
			break
		}
		r2, err := s.redis.Read(ctx)
		if err != nil {
			s.note("Redis witness: %v", err)
			break
		}
		c.redis = &r2
		if quiet(*r1, r2) {
			break
		}
		if attempt == 19 {
			s.note("Redis was never idle for a consistent read of its counters; the Redis cross-checks may be off by what ran meanwhile")
		}
		select {
		case <-ctx.Done():
			return c
		case <-time.After(100 * time.Millisecond):
		}
	}
	if s.pg != nil {
		if p, err := s.settledPG(ctx, c); err != nil {
			s.note("PostgreSQL witness: %v", err)
		} else {
			c.pg = &p
		}
	}
	return c
}

// settledPG reads PostgreSQL's counters once the server's last transactions show in them:
// after the begin cut it waits PGFlushWait; after the finish cut it reads every half
// second until PostgreSQL has counted at least the transactions the server ran since the
// begin cut (or PGFlushWait has passed).
func (s *Session) settledPG(ctx context.Context, c *cut) (PGCounters, error) {
	deadline := time.Now().Add(PGFlushWait)
	if s.begin == nil {
		// Nothing to compare with yet: wait once, then read once (each read is a query of ours).
		select {
		case <-ctx.Done():
			return PGCounters{}, ctx.Err()
		case <-time.After(PGFlushWait):
		}
		return s.pg.Read(ctx)
	}
	for {
		p, err := s.pg.Read(ctx)
		if err != nil {
			return p, err
		}
		if s.begin != nil && s.begin.pg != nil && s.begin.server != nil && c.server != nil {
			want := int64(c.server.Stats.DB.Transactions - s.begin.server.Stats.DB.Transactions)
			d := p.Sub(*s.begin.pg)
			if d.XactCommit+d.XactRollback-d.Own >= want {
				return p, nil
			}
		}
		if !time.Now().Before(deadline) {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-time.After(min(500*time.Millisecond, time.Until(deadline))):
		}
	}
}

// quiet reports whether nothing but health pings and the witness's own INFO ran between a and b.
func quiet(a, b RedisCounters) bool {
	if a.Hits != b.Hits || a.Misses != b.Misses {
		return false
	}
	for name, n := range b.Calls {
		if !excluded(name) && a.Calls[name] != n {
			return false
		}
	}
	return true
}

// excluded reports whether a command is left out of the comparison by name and of the
// per-request figures: the witness's own INFO, health-check pings (the harness's polls
// cause them), connection set-up (hello, client …, auth, select, readonly), which go-redis
// sends on its own and Redis names by subcommand, and a Cluster client's bookkeeping
// (cluster slots, cluster nodes: its hook sees some as "cluster", not all).
func excluded(name string) bool {
	switch name {
	case "info", "ping", "hello", "auth", "select", "command", "readonly", "readwrite", "cluster":
		return true
	}
	return strings.HasPrefix(name, "client") || strings.HasPrefix(name, "command|") || strings.HasPrefix(name, "cluster|")
}

// Mark reads the counters at a boundary of the measured window: the end of warm-up, a
// fault, the end. The server's latency histogram is scraped first (its window must start
// as close to the boundary as it can), then the server's counters (server, nil: none),
// then Redis's. offset is when the boundary's event finished, from the end of warm-up.
func (s *Session) Mark(ctx context.Context, name string, offset time.Duration, server func(ctx context.Context) *metrics.Snapshot) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	began := time.Now()
	m := mark{name: name, offset: offset.Seconds()}
	if len(s.src.MetricsURLs) > 0 {
		var sum *Hist
		for _, u := range s.src.MetricsURLs {
			h, err := ScrapeHist(ctx, s.src.HTTP, u, DurationMetric, APIRoutes)
			if err != nil {
				s.note("server latency witness: %v", err)
				sum = nil
				break
			}
			if sum == nil {
				sum = &h
			} else if err := sum.merge(h); err != nil {
				s.note("server latency witness: %v", err)
				sum = nil
				break
			}
		}
		m.hist = sum
		m.histAt = m.offset + time.Since(began).Seconds()
	}
	if server != nil {
		m.server = server(ctx)
	}
	if s.redis != nil {
		if r, err := s.redis.Read(ctx); err == nil {
			m.redis = &r
		} // Redis down during a fault is expected: that window has no Redis figures
	}
	s.marks = append(s.marks, m)
}

// DurationMetric is the request-duration histogram the witness reads on /metrics (the
// reference server's refserver.DurationMetric).
const DurationMetric = "atlas_http_request_duration_seconds"

// Notes returns what could not be witnessed, and why.
func (s *Session) Notes() []string { return slices.Clone(s.notes) }

// Judge fills f's witnessed figures (RedisStats, PGStats, ServerLatency) and cross-checks.
func (s *Session) Judge(f *summary.Figures) {
	s.judgeRedis(f)
	s.judgePG(f)
	s.judgeLatency(f)
}

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
		KeyspaceHitRatio: ratio(d.Hits, d.Hits+d.Misses), Commands: map[string]uint64{}, Restarted: restarted}
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
	}
	return rs, restarted
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (s *Session) markNear(offset float64) *mark {
	for i := range s.marks {
		if math.Abs(s.marks[i].offset-offset) < 0.5 {
			return &s.marks[i]
		}
	}
	return nil
}

func (s *Session) markNamed(name string) *mark {
	for i := range s.marks {
		if s.marks[i].name == name {
			return &s.marks[i]
		}
	}
	return nil
}

func (s *Session) judgeRedis(f *summary.Figures) {
	if s.redis == nil {
		return
	}
	stats := map[string]summary.RedisStats{}
	// The measured window and each phase, between marks (not idle moments: figures only).
	if a, b := s.markNamed("warmup-end"), s.markNamed("end"); a != nil && b != nil && a.redis != nil && b.redis != nil {
		stats["window"], _ = redisStats(a.redis, b.redis, serverSub(a.server, b.server))
	}
	for _, p := range f.Phases {
		a, b := s.markNear(p.StartS), s.markNear(p.EndS)
		if a == nil || b == nil || a == b || a.redis == nil || b.redis == nil {
			continue
		}
		stats[p.Name], _ = redisStats(a.redis, b.redis, serverSub(a.server, b.server))
	}
	if s.begin == nil || s.finish == nil || s.begin.redis == nil || s.finish.redis == nil {
		if len(stats) > 0 {
			f.RedisStats = stats
		}
		return
	}
	var srv *serverDelta
	if s.begin.server != nil && s.finish.server != nil {
		srv = serverSub(s.begin.server, s.finish.server)
	}
	attack, restarted := redisStats(s.begin.redis, s.finish.redis, srv)
	stats["attack"] = attack
	f.RedisStats = stats
	if srv == nil || srv.redis == nil {
		return // no server word on Redis: Redis's figures stand alone
	}
	d, _ := s.finish.redis.Sub(*s.begin.redis)
	unconf := srv.redis.Unconfirmed
	naReason := ""
	if restarted {
		naReason = "a Redis node restarted during the attack: its counters started again"
	}

	// Commands by name: exact, except that Redis may have run some of the commands the
	// server got no reply for (timeouts): Redis's count may exceed the server's by at most those.
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
	cc := summary.CrossCheck{Figure: "Redis commands per request", Mode: f.Mode,
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
	f.CrossChecks = append(f.CrossChecks, cc)

	// Keyspace hit ratio, within a point (plus what the unanswered reads could move it).
	redisRead := d.Hits + d.Misses
	hc := summary.CrossCheck{Figure: "Redis keyspace hit ratio", Mode: f.Mode,
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
	f.CrossChecks = append(f.CrossChecks, hc)
}

func (s *Session) judgePG(f *summary.Figures) {
	if s.pg == nil || s.begin == nil || s.finish == nil || s.begin.pg == nil || s.finish.pg == nil {
		return
	}
	d := s.finish.pg.Sub(*s.begin.pg)
	own := d.Own
	xacts := d.XactCommit + d.XactRollback - own
	ps := &summary.PGStats{Database: s.pg.database, XactCommit: d.XactCommit, XactRollback: d.XactRollback,
		TupReturned: d.TupReturned, TupFetched: d.TupFetched, BlksHit: d.BlksHit, BlksRead: d.BlksRead, Note: s.pg.Note}
	if d.Statements >= 0 {
		st := d.Statements
		ps.Statements = &st
	}
	f.PGStats = ps
	srv := serverSub(s.begin.server, s.finish.server)
	if srv == nil {
		return
	}
	ps.Requests = srv.requests
	ps.ServerTransactions = srv.transactions
	ps.TransactionsPerRequest = ratio(uint64(max(xacts, 0)), srv.requests)
	cc := summary.CrossCheck{Figure: "DB transactions", Mode: f.Mode,
		Witness1: "server (store's counters)", Value1: float64(srv.transactions),
		Witness2: "PostgreSQL pg_stat_database", Value2: float64(xacts),
		Unit: "count", Tolerance: fmt.Sprintf("1%% or %d, PostgreSQL's own autovacuum/autoanalyze transactions in the freshly seeded database", DBAutovacuumAllowance)}
	b, e := s.begin.server.Stats.DB, s.finish.server.Stats.DB
	cc.Detail = fmt.Sprintf("server: %d queries, %d pings, %d connections, %d prepares; PostgreSQL: %d commits + %d rollbacks",
		srv.dbQs, e.Pings-b.Pings, e.Connections-b.Connections, e.Prepares-b.Prepares, d.XactCommit, d.XactRollback)
	if own > 0 {
		cc.Tolerance += fmt.Sprintf(", after the harness's own %d stats queries", own)
	}
	cc.Verdict = verdict(math.Abs(cc.Value1-cc.Value2) <= math.Max(DBTolerance*math.Max(cc.Value1, cc.Value2), DBAutovacuumAllowance))
	f.CrossChecks = append(f.CrossChecks, cc)
}

func (s *Session) judgeLatency(f *summary.Figures) {
	a, b := s.markNamed("warmup-end"), s.markNamed("end")
	if a == nil || b == nil || a.hist == nil || b.hist == nil {
		return
	}
	h := b.hist.Sub(*a.hist)
	if h.Count == 0 {
		return
	}
	sl := &summary.ServerLatency{Requests: h.Count, P50: 1000 * h.Quantile(0.5), P99: 1000 * h.Quantile(0.99), Buckets: "classic"}
	rel := h.RelError()
	if h.Native {
		sl.Buckets = fmt.Sprintf("native ×%.3g", 1+rel)
	} else {
		rel = 0.25 // classic buckets: a quantile is only known to its bucket; allow a quarter
	}
	sl.NetworkClientP50 = f.ServiceTime.P50 - sl.P50
	sl.NetworkClientP99 = f.ServiceTime.P99 - sl.P99
	f.ServerLatency = sl
	// The two windows hold nearly the same requests: the server's also has the warm-up
	// requests still in flight when the window opened. Its q-quantile is bounded by the
	// harness's at q plus that many ranks (and one for discreteness).
	n := float64(max(f.Requests, 1))
	slackRanks := (math.Abs(float64(h.Count)-float64(f.Requests)) + 1) / n
	for _, q := range []struct {
		name          string
		q             float64
		server, local float64
	}{{"p50", 0.5, sl.P50, f.ServiceTime.P50}, {"p99", 0.99, sl.P99, f.ServiceTime.P99}} {
		bound := serviceAt(f.ServiceTime, math.Min(1, q.q+slackRanks))
		cc := summary.CrossCheck{Figure: "latency " + q.name + " (server ≤ harness service time)", Mode: f.Mode,
			Witness1: "server histogram (/metrics)", Value1: q.server,
			Witness2: "harness service time", Value2: q.local, Unit: "ms",
			Tolerance: fmt.Sprintf("server ≤ the harness's time %.3g ms (its rank + %.2f%% for requests in flight at the window's start) + %.1f%% (bucket width)",
				bound, 100*slackRanks, 100*rel)}
		cc.Detail = fmt.Sprintf("network + client share %.3f ms", q.local-q.server)
		cc.Verdict = verdict(q.server <= bound*(1+rel)+0.001)
		f.CrossChecks = append(f.CrossChecks, cc)
	}
	// Requests answered between the window's start and the first scrape are in the
	// harness's window but before the server's: at most the rate times that delay.
	early := math.Ceil(math.Max(f.Rate.Target, f.Rate.Achieved) * math.Max(a.histAt, 0))
	transport := float64(f.ErrorsByKind["transport"])
	rc := summary.CrossCheck{Figure: "requests in the measured window", Mode: f.Mode,
		Witness1: "server histogram (/metrics)", Value1: float64(h.Count),
		Witness2: "harness", Value2: float64(f.Requests), Unit: "count",
		Tolerance: fmt.Sprintf("1%%, plus %.0f answered before the first scrape (%.0f ms after the window opened), plus %.0f transport errors",
			early, 1000*a.histAt, transport)}
	diff := math.Abs(rc.Value1 - rc.Value2)
	rc.Verdict = verdict(diff <= RequestTolerance*rc.Value2+early+transport+1)
	f.CrossChecks = append(f.CrossChecks, rc)
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
