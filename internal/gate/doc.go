// Package gate owns the regression gate: it compares a run's summary with a baseline's,
// metric by metric, and decides whether the change is a regression.
//
// The statistics are golang.org/x/perf/benchmath's, chosen for benchmark data: each
// metric's samples (Summary.Samples, one value per -count repeat) are summarised by their
// median with a confidence interval, and two runs are compared with the Mann-Whitney U test.
// A metric regresses only when the change is in its bad direction, significant (p < alpha)
// and beyond its tolerance; noise that cannot be told apart from no change prints "~", and
// samples too few for the test to ever reach significance print a warning instead of a
// verdict. What is deterministic is judged strictly: errors, isolation violations and stale
// reads fail on any increase of their worst repeat, with no test; hit rates and DB queries
// per request, nearly deterministic for a seeded run, are judged on their values against
// their tolerance when there are too few samples for a test.
//
// A baseline from another scenario, cache config, mode or environment class (Redis backend,
// database, CPU count) cannot be compared at all: Compare returns an error wrapping
// ErrIncompatible.
package gate
