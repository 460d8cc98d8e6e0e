package runner

import (
	"strings"
	"testing"
	"time"
)

// TestCountdown: the countdown prints one line per tick with the time left, stops by itself
// at its end, and stop returns once it has stopped (the ticks are the test's own).
func TestCountdown(t *testing.T) {
	var b strings.Builder
	until := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	ticks := make(chan time.Time)
	stop := countdown(&b, "[default cache]", "attack starts", until, ticks)
	ticks <- until.Add(-10 * time.Second)
	ticks <- until.Add(-8 * time.Second)
	ticks <- until // the end: the countdown stops by itself
	stop()
	want := "[default cache] attack starts in 10s (at 15:04:05Z)\n[default cache] attack starts in 8s (at 15:04:05Z)\n"
	if b.String() != want {
		t.Errorf("countdown printed:\n%s\nwant:\n%s", b.String(), want)
	}

	// Stopped before its end (the attack started): no line after stop.
	b.Reset()
	ticks = make(chan time.Time)
	stop = countdown(&b, "[x]", "attack starts", until, ticks)
	ticks <- until.Add(-time.Minute)
	stop()
	stop() // twice is harmless
	if got := strings.Count(b.String(), "\n"); got != 1 {
		t.Errorf("%d lines after stop, want 1:\n%s", got, b.String())
	}
}
