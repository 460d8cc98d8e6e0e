package runner

import (
	"fmt"
	"io"
	"time"

	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// plan counts the attacks of a run (repeats × configs × modes) for the overall ETA.
type plan struct {
	total   int       // attacks in the whole run
	started int       // attacks started so far
	began   time.Time // when the first attack's stack started
	// finishedWall is the wall time the finished attacks took, stack start and teardown
	// included: their average estimates the ones still to come.
	finishedWall time.Duration
}

// next marks the start of an attack (its stack included).
func (p *plan) next(now time.Time) {
	if p.started == 0 {
		p.began = now
	} else {
		p.finishedWall = now.Sub(p.began)
	}
	p.started++
}

// eta is the time left for the whole run, given the current attack's progress.
func (p *plan) eta(pr driver.Progress) time.Duration {
	left := max(pr.Total-pr.Elapsed, 0)
	after := p.total - p.started
	if after <= 0 {
		return left
	}
	per := pr.Total // before any attack finished: the attack alone
	if done := p.started - 1; done > 0 {
		per = p.finishedWall / time.Duration(done)
	}
	return left + time.Duration(after)*per
}

// progress prints live progress: on a terminal one line rewritten every second, else a
// plain line every five seconds (CI logs).
type progress struct {
	w         io.Writer
	tty       bool
	label     string
	plan      *plan
	lastPlain time.Duration
}

// newProgress starts the progress of the next attack of o's run: config's mode, repeat rep.
// Its label names all three ("none cache 3/4": the config none's cache mode, repeat 3 of 4).
func (e *engine) newProgress(config string, mode summary.Mode, rep int) *progress {
	label := config + " " + string(mode)
	if e.Count > 1 {
		label = fmt.Sprintf("%s %s %d/%d", config, mode, rep, e.Count)
	}
	e.attacks.next(time.Now())
	return &progress{w: e.Progress, tty: e.TTY, label: label, plan: e.attacks, lastPlain: -time.Hour}
}

func (p *progress) tick(pr driver.Progress) {
	phase := ""
	if pr.Warmup {
		phase = " (warm-up)"
	}
	hit := "—"
	if pr.HitRate >= 0 {
		hit = fmt.Sprintf("%.1f%%", 100*pr.HitRate)
	}
	line := fmt.Sprintf("[%s] %5.1fs/%.0fs%s  %6.0f rps  p50 %s p99 %s  %d errors  hit %s  sent %d  ETA %s",
		p.label, pr.Elapsed.Seconds(), pr.Total.Seconds(), phase, pr.RPS, shortMS(pr.P50), shortMS(pr.P99),
		pr.Errors, hit, pr.Sent, p.plan.eta(pr).Round(time.Second))
	switch {
	case pr.CutOff:
		line += fmt.Sprintf("  CUT OFF: %.1fs behind schedule, stopped sending", pr.Lag.Seconds())
	case pr.Lag >= time.Second:
		line += fmt.Sprintf("  behind schedule %.1fs", pr.Lag.Seconds())
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	if pr.Elapsed-p.lastPlain >= 5*time.Second {
		p.lastPlain = pr.Elapsed
		fmt.Fprintln(p.w, line)
	}
}

// shortMS shows a latency of the progress line in milliseconds, "—" when nothing arrived.
func shortMS(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	ms := float64(d) / float64(time.Millisecond)
	if ms >= 100 {
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.1fms", ms)
}
