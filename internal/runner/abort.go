package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/threshold"
	"github.com/atlasbench/atlasbench/scenarios"
)

// abortRule is a threshold with `abort: true`: a count of the measured window (errors,
// isolation violations, stale reads) that only grows, with a limit it must stay under. Once
// the count is past the limit, the threshold is lost for good.
type abortRule struct {
	expr  string
	count string // the summary path: errors, isolation_violations or stale_reads
	limit float64
	op    threshold.Op
	grace time.Duration
}

// abortable reports whether a run can lose the figure at path for good while it goes: a
// count of the measured window that only grows.
func abortable(path string) bool {
	return path == "errors" || path == "isolation_violations" || path == "stale_reads"
}

// abortRules reads the scenario's aborting thresholds; an expression that cannot be lost for
// good while the run goes (a ratio or a latency may still recover) is a problem of its field.
func abortRules(sc *scenarios.Scenario) ([]abortRule, error) {
	var rules []abortRule
	var errs []error
	for _, a := range sc.Aborts {
		field := fmt.Sprintf("thresholds[%d].abort", a.Threshold)
		e, err := threshold.Parse(sc.Thresholds[a.Threshold])
		if err != nil {
			continue // checkThresholds reports it
		}
		path := e.Path.String()
		if !abortable(path) || (e.Op != threshold.OpEQ && e.Op != threshold.OpLE && e.Op != threshold.OpLT) || e.Value < 0 {
			errs = append(errs, sc.Problem(field, fmt.Errorf("%q cannot be lost for good while the run goes: abort applies to errors, isolation_violations or stale_reads with ==, <= or < (counts that only grow)", e.Raw)))
			continue
		}
		rules = append(rules, abortRule{expr: e.Raw, count: path, limit: e.Value, op: e.Op, grace: a.Grace})
	}
	return rules, errors.Join(errs...)
}

// abortWatch counts the measured verdicts the aborting thresholds read and, once one is lost
// for good, stops the attack after the threshold's grace period, with the reason as the
// attack context's cause.
type abortWatch struct {
	rules  []abortRule
	stop   context.CancelCauseFunc
	mu     sync.Mutex
	counts map[string]float64
	lost   bool
	timer  *time.Timer
}

// errAborted is the cause of an attack an aborting threshold stopped.
var errAborted = errors.New("aborted")

// newAbortWatch returns a watch over rules that calls stop; nil without rules.
func newAbortWatch(rules []abortRule, stop context.CancelCauseFunc) *abortWatch {
	if len(rules) == 0 {
		return nil
	}
	return &abortWatch{rules: rules, stop: stop, counts: map[string]float64{}}
}

// Add counts one verdict (warm-up ones are not measured, so not counted).
func (w *abortWatch) Add(v check.Verdict) {
	if w == nil || v.Warmup {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if v.Error != "" {
		w.counts["errors"]++
	}
	for _, f := range v.Findings {
		switch f.Kind {
		case check.KindIsolation, check.KindTier:
			w.counts["isolation_violations"]++
		case check.KindStale:
			w.counts["stale_reads"]++
		}
	}
	if w.lost {
		return
	}
	for _, r := range w.rules {
		n := w.counts[r.count]
		if r.op.Holds(n, r.limit) {
			continue
		}
		w.lost = true
		reason := fmt.Errorf("%w: threshold %s lost for good at %.1fs into the measured window (%s %g)", errAborted, r.expr, v.End().Seconds(), r.count, n)
		if r.grace > 0 {
			reason = fmt.Errorf("%w; stopped after its grace period of %s", reason, r.grace)
		}
		w.timer = time.AfterFunc(r.grace, func() { w.stop(reason) })
		return
	}
}

// close stops a pending abort's timer (the attack ended first).
func (w *abortWatch) close() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}
