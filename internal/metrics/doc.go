// Package metrics owns the figures of one mode of a run: HDR latency histograms (from the
// intended send time, and service time), by endpoint and by phase, per-second series, the
// X-Cache headers seen, and the server's own counters polled from
// /healthz?includeStats=true, from which hit rates, DB queries and recovery times come.
//
// A Recorder takes check.Verdicts (measured records only count) and the driver's events as
// they happen (phases), and Finish turns them, the run's driver.Outcome, the checkers'
// Report and the Poller's snapshots into summary.Figures.
//
// Hit rate of a class = hits / (hits + misses + bypasses) of the server's counters over the
// window: the cache counts exactly one of those per lookup (its "errors" count failed Redis
// calls, which were also counted as bypasses, so they are not added again). It is
// cross-checked with the X-Cache / X-Atlas-Tier-Cache headers the harness saw.
package metrics
