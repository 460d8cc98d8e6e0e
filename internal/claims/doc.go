// Package claims owns `bench claims`: the Atlas write-up's claims as data, the runs that
// measure them, their verdicts and the scorecard (claims.md, claims.html, claims.json).
//
// A claim is the write-up's words, the figure that tests it, and checks: threshold
// expressions (internal/threshold, the gate's own language) over the summary.json of named
// runs. A verdict is computed from those summaries, never written in: HOLDS when every check
// passes, FAILS when one does not (even if another could not be measured), NOT MEASURED (with the reason) when the claim has no check
// yet, a run it needs failed (no summary: Scorecard.RunFailed, the environment's fault), or
// the run ran but measured none of the figure (no answer served wholly from the cache: a
// verdict about the measurement, not a failed run), INCONCLUSIVE when nothing failed but a
// latency check's run had a saturated load generator (summary.Summary.Inconclusive). A
// claim turns measured by adding its run
// to Plan and its checks to Table.
//
// The hit-rate and DB-reduction claims are also swept over requests per user per TTL (users
// × rate × TTL, the variable that decides them): each sweep point is a run, and the
// scorecard states from which value of that variable the claim holds, with a chart of the
// figure against it, the claimed band shaded and the ideal cache's bound beside it.
//
// The package runs nothing itself: Plan says what to run, the caller runs it (cmd/bench
// through internal/runner) and hands each run's summary back to Evaluate.
package claims
