package runner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// restartVerbs are the faults that stop an instance gracefully.
var restartVerbs = []string{scenarios.FaultStopServer, scenarios.FaultRestartServer, scenarios.FaultRollingRestart}

// restartsInstances reports whether the scenario starts an instance again during the attack
// (its counters then begin again: the witnesses cannot judge the server's figures).
func restartsInstances(sc *scenarios.Scenario) bool {
	for _, f := range sc.Faults {
		switch f.Do {
		case scenarios.FaultStartServer, scenarios.FaultRestartServer, scenarios.FaultRollingRestart:
			return true
		}
	}
	return false
}

// restartTap is the tally the per-restart figures need, or nil when the scenario stops no
// instance gracefully (it keeps a few words per measured request).
func restartTap(sc *scenarios.Scenario) *metrics.Restarts {
	for _, f := range sc.Faults {
		if slices.Contains(restartVerbs, f.Do) {
			return metrics.NewRestarts()
		}
	}
	return nil
}

// readyPeriod is how often the driver, as the instances' load balancer, polls their
// readiness (scenarios.Scenario.DeploySettings); 0 (no polling) with one instance or when
// the scenario does not balance.
func readyPeriod(sc *scenarios.Scenario) time.Duration {
	d, balanced := sc.DeploySettings()
	if sc.Servers <= 1 || !balanced {
		return 0
	}
	return d.ReadyPeriod
}

// shutdownFlags are the -shutdown-delay and -drain-timeout of the instances a stack starts:
// the scenario's deploy settings when it balances on readiness, else no delay.
func shutdownFlags(sc *scenarios.Scenario) (delay, drain time.Duration) {
	d, balanced := sc.DeploySettings()
	if !balanced {
		return 0, d.DrainTimeout
	}
	return d.ShutdownDelay, d.DrainTimeout
}

// restartFigures measures every graceful stop and restart of the mode (summary.Restart) and
// says each in a note: drain time, requests in flight, errors, and the restarted instance's
// first seconds.
func restartFigures(mode summary.Mode, st *stack.Stack, tally *metrics.Restarts, measureStart time.Time, sc *scenarios.Scenario) ([]summary.Restart, []summary.Note) {
	if st == nil || tally == nil {
		return nil, nil
	}
	var events []metrics.RestartEvent
	for _, r := range st.Restarts() {
		e := metrics.RestartEvent{Server: r.Server, Term: r.Term.Sub(measureStart), Exited: r.Exited.Sub(measureStart)}
		if !r.Ready.IsZero() {
			e.Ready, e.Restarted = r.Ready.Sub(measureStart), true
		}
		if d := r.Drain; d != nil {
			e.Drain = &summary.Drain{InFlight: d.InFlight, AtClose: d.AtClose, CutOff: d.CutOff,
				DelayMS: ms(d.Delay), DrainMS: ms(d.Took),
				Pending: d.Pending, Applied: d.Applied, HandedOver: d.HandedOver, Lost: d.Lost}
		}
		events = append(events, e)
	}
	d, _ := sc.DeploySettings()
	figs := tally.Figures(events, d.FirstWindow)
	var notes []summary.Note
	for _, r := range figs {
		notes = append(notes, summary.Note{Kind: summary.NoteRestart, Mode: mode, Text: restartNote(r)})
	}
	return figs, notes
}

// restartNote says one restart in a sentence.
func restartNote(r summary.Restart) string {
	var b strings.Builder
	fmt.Fprintf(&b, "server %d SIGTERM at %.1fs: %s in flight, exited after %.2fs", r.Server, r.TermS, plural(int(r.InFlight), "request"), r.ExitS)
	if d := r.Drain; d != nil {
		fmt.Fprintf(&b, " (served %.0f ms after readiness failed, closed its listener with %d in flight, drained them in %.0f ms, %d cut off; pending invalidations %d: %d applied, %d handed over, %d lost)",
			d.DelayMS, d.AtClose, d.DrainMS, d.CutOff, d.Pending, d.Applied, d.HandedOver, d.Lost)
	} else {
		b.WriteString(" (it gave no account of a drain)")
	}
	if r.ReadyS != nil {
		fmt.Fprintf(&b, ", ready again after %.2fs", *r.ReadyS)
	}
	fmt.Fprintf(&b, "; %s", plural(int(r.Errors), "error"))
	if f := r.First; f != nil {
		hr := "no lookups"
		if f.HitRate >= 0 {
			hr = fmt.Sprintf("hit rate %.1f%%", 100*f.HitRate)
		}
		fmt.Fprintf(&b, "; its first %.0fs: %s, %s, p99 %.1f ms", f.Seconds, plural(int(f.Requests), "request"), hr, f.P99)
	}
	return b.String()
}
