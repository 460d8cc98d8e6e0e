package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/testutil"
)

// TestCrossChecks runs a short scenario whose thresholds gate on cross_checks.all_agree:
// against an honest server every figure agrees with Redis's INFO, the server's latency
// histogram and (when PostgreSQL answers) pg_stat_database; against a server that
// miscounts (unsafe.miscountHits) the keyspace check disagrees, the report says so at
// the top, and the threshold fails the run.
func TestCrossChecks(t *testing.T) {
	t.Parallel()
	db := "sqlite"
	if c, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second); err == nil || os.Getenv("ATLAS_TEST_POSTGRES") != "" {
		if c != nil {
			c.Close()
		}
		db = testutil.PostgresAdminDSN()
	} else {
		t.Logf("PostgreSQL rows not checked: nothing answers on 127.0.0.1:5432 (%v)", err)
	}
	run := func(t *testing.T, config, db string, want int) (*summary.Summary, string) {
		t.Helper()
		out := t.TempDir()
		stdout, stderr, code := runBench(t, context.Background(), nil, "run", "-scenario", filepath.Join("testdata", "crosscheck.yaml"),
			"-config", config, "-mode", "cache", "-redis", "process", "-db", db, "-out", out, "-quiet")
		s, err := summary.Read(filepath.Join(out, "latest"))
		if code != want {
			if s != nil && s.CrossChecks != nil {
				for _, c := range s.CrossChecks.Checks {
					t.Logf("%s: %v vs %v: %s (%s; %s)", c.Figure, c.Value1, c.Value2, c.Verdict, c.Tolerance, c.Detail)
				}
			}
			t.Fatalf("exit %d, want %d\n%s\n%s", code, want, stdout, stderr)
		}
		if err != nil {
			t.Fatal(err)
		}
		report, err := os.ReadFile(filepath.Join(out, "latest", "report.md"))
		if err != nil {
			t.Fatal(err)
		}
		if s.CrossChecks == nil {
			t.Fatalf("no cross_checks in the summary; notes %q", s.Notes)
		}
		return s, string(report)
	}
	verdicts := func(s *summary.Summary) map[string]string {
		m := map[string]string{}
		for _, c := range s.CrossChecks.Checks {
			m[c.Figure] = c.Verdict
			t.Logf("%s: %s %v vs %s %v: %s (%s)", c.Figure, c.Witness1, c.Value1, c.Witness2, c.Value2, c.Verdict, c.Detail)
		}
		return m
	}

	t.Run("honest", func(t *testing.T) {
		t.Parallel()
		s, report := run(t, "default", db, 0)
		v := verdicts(s)
		want := []string{"Redis commands per request", "Redis keyspace hit ratio", "latency p50 (server ≤ harness service time)",
			"latency p99 (server ≤ harness service time)", "requests in the measured window"}
		if db != "sqlite" {
			want = append(want, "DB transactions")
		}
		for _, fig := range want {
			if v[fig] != summary.Agree {
				t.Errorf("%s: verdict %q, want %s", fig, v[fig], summary.Agree)
			}
		}
		if !s.CrossChecks.AllAgree || !s.Pass {
			t.Errorf("all_agree %v, pass %v", s.CrossChecks.AllAgree, s.Pass)
		}
		if rs, ok := s.RedisStats["window"]; !ok || rs.CommandsPerRequest <= 0 || rs.KeyspaceHits == 0 {
			t.Errorf("redis_stats.window = %+v", rs)
		}
		if !strings.Contains(report, "## Cross-checks") || strings.Contains(report, "DISAGREES") {
			t.Errorf("report: want a Cross-checks section and no disagreement\n%s", report)
		}
	})

	t.Run("miscounting server", func(t *testing.T) {
		t.Parallel()
		s, report := run(t, filepath.Join("testdata", "weak-miscount.yaml"), "sqlite", exitFail)
		if v := verdicts(s); v["Redis keyspace hit ratio"] != summary.Disagree {
			t.Errorf("keyspace hit ratio: verdict %q, want %s", v["Redis keyspace hit ratio"], summary.Disagree)
		}
		if s.CrossChecks.AllAgree || s.CrossChecks.Disagreements == 0 {
			t.Errorf("all_agree %v with %d disagreements", s.CrossChecks.AllAgree, s.CrossChecks.Disagreements)
		}
		failed := false
		for _, th := range s.Thresholds {
			if th.Expr == "cross_checks.all_agree == true" {
				failed = !th.Pass
			}
		}
		if !failed || s.Pass {
			t.Errorf("the cross_checks threshold did not fail the run: %+v", s.Thresholds)
		}
		first, _, _ := strings.Cut(report, "## Cross-checks")
		if !strings.Contains(first, "Cross-check DISAGREES: Redis keyspace hit ratio") {
			t.Errorf("the disagreement is not at the top of the report:\n%s", first)
		}
	})
}
