package runner

import (
	"context"
	"fmt"

	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/witness"
)

// openWitnesses names the second witnesses of one mode: the stack's Redis and run
// database (or -target-redis and -target-db), and every server's /metrics. Its own
// poller reads the server's counters, so the recorder's snapshots stay the attack's.
func (o *Options) openWitnesses(ctx context.Context, st *stack.Stack, bases []string) *witness.Session {
	own := metrics.NewPoller(bases[0], metrics.PollerOptions{More: bases[1:]})
	src := witness.Sources{Server: own.Poll}
	for _, b := range bases {
		src.MetricsURLs = append(src.MetricsURLs, b+"/metrics")
	}
	switch {
	case st != nil:
		if st.Redis != nil {
			src.Redis = []string{st.Redis.URL}
		}
		if st.DBName != "" {
			src.PGDSN, src.PGDatabase = o.DB, st.DBName
		}
	default:
		if o.TargetRedis != "" {
			src.Redis = []string{o.TargetRedis}
		}
		src.PGDSN = o.TargetDB
	}
	return witness.Open(ctx, src)
}

// gatherCrossChecks puts every mode's and repeat's cross-checks into the summary (a
// disagreement in a repeat that is not the median one is kept), adds the DB-query
// reduction as PostgreSQL saw it beside the server's, and says whether all agree.
func gatherCrossChecks(s *summary.Summary, figs map[summary.Mode][]summary.Figures) {
	cc := &summary.CrossChecks{}
	for _, mode := range []summary.Mode{summary.ModeNoCache, summary.ModeCache} {
		for i, f := range figs[mode] {
			for _, c := range f.CrossChecks {
				if len(figs[mode]) > 1 {
					c.Repeat = i + 1
				}
				cc.Checks = append(cc.Checks, c)
			}
		}
	}
	if s.NoCache != nil && s.PGStats != nil && s.NoCache.PGStats != nil {
		c, nc := s.PGStats, s.NoCache.PGStats
		if c.Requests > 0 && nc.Requests > 0 && nc.ServerTransactions > 0 && nc.TransactionsPerRequest > 0 {
			srv := 1 - (float64(c.ServerTransactions)/float64(c.Requests))/(float64(nc.ServerTransactions)/float64(nc.Requests))
			pg := 1 - c.TransactionsPerRequest/nc.TransactionsPerRequest
			r := summary.CrossCheck{Figure: "DB transaction reduction (cache vs no cache)", Mode: "both",
				Witness1: "server (store's counters)", Value1: srv, Witness2: "PostgreSQL pg_stat_database", Value2: pg,
				Unit: "ratio", Tolerance: "1 point"}
			if s.DBQueryReduction != nil {
				r.Detail = fmt.Sprintf("the server's DB-query reduction is %.1f%%; transactions also count the fence-log polls, pings and connections that DB queries leave out", 100**s.DBQueryReduction)
			}
			r.Verdict = summary.Agree
			if d := srv - pg; d > 0.01 || d < -0.01 {
				r.Verdict = summary.Disagree
			}
			cc.Checks = append(cc.Checks, r)
		}
	}
	if len(cc.Checks) == 0 {
		return
	}
	for _, c := range cc.Checks {
		if c.Verdict == summary.Disagree {
			cc.Disagreements++
		}
	}
	cc.AllAgree = cc.Disagreements == 0
	s.CrossChecks = cc
}
