package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestSmokeGate runs the smoke scenario with caching off (config none) and on (the default
// policy with patient Redis timeouts, testdata/patient.yaml, so that a starved CPU does not
// turn its hits into bypasses):
// the first must fail hit_rate.tier >= 0.80 with exit 1, the second pass; then bench gate
// judges the passing run against itself (pass), against a copy with a regression (exit 1),
// against another scenario (exit 3) and against a missing baseline (exit 3).
func TestSmokeGate(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	stdout, stderr, code := runBench(t, context.Background(), nil,
		"run", "-scenario", "smoke", "-config", "none", "-mode", "cache", "-duration", "6s", "-out", out, "-quiet")
	if code != exitFail || !strings.Contains(stdout, "FAIL") || !strings.Contains(stdout, "hit_rate.tier >= 0.80") {
		t.Fatalf("config none: exit %d, want 1 with hit_rate.tier failing\n%s\n%s", code, stdout, stderr)
	}
	none, err := summary.Read(filepath.Join(out, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range none.Thresholds {
		if th.Expr == "hit_rate.tier >= 0.80" && (th.Pass || th.Value != 0) {
			t.Fatalf("config none: %+v, want a failing 0", th)
		}
	}

	junit := filepath.Join(t.TempDir(), "junit.xml")
	stdout, stderr, code = runBench(t, context.Background(), nil,
		"run", "-scenario", "smoke", "-config", filepath.Join("testdata", "patient.yaml"), "-mode", "both", "-duration", "6s", "-out", out, "-quiet", "-junit", junit)
	if code != 0 {
		t.Fatalf("config patient (the default with patient Redis timeouts): exit %d\n%s\n%s", code, stdout, stderr)
	}
	if x, err := os.ReadFile(junit); err != nil || !strings.Contains(string(x), "<testsuite") || strings.Contains(string(x), "<failure") {
		t.Fatalf("junit: %v\n%s", err, x)
	}
	run := filepath.Join(out, "latest")
	baseline := filepath.Join(t.TempDir(), "smoke.json")
	if _, stderr, code := runBench(t, context.Background(), nil, "gate", "-update", "-baseline", baseline, run); code != 0 {
		t.Fatalf("gate -update: exit %d: %s", code, stderr)
	}
	if stdout, stderr, code := runBench(t, context.Background(), nil, "gate", "-baseline", baseline, run); code != 0 {
		t.Fatalf("gate against itself: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// A copy of the run that lost half its tier hit rate and gained errors.
	s, err := summary.Read(run)
	if err != nil {
		t.Fatal(err)
	}
	s.HitRate.Tier /= 2
	s.Errors = 3
	for i := range s.Samples["hit_rate.tier"] {
		s.Samples["hit_rate.tier"][i] /= 2
	}
	for i := range s.Samples["errors"] {
		s.Samples["errors"][i] = 3
	}
	worse := t.TempDir()
	if err := summary.Write(worse, s); err != nil {
		t.Fatal(err)
	}
	stdout, _, code = runBench(t, context.Background(), nil, "gate", "-baseline", baseline, worse)
	if code != exitFail || !strings.Contains(stdout, "hit_rate.tier") {
		t.Fatalf("regressed run: exit %d, want 1 naming hit_rate.tier\n%s", code, stdout)
	}

	other := t.TempDir()
	s.Scenario = "mixed"
	summary.Write(other, s)
	if _, stderr, code := runBench(t, context.Background(), nil, "gate", "-baseline", baseline, other); code != exitEnv || !strings.Contains(stderr, "scenario") {
		t.Fatalf("other scenario: exit %d (want 3): %s", code, stderr)
	}
	if _, stderr, code := runBench(t, context.Background(), nil, "gate", "-baseline", filepath.Join(t.TempDir(), "none.json"), run); code != exitEnv {
		t.Fatalf("missing baseline: exit %d (want 3): %s", code, stderr)
	}
	if _, _, code := runBench(t, context.Background(), nil, "gate", filepath.Join(t.TempDir(), "nothing")); code != exitUsage {
		t.Fatalf("missing summary: exit %d (want 2)", code)
	}
}

// TestCompareDefaultVsNone shows the DB-query difference between caching and not.
func TestCompareDefaultVsNone(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	stdout, stderr, code := runBench(t, context.Background(), nil,
		"compare", "-scenario", "smoke", "-config", "default", "-config", "none", "-duration", "5s", "-out", out, "-quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	root, err := filepath.EvalSymlinks(filepath.Join(out, "latest-compare"))
	if _, err := os.Lstat(filepath.Join(out, "latest")); err == nil {
		t.Error("bench compare moved reports/latest, which must name a single run (bench report, bench gate)")
	}
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "compare.md"))
	if err != nil {
		t.Fatal(err)
	}
	def, err := summary.Read(filepath.Join(root, "default"))
	if err != nil {
		t.Fatal(err)
	}
	none, err := summary.Read(filepath.Join(root, "none"))
	if err != nil {
		t.Fatal(err)
	}
	if def.DBQueries.PerRequest >= none.DBQueries.PerRequest {
		t.Fatalf("DB queries per request: default %.3f, none %.3f; caching should need fewer", def.DBQueries.PerRequest, none.DBQueries.PerRequest)
	}
	if !strings.Contains(string(md), "DB queries") || !strings.Contains(stdout, "none") {
		t.Fatalf("compare table lacks the DB-query row:\n%s", md)
	}
	for _, png := range []string{"compare-hit-rate.png", "compare-latency.png", "compare-db-queries.png"} {
		if st, err := os.Stat(filepath.Join(root, png)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", png, err)
		}
	}
}

// TestGateInterruptedRun: bench gate never passes an interrupted run, and does not judge its
// thresholds: they read "not judged".
func TestGateInterruptedRun(t *testing.T) {
	t.Parallel()
	s, err := summary.Read(filepath.Join("..", "..", "reports", "baseline", "smoke.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.Interrupted = true
	dir := t.TempDir()
	if err := summary.Write(dir, s); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runBench(t, context.Background(), nil, "gate", dir)
	if code != exitFail || !strings.Contains(stderr+stdout, "the run was interrupted: its thresholds are not judged") {
		t.Errorf("exit %d, want %d\n%s\n%s", code, exitFail, stdout, stderr)
	}
	if strings.Contains(stdout, "\nok ") || !strings.Contains(stdout, "not judged") {
		t.Errorf("the thresholds of an interrupted run were judged:\n%s", stdout)
	}
}
