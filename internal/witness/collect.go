package witness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/metrics"
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

// Session collects the witnesses of one mode: a consistent cut of the server's and Redis's
// counters (and PostgreSQL's, once its counters have settled) before and after the attack
// (Begin, Finish), and the server's counters, Redis's and the latency histogram at each
// boundary of the measured window and its phases (Mark). Cuts hands them over to Judge,
// which turns them into figures and cross-checks. A witness that cannot be read becomes
// a note, never a failed run.
type Session struct {
	src   Sources
	redis *Redis
	pg    *Postgres
	notes []string

	begin, finish *Cut
	marks         []Mark
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
func (s *Session) cut(ctx context.Context) *Cut {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := &Cut{}
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
				c.Server = nil
			} else {
				c.Server = &snap
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
		c.Redis = &r2
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
			c.PG = &p
		}
	}
	return c
}

// settledPG reads PostgreSQL's counters once the server's last transactions show in them:
// after the begin cut it waits PGFlushWait; after the finish cut it reads every half
// second until PostgreSQL has counted at least the transactions the server ran since the
// begin cut (or PGFlushWait has passed).
func (s *Session) settledPG(ctx context.Context, c *Cut) (PGCounters, error) {
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
		if s.begin != nil && s.begin.PG != nil && s.begin.Server != nil && c.Server != nil {
			want := int64(c.Server.Stats.DB.Transactions - s.begin.Server.Stats.DB.Transactions)
			d := p.Sub(*s.begin.PG)
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
	m := Mark{Name: name, Offset: offset.Seconds()}
	if len(s.src.MetricsURLs) > 0 {
		var sum, hits *Hist
		for _, u := range s.src.MetricsURLs {
			hs, err := ScrapeHists(ctx, s.src.HTTP, u, DurationMetric, APIRoutes, CacheHits)
			if err != nil {
				s.note("server latency witness: %v", err)
				sum, hits = nil, nil
				break
			}
			if sum == nil {
				sum, hits = &hs[0], &hs[1]
			} else if err := errors.Join(sum.merge(hs[0]), hits.merge(hs[1])); err != nil {
				s.note("server latency witness: %v", err)
				sum, hits = nil, nil
				break
			}
		}
		m.HitHist = hits
		m.Hist = sum
		m.HistAt = m.Offset + time.Since(began).Seconds()
	}
	if server != nil {
		m.Server = server(ctx)
	}
	if s.redis != nil {
		if r, err := s.redis.Read(ctx); err == nil {
			m.Redis = &r
		} // Redis down during a fault is expected: that window has no Redis figures
	}
	s.marks = append(s.marks, m)
}

// DurationMetric is the request-duration histogram the witness reads on /metrics (the
// reference server's refserver.DurationMetric).
const DurationMetric = "atlas_http_request_duration_seconds"

// Notes returns what could not be witnessed, and why.
func (s *Session) Notes() []string { return slices.Clone(s.notes) }

// Cuts returns what the session collected, for Judge.
func (s *Session) Cuts() Cuts {
	c := Cuts{Redis: s.redis != nil, Begin: s.begin, Finish: s.finish, Marks: slices.Clone(s.marks)}
	if s.pg != nil {
		c.PG = &PGSource{Database: s.pg.database, Note: s.pg.Note}
	}
	return c
}
