// Package compare owns the rendering of `bench compare`: one scenario run under several
// cache configurations, side by side. From one *summary.Summary per configuration (each with
// the Samples of its -count repeats) it builds a table of the key figures with significance
// marks against the first configuration (Mann-Whitney U through the gate package), a
// one-line recommendation derived from the numbers, and writes compare.md, a self-contained
// compare.html and grouped bar charts (gonum/plot): hit rate per class, p50/p99 latency,
// DB queries per request, and latency and errors of the fault phases.
//
// It attacks nothing and reads no run directory: the orchestrator runs the configurations
// and hands the summaries over.
package compare
