package report

import (
	"fmt"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// restartSection is the table of the graceful stops and restarts of instances (a deploy):
// per restart, what was in flight, how long the drain took, the errors, and the restarted
// instance's first seconds.
func restartSection(f *summary.Figures) *section {
	if len(f.Restarts) == 0 {
		return nil
	}
	sec := &section{Title: "Restarts (" + modeLabel(f) + ")"}
	sec.Lines = append(sec.Lines, line{Text: "In flight: requests to the instance sent before its SIGTERM and answered after. " +
		"Errors: failed requests to any instance in flight then or sent until it answered again. " +
		"Drain: the server's own account (listener close to the last request done; cut off at the drain timeout; " +
		"pending invalidations handed over to the fence log / lost)."})
	t := &table{Head: []string{"instance", "SIGTERM (s)", "in flight", "exit (s)", "drain (ms)", "cut off",
		"handed over / lost", "ready (s)", "errors", "first s: requests", "hit rate", "p99 (ms)"}, Align: "rrrrrrrrrrrr"}
	for _, r := range f.Restarts {
		drain, cut, pend := dash, dash, dash
		if d := r.Drain; d != nil {
			drain, cut, pend = ms(d.DrainMS), count(d.CutOff), fmt.Sprintf("%d / %d", d.HandedOver, d.Lost)
		}
		ready, reqs, hr, p99 := dash, dash, dash, dash
		if r.ReadyS != nil {
			ready = fmt.Sprintf("%.2f", *r.ReadyS)
		}
		if w := r.First; w != nil {
			reqs, p99 = count(w.Requests), ms(w.P99)
			if w.HitRate >= 0 {
				hr = pct(w.HitRate)
			}
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(r.Server), fmt.Sprintf("%.1f", r.TermS), count(r.InFlight),
			fmt.Sprintf("%.2f", r.ExitS), drain, cut, pend, ready, count(r.Errors), reqs, hr, p99})
	}
	sec.Table = t
	return sec
}
