package runner

import (
	"context"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/testutil"
)

// TestMemSamplerSeriesFromMeasureStart: the series' times are seconds from the measured
// window's start given to collect, whenever the sampler started.
func TestMemSamplerSeriesFromMeasureStart(t *testing.T) {
	srv := testutil.Redis(t)
	before := time.Now()
	m := startMemSampler(context.Background(), srv.URL())
	if m == nil {
		t.Fatal("startMemSampler: nil for a running Redis")
	}
	defer m.close()
	// A measured window that starts an hour after the sampler: every sample is before it.
	measureStart := before.Add(time.Hour)
	mem := m.collect(context.Background(), measureStart)
	after := time.Now()
	if mem == nil || len(mem.Series) == 0 {
		t.Fatalf("collect: %+v, want a series", mem)
	}
	lo, hi := before.Sub(measureStart).Seconds(), after.Sub(measureStart).Seconds()
	for _, p := range mem.Series {
		if p.T < lo || p.T > hi {
			t.Errorf("sample at t=%.3fs, want within [%.3f, %.3f] (from the measured window's start)", p.T, lo, hi)
		}
	}
}

// TestMemSamplerCloseIdempotent: close stops the sampling goroutine without collect (an
// error path) and may run again (onClose after collect).
func TestMemSamplerCloseIdempotent(t *testing.T) {
	srv := testutil.Redis(t)
	m := startMemSampler(context.Background(), srv.URL())
	if m == nil {
		t.Fatal("startMemSampler: nil for a running Redis")
	}
	m.close()
	select {
	case <-m.done:
	default:
		t.Fatal("sampling goroutine still running after close")
	}
	m.close()

	m2 := startMemSampler(context.Background(), srv.URL())
	if m2 == nil {
		t.Fatal("startMemSampler: nil for a running Redis")
	}
	if mem := m2.collect(context.Background(), time.Now()); mem == nil {
		t.Error("collect: nil for a running Redis")
	}
	m2.close()
	m2.close()
}
