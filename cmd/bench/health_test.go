package main

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/loadhealth"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestStarvedGenerator starves the load generator on purpose: once the attack starts
// (its results file appears), the test process — which is the harness, run calls the
// runner in-process — spins 4 goroutines per P through the window, so the harness's own
// goroutines wait for a thread and its requests go out late. The run must say so at the
// top of its report, leave its latency threshold INCONCLUSIVE while still judging its
// counts, and exit 4. The converse (an unsaturated run judges latency as always) is
// TestGateHealthConverse, on fixtures, so that a busy machine cannot flake it.
func TestStarvedGenerator(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if m, _ := filepath.Glob(filepath.Join(out, "*", "results-cache.bin")); len(m) > 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Spin through the warm-up and the measured window (1 s + 4 s), not the teardown,
		// which would only take longer.
		spin, stop := context.WithTimeout(ctx, 5*time.Second)
		defer stop()
		var spinners sync.WaitGroup
		for range 4 * runtime.GOMAXPROCS(0) {
			spinners.Add(1)
			go func() {
				defer spinners.Done()
				for n := 0; spin.Err() == nil; n++ {
				}
			}()
		}
		spinners.Wait()
	}()
	junit := filepath.Join(out, "thresholds.xml")
	stdout, stderr, code := runBench(t, ctx, nil, "run", "-scenario", "testdata/starved.yaml", "-mode", "cache",
		"-out", out, "-quiet", "-junit", junit)
	cancel()
	<-done
	if code != exitInconclusive {
		t.Fatalf("exit %d, want %d (INCONCLUSIVE)\nstdout:\n%s\nstderr:\n%s", code, exitInconclusive, stdout, stderr)
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(out, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	s := readValidSummary(t, dir)
	h := s.GeneratorHealth
	if h == nil || !h.Saturated || len(h.Reasons) == 0 || len(h.Timeline) == 0 {
		t.Fatalf("generator_health %+v, want saturated with reasons and a timeline", h)
	}
	t.Logf("starved: %s (%d samples, %.0f%% saturated)", strings.Join(h.Reasons, "; "), len(h.Timeline), 100*h.Aggregates.SaturatedShare)
	if !strings.HasPrefix(s.Inconclusive, "generator health: the machine was saturated (") || s.Pass {
		t.Errorf("inconclusive %q, pass %v", s.Inconclusive, s.Pass)
	}
	judged := map[string]summary.Threshold{}
	for _, th := range s.Thresholds {
		judged[th.Expr] = th
	}
	if th := judged["latency.p99 <= 60s"]; th.Inconclusive == "" || th.Pass || th.Value <= 0 {
		t.Errorf("latency threshold %+v, want INCONCLUSIVE with its measured value", th)
	}
	for _, expr := range []string{"errors == 0", "isolation_violations == 0"} {
		if th := judged[expr]; th.Inconclusive != "" || !th.Pass {
			t.Errorf("count threshold %+v, want judged (and passed)", th)
		}
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The report starts with the finding: title, subtitle, then the verdict line.
	var first string
	for l := range strings.SplitSeq(string(report), "\n") {
		if strings.HasPrefix(l, "## ") {
			first = l
			break
		}
	}
	if !strings.HasPrefix(first, "## INCONCLUSIVE: generator health: the machine was saturated (") ||
		!strings.Contains(first, "latency verdicts are INCONCLUSIVE") {
		t.Errorf("the report's first heading is %q, want the generator-health finding", first)
	}
	if !strings.Contains(string(report), "## Generator health") {
		t.Error("the report has no Generator health section")
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Failures int `xml:"failures,attr"`
			Skipped  int `xml:"skipped,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("junit: %v\n%s", err, data)
	}
	if su := doc.Suites[0]; su.Failures != 0 || su.Skipped != 1 || su.Cases[0].Skipped == nil ||
		!strings.HasPrefix(su.Cases[0].Skipped.Message, "INCONCLUSIVE: ") {
		t.Errorf("junit: %s", data)
	}
	if !strings.Contains(stdout, "INCONCLUSIVE") {
		t.Errorf("the terminal table does not say INCONCLUSIVE:\n%s", stdout)
	}
	// bench gate re-judges the run the same way: exit 4.
	if gout, gerr, code := runBench(t, context.Background(), nil, "gate", dir); code != exitInconclusive {
		t.Errorf("bench gate: exit %d, want %d\n%s\n%s", code, exitInconclusive, gout, gerr)
	}
}

// TestGateHealthConverse judges fixture summaries with bench gate: the generator-health
// verdict is data in summary.json, so the converse of TestStarvedGenerator — an unsaturated
// run judges latency as always — is proved here without depending on how busy the machine
// is. A saturated run's latency thresholds and latency regressions are INCONCLUSIVE (exit 4)
// unless a count fails (exit 1).
func TestGateHealthConverse(t *testing.T) {
	health := func(saturated bool) *summary.GeneratorHealth {
		p := summary.HealthPoint{T: 1, LagP99MS: 2, PSISome: 0.1}
		if saturated {
			p.LagP99MS, p.PSISome = 180, 0.62
		}
		h := &summary.GeneratorHealth{EveryS: 1, CPUs: 2, PSI: true, Steal: true, Rule: loadhealth.DefaultRule(),
			Timeline: []summary.HealthPoint{p, p, p}}
		h.Aggregates = loadhealth.Aggregate(h.Timeline)
		loadhealth.Judge(h)
		if h.Saturated != saturated {
			t.Fatalf("fixture: saturated %v, want %v", h.Saturated, saturated)
		}
		return h
	}
	write := func(t *testing.T, saturated bool, p99 float64, errors int64, samples map[string][]float64) string {
		s := &summary.Summary{Schema: summary.Schema, Scenario: "fixture", Config: "default", Mode: summary.ModeCache,
			Env: summary.Env{Go: "go1.26", CPUs: 2, RedisBackend: "process", DB: "sqlite"},
			Figures: summary.Figures{Mode: summary.ModeCache, Requests: 100, Errors: errors, Latency: summary.Latency{P99: p99},
				GeneratorHealth: health(saturated)},
			Thresholds: []summary.Threshold{{Expr: "latency.p99 <= 50ms"}, {Expr: "errors == 0"}}, Samples: samples}
		s.Inconclusive = loadhealth.Finding(s.GeneratorHealth)
		dir := t.TempDir()
		if err := summary.Write(dir, s); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, tc := range []struct {
		name      string
		saturated bool
		p99       float64
		errors    int64
		code      int
	}{
		{"unsaturated: latency passes", false, 20, 0, exitOK},
		{"unsaturated: latency fails", false, 200, 0, exitFail},
		{"saturated: latency INCONCLUSIVE", true, 200, 0, exitInconclusive},
		{"saturated: a count still fails", true, 200, 3, exitFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(t, tc.saturated, tc.p99, tc.errors, nil)
			stdout, stderr, code := runBench(t, context.Background(), nil, "gate", dir)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			if tc.saturated != strings.Contains(stdout, "INCONCLUSIVE") {
				t.Errorf("saturated %v, but the table says:\n%s", tc.saturated, stdout)
			}
		})
	}
	// Regressions: a significant latency regression fails the gate, unless either run's
	// generator was saturated.
	six := func(v float64) []float64 { return []float64{v, v * 1.01, v * 0.99, v * 1.02, v * 0.98, v} }
	base := write(t, false, 20, 0, map[string][]float64{"latency.p99": six(20), "errors": six(0)})
	for _, tc := range []struct {
		name      string
		saturated bool
		code      int
	}{
		{"regression judged", false, exitFail},
		{"regression INCONCLUSIVE", true, exitInconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := write(t, tc.saturated, 40, 0, map[string][]float64{"latency.p99": six(40), "errors": six(0)})
			stdout, stderr, code := runBench(t, context.Background(), nil, "gate", "-baseline", filepath.Join(base, summary.FileName), cur)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
		})
	}
}
