// Package merge owns bench merge: it combines the run directories of the shards of a
// distributed run (bench run -shard i/N) into one run directory, exactly. Percentiles come
// from the shards' merged HdrHistograms (never averaged), counts and client-side hit rates
// from summed counts, the achieved rate is summed, the server's counters are taken once
// (from shard 1, which polls the same server as every other shard over the same window),
// and the scenario's thresholds are evaluated on the merged figures.
package merge
