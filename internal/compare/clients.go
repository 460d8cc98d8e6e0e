package compare

import "slices"

// clientCacheRows are the rows of the devices' HTTP caches (summary.ClientCache) when a run
// had them: a run without shows no value, which is the comparison bench compare
// -client-caches makes (the effect a load test without client caches misses).
func clientCacheRows(runs []Run) []rowSpec {
	if !slices.ContainsFunc(runs, func(r Run) bool { return r.Summary.ClientCache != nil }) {
		return nil
	}
	return []rowSpec{
		{"client_cache.total.share_304", "client caches: share of GETs answered 304"},
		{"client_cache.total.bytes_saved", "client caches: body bytes saved"},
		{"client_cache.total.p50_304", "client caches: p50 service time of a 304"},
		{"client_cache.total.p50_200", "client caches: p50 service time of a 200"},
		{"client_cache.total.db_loads_saved", "client caches: DB loads saved on top of Redis"},
		{"client_cache.total.stale_reads", "client caches: stale reads the devices showed"},
	}
}
