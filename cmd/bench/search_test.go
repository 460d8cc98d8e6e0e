package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/report"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestRunCapacitySearch runs a seconds-long capacity search in both modes on a real stack:
// each mode's summary has the search (steps, every process's resources, a bottleneck), the
// rate held is the highest offered rate of a step that held, the knee charts are drawn, and
// the terminal shows the capacity lines.
func TestRunCapacitySearch(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runBench(t, context.Background(), nil,
		"run", "-scenario", "testdata/search.yaml", "-out", out, "-redis", "process", "-quiet")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(out, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	s := readValidSummary(t, dir)
	if s.NoCache == nil {
		t.Fatal("no nocache figures")
	}
	for _, f := range []*summary.Figures{&s.Figures, s.NoCache} {
		cs := f.CapacitySearch
		if cs == nil || len(cs.Steps) == 0 {
			t.Fatalf("%s: capacity_search %+v", f.Mode, cs)
		}
		if cs.SLOMS != 200 || cs.Cores < 1 || cs.Stopped == "" {
			t.Errorf("%s: slo_ms %v, cores %d, stopped %q", f.Mode, cs.SLOMS, cs.Cores, cs.Stopped)
		}
		// Each step's readings come from scrapes during it; on a starved CPU one can miss its
		// pair (a /metrics or INFO answer too late), so every reading must be present in some
		// step, not in each.
		held, sampled, pooled, redisRead := 0.0, 0, 0, 0
		for i, st := range cs.Steps {
			if st.Held {
				held = max(held, st.OfferedRPS)
			} else if st.Why == "" {
				t.Errorf("%s: step %d missed without a reason", f.Mode, i)
			}
			if st.Requests == 0 {
				t.Errorf("%s: step %d judged no answer", f.Mode, i)
			}
			r := st.Resources
			if r == nil {
				continue // fewer than two readings in the step (a busy machine): others have them
			}
			sampled++
			procs := []string{"harness", "server-1"}
			if f.Mode == summary.ModeCache {
				procs = append(procs, "redis")
			}
			for _, p := range procs {
				if _, ok := r.CPU[p]; !ok {
					t.Errorf("%s: step %d: no CPU of %s in %v", f.Mode, i, p, r.CPU)
				}
			}
			if r.RedisPoolWaitsPerRequest != nil && r.DBPoolWaitsPerRequest != nil {
				pooled++
			}
			if r.RedisCPU != nil && r.RedisOpsPerS != nil && *r.RedisOpsPerS > 0 {
				redisRead++
			}
		}
		if sampled == 0 {
			t.Errorf("%s: no step has its resources", f.Mode)
		}
		if pooled == 0 {
			t.Errorf("%s: no step read the pools' waits", f.Mode)
		}
		if f.Mode == summary.ModeCache && redisRead == 0 {
			t.Errorf("cache: no step read Redis's own CPU and commands")
		}
		if cs.RPSHeld != held {
			t.Errorf("%s: rps_held %v, but the highest step that held offered %v", f.Mode, cs.RPSHeld, held)
		}
		if b := cs.Bottleneck; b == nil || b.Resource == "" || b.Rule == "" || len(b.Evidence) == 0 {
			t.Errorf("%s: bottleneck %+v", f.Mode, b)
		}
	}
	if (s.CapacityRatio != nil) != (s.CapacitySearch.RPSHeld > 0 && s.NoCache.CapacitySearch.RPSHeld > 0) {
		t.Errorf("capacity_ratio %v with rps_held %v and %v", s.CapacityRatio, s.CapacitySearch.RPSHeld, s.NoCache.CapacitySearch.RPSHeld)
	}
	for _, name := range report.SearchCharts() {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", name, err)
		}
	}
	flat := strings.Join(strings.Fields(stdout), " ")
	for _, want := range []string{"this setup (cache)", "this setup (no cache)", "Bottleneck (cache):", "Bottleneck (no cache):"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the terminal output lacks %q:\n%s", want, stdout)
		}
	}
}
