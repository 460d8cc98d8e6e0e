package witness

import (
	"fmt"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// DBReductionTolerance is the absolute tolerance of the DB-transaction reduction check:
// one point.
const DBReductionTolerance = 0.01

// DBReduction checks the cache's DB-transaction reduction (cache vs no cache) as the
// server's store counted it against PostgreSQL's pg_stat_database, from the two modes'
// PGStats; serverReduction, when known, is the server's DB-query reduction, for the detail.
// ok is false when either mode lacks what the check needs.
func DBReduction(cache, nocache *summary.PGStats, serverReduction *float64) (c summary.CrossCheck, ok bool) {
	if cache == nil || nocache == nil || cache.Requests == 0 || nocache.Requests == 0 ||
		nocache.ServerTransactions == 0 || nocache.TransactionsPerRequest == 0 {
		return c, false
	}
	srv := 1 - (float64(cache.ServerTransactions)/float64(cache.Requests))/(float64(nocache.ServerTransactions)/float64(nocache.Requests))
	pg := 1 - cache.TransactionsPerRequest/nocache.TransactionsPerRequest
	c = summary.CrossCheck{Figure: "DB transaction reduction (cache vs no cache)", Mode: "both",
		Witness1: "server (store's counters)", Value1: srv, Witness2: "PostgreSQL pg_stat_database", Value2: pg,
		Unit: "ratio", Tolerance: "1 point"}
	if serverReduction != nil {
		c.Detail = fmt.Sprintf("the server's DB-query reduction is %.1f%%; transactions also count the fence-log polls, pings and connections that DB queries leave out", 100**serverReduction)
	}
	c.Verdict = verdict(srv-pg <= DBReductionTolerance && pg-srv <= DBReductionTolerance)
	return c, true
}
