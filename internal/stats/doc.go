// Package stats is the statistics of atlasbench's comparisons, as thin wrappers over
// golang.org/x/perf/benchmath (what benchstat uses): the median of a metric's repeats with
// its confidence interval, the Mann-Whitney U test of two sets of repeats, and how many
// repeats such a test needs to reach significance. bench gate and bench compare both judge
// through it.
package stats
