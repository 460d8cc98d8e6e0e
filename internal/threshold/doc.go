// Package threshold owns the CI-gate expressions of a scenario ("hit_rate.tier >= 0.80",
// "latency.p99 <= 50ms", `by_endpoint["GET /api/me/tier"].p99 < 5ms`): parsing them with
// column-exact errors, checking each path against the summary.json schema and each value's
// unit against its path, evaluating them over a *summary.Summary, and writing the verdicts
// as a terminal table or as JUnit XML for CI systems.
//
// A threshold is PATH OP VALUE. PATH is the summary's JSON name without the unit suffix
// (latency.p99 reads latency_ms.p99, recovery_s stays recovery_s), with ["key"] selecting a
// map entry (by_endpoint, db_queries.by_class) or the element of a list with that name
// (phases["redis-down"]); inside by_endpoint and phases a bare percentile (p99) reads the
// element's latency. OP is one of >= <= > < == !=. VALUE is a number in the path's unit
// (milliseconds for latency, seconds for *_s, 0–1 for ratios), or a duration (250us, 50ms,
// 1.5s) on a time path, or a percentage (80%) on a ratio path (hit_rate*, success_ratio,
// db_query_reduction).
//
// Paths are also the keys of summary.Summary.Samples; ParsePath and Path.Resolve let the
// gate package read a figure by the same name.
package threshold
