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

	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestStarvedGenerator starves the load generator on purpose: once the attack starts
// (its results file appears), the test process — which is the harness, run calls the
// runner in-process — spins 8 goroutines per P until the run ends, so the harness's own
// goroutines wait for a thread and its requests go out late. The run must say so at the
// top of its report, leave its latency threshold INCONCLUSIVE while still judging its
// counts, and exit 4. The converse (an unsaturated run judges latency as always) is
// TestGateHealthConverse, on fixtures, so that a busy machine cannot flake it.
func TestStarvedGenerator(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var spinners sync.WaitGroup
	go func() {
		for ctx.Err() == nil {
			if m, _ := filepath.Glob(filepath.Join(out, "*", "results-cache.bin")); len(m) > 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		for range 8 * runtime.GOMAXPROCS(0) {
			spinners.Add(1)
			go func() {
				defer spinners.Done()
				for n := 0; ctx.Err() == nil; n++ {
				}
			}()
		}
	}()
	junit := filepath.Join(out, "thresholds.xml")
	stdout, stderr, code := runBench(t, ctx, nil, "run", "-scenario", "testdata/starved.yaml", "-mode", "cache",
		"-out", out, "-quiet", "-junit", junit)
	cancel()
	spinners.Wait()
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
