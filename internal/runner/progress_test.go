package runner

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/driver"
)

// TestPlanETA: the ETA is what is left of the current attack plus the attacks still to
// come, estimated from the finished ones once there are any.
func TestPlanETA(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &plan{total: 4}
	p.next(t0)
	if got := p.eta(driver.Progress{Elapsed: 4 * time.Second, Total: 10 * time.Second}); got != 36*time.Second {
		t.Errorf("first attack at 4 of 10 s: ETA %v, want 6 s + 3 × 10 s", got)
	}
	p.next(t0.Add(25 * time.Second)) // the first attack took 25 s, stack included
	if got := p.eta(driver.Progress{Elapsed: 0, Total: 10 * time.Second}); got != 60*time.Second {
		t.Errorf("second attack at 0 s: ETA %v, want 10 s + 2 × 25 s", got)
	}
	p.next(t0.Add(45 * time.Second))
	p.next(t0.Add(75 * time.Second))
	if got := p.eta(driver.Progress{Elapsed: 12 * time.Second, Total: 10 * time.Second}); got != 0 {
		t.Errorf("last attack past its total: ETA %v, want 0", got)
	}
}

// TestProgressLine: the line names the config, mode and repeat it runs, and shows the
// interval's percentiles and the ETA.
func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	o := &engine{Options: Options{Progress: &buf, Count: 2}, attacks: &plan{total: 2}}
	pr := o.newProgress("none", "cache", 1)
	pr.tick(driver.Progress{Elapsed: 6 * time.Second, Total: 10 * time.Second, RPS: 100, HitRate: 0.5,
		P50: 1500 * time.Microsecond, P99: 250 * time.Millisecond})
	line := buf.String()
	for _, want := range []string{"[none cache 1/2]", "p50 1.5ms p99 250ms", "hit 50.0%", "ETA 14s"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
}
