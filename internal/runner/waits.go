package runner

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/witness"
)

// WaitEvery is the longest a run stays silent while it waits: a countdown line at least this
// often.
const WaitEvery = 2 * time.Second

// countdown prints, for every tick until, how long is left before until ("label what in
// 42s (at 15:04:05Z)"), and stops at until or when stop is called; ticks drive it (a
// time.Ticker's channel in a run, a channel of its own in a test).
func countdown(w io.Writer, label, what string, until time.Time, ticks <-chan time.Time) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case now := <-ticks:
				left := until.Sub(now)
				if left <= 0 {
					return
				}
				fmt.Fprintf(w, "%s %s in %s (at %s)\n", label, what, left.Round(time.Second), until.UTC().Format(time.TimeOnly+"Z"))
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}

// startAtCountdown prints a countdown to the start of a -start-at run's attack (its warm-up
// before the measured window) every WaitEvery; stop ends it.
func (m *modeRun) startAtCountdown() (stop func()) {
	o := m.e
	if o.StartAt.IsZero() {
		return func() {}
	}
	tick := time.NewTicker(WaitEvery)
	stopCountdown := countdown(o.Progress, m.label(), "attack (warm-up "+m.sc.Warmup.String()+") starts", o.StartAt.Add(-m.sc.Warmup), tick.C)
	return func() { stopCountdown(); tick.Stop() }
}

// pgWait says, before the witnesses read PostgreSQL, what the run waits for and how long
// it may take; nothing without a PostgreSQL witness.
func (m *modeRun) pgWait(when string) {
	if (m.st != nil && m.st.DBName != "") || (m.st == nil && m.e.TargetDB != "") {
		fmt.Fprintf(m.e.Progress, "%s %s: waiting up to %.1fs for PostgreSQL's statistics (pg_stat_database is flushed about every 10 s)…\n",
			m.label(), when, witness.PGFlushWait.Seconds())
	}
}
