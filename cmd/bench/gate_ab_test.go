package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/gate"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestGateAgainst runs a short A/B gate (3 pairs of a 3-second scenario, cache mode: about
// 40 s on 2 busy cores, plus a link of a second bench): the old side a bench built with the
// test-only slowdown of cache hits, the new side the tests' bench. It asserts what does not
// depend on the machine's speed: the runs alternated old new, new old, old new; each side ran
// its own binary (the slowed server said so in its log); every metric has its 3 pairs; the
// JUnit file has the cases; the exit code is a verdict (0 or 1), never a usage or environment
// failure. Whether the slowdown is caught is a measurement (docs/PERFORMANCE.md), not asserted.
func TestGateAgainst(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a second bench and makes 6 runs")
	}
	slow := filepath.Join(t.TempDir(), "bench-slow")
	build := exec.Command("go", "build", "-o", slow, "-ldflags", "-X github.com/atlasbench/atlasbench/refserver.testSlowCached=2ms", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the slowed bench: %v\n%s", err, out)
	}
	out := t.TempDir()
	junit := filepath.Join(t.TempDir(), "ab.xml")
	stdout, stderr, code := runBench(t, context.Background(), nil, "gate", "-against", slow, "-pairs", "3",
		"-scenario", filepath.Join("testdata", "ab.yaml"), "-mode", "cache", "-out", out, "-junit", junit)
	if code != exitOK && code != exitFail {
		t.Fatalf("exit %d, want a verdict (0 or 1)\n%s\n%s", code, stdout, stderr)
	}
	root, err := filepath.EvalSymlinks(filepath.Join(out, abLatestLink))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, e := range entries {
		if e.IsDir() {
			runs = append(runs, e.Name())
		}
	}
	if want := []string{"01-old", "02-new", "03-new", "04-old", "05-old", "06-new"}; !slices.Equal(runs, want) {
		t.Fatalf("runs %v, want %v (A B B A A B)", runs, want)
	}
	for _, r := range runs {
		s, err := summary.Read(filepath.Join(root, r, "latest"))
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if s.Scenario != "ab" || s.Requests == 0 {
			t.Errorf("%s: scenario %q, %d requests", r, s.Scenario, s.Requests)
		}
		logs, _ := filepath.Glob(filepath.Join(root, r, "latest", "server-*.log"))
		slowed := false
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			slowed = slowed || strings.Contains(string(b), "TEST-ONLY build")
		}
		if slowed != strings.HasSuffix(r, "old") {
			t.Errorf("%s: server log says slowed %v; only the old side was built slowed (logs %v)", r, slowed, logs)
		}
	}
	for _, want := range []string{"[ 6/6] pair 3 new", "A/B: 3 pairs", "latency.p50", "3 pairs", "service_time.p50", "errors"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if x, err := os.ReadFile(junit); err != nil || !strings.Contains(string(x), "latency.p50") || !strings.Contains(string(x), "errors == 0") {
		t.Errorf("junit: %v\n%s", err, x)
	}
}

// TestGateAgainstUsage: what -against refuses before running anything, with its exit code.
func TestGateAgainstUsage(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-against", "no-such-ref-or-binary"}, exitEnv, "neither an executable bench nor a git commit"},
		{[]string{"-against", benchBin, "-pairs", "2"}, exitUsage, "-pairs 2"},
		{[]string{"-against", benchBin, "reports/latest"}, exitUsage, "takes no SUMMARY"},
		{[]string{"-against", benchBin, "-update"}, exitUsage, "-update"},
		{[]string{"-against", benchBin, "-mode", "fast"}, exitUsage, "-mode"},
		{[]string{"-against", benchBin, "-new", filepath.Join(out, "none")}, exitUsage, "not an executable"},
	} {
		args := append([]string{"gate", "-out", out}, tc.args...)
		stdout, stderr, code := runBench(t, context.Background(), nil, args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s\n%s", tc.args, code, tc.code, tc.want, stdout, stderr)
		}
	}
}

// TestGateAgainstInterrupted: Ctrl-C after the first run stops the A/B with exit 130 and no
// verdict (about 5 s: one run of the tiny scenario).
func TestGateAgainstInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("makes a run")
	}
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Wait for the first run's summary (an event, not a time), then interrupt.
		for ctx.Err() == nil {
			if m, _ := filepath.Glob(filepath.Join(out, "*-ab-ab", "01-old", "latest", "summary.json")); len(m) > 0 {
				cancel()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	stdout, stderr, code := runBench(t, ctx, nil, "gate", "-against", benchBin, "-pairs", "3",
		"-scenario", filepath.Join("testdata", "ab.yaml"), "-mode", "cache", "-out", out)
	if code != exitInterrupted || !strings.Contains(stdout, "INTERRUPTED") || strings.Contains(stdout, "PASS") {
		t.Fatalf("exit %d, want %d, INTERRUPTED and no verdict\n%s\n%s", code, exitInterrupted, stdout, stderr)
	}
}

// TestGitExtract: the tree of a commit comes out of git archive whole (the A/B gate then
// builds it); outside a git checkout the test has nothing to extract.
func TestGitExtract(t *testing.T) {
	ctx := context.Background()
	if gitLabel(ctx, "HEAD") == "" {
		t.Skip("not in a git checkout")
	}
	dir := t.TempDir()
	if err := gitExtract(ctx, "HEAD", dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.mod", filepath.Join("cmd", "bench", "main.go"), filepath.Join("scenarios", "smoke.yaml")} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestMedianRun: thresholds are judged on the new run with the median p50 latency.
func TestMedianRun(t *testing.T) {
	pairs := make([]gate.Pair, 4)
	for i, p50 := range []float64{3, 1, 9, 2} {
		pairs[i].New = &summary.Summary{}
		pairs[i].New.Latency.P50 = p50
	}
	if got := medianRun(pairs); got != 3 { // 1 2 | 3 9: the lower middle, 2 ms, is pair 4's
		t.Errorf("medianRun = %d, want 3", got)
	}
	if got := medianRun(pairs[:3]); got != 0 { // 1 3 9: 3 ms, pair 1's
		t.Errorf("medianRun of 3 = %d, want 0", got)
	}
}
