package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// Flags of the equivalence test, for make bench-distributed (the mixed scenario, figures
// printed side by side with -v).
var (
	shardScenario = flag.String("shards.scenario", filepath.Join("testdata", "shards.yaml"), "scenario of TestShardsMergeEqualsUnsharded")
	shardCount    = flag.Int("shards.n", 3, "how many shards TestShardsMergeEqualsUnsharded runs")
)

// shardSecret is the JWT secret the equivalence test's servers and shards share.
const shardSecret = "atlasbench-shard-test-secret"

// upFor starts a reference server seeded like sc (a fresh Redis child and SQLite file).
func upFor(t *testing.T, sc *scenarios.Scenario, config string) *stack.Stack {
	t.Helper()
	st, err := stack.Up(context.Background(), stack.Options{
		Binary: benchBin, Redis: "process", Mode: "cache", Config: config,
		Seed: sc.Seed, Users: sc.Population.Users, Conversations: sc.Population.Conversations,
		Messages: sc.Population.Messages, Tiers: sc.Population.Tiers.String(),
		DBLatency: sc.DB.Latency, DBJitter: sc.DB.Jitter, Secret: []byte(shardSecret),
	})
	if err != nil {
		t.Fatalf("stack: %v", err)
	}
	return st
}

// startAt is a -start-at a fixed delay after now: both runs measure at the same age of
// their server.
func startAt(sc *scenarios.Scenario) string {
	return time.Now().Add(sc.Warmup + 2*time.Second).UTC().Format(time.RFC3339Nano)
}

// TestShardsMergeEqualsUnsharded is the proof on one machine: one reference server, the
// same scenario as 3 shards at one -start-at, merged; then one unsharded run against an
// identical fresh server. Request count and per-route counts are equal exactly; both have
// 0 errors, isolation violations and stale reads; hit rates are within 2 points. Then
// bench merge refuses shards that do not belong together (exit 2) and a missing one (exit 3).
func TestShardsMergeEqualsUnsharded(t *testing.T) {
	t.Parallel()
	scPath, n := *shardScenario, *shardCount
	config, err := filepath.Abs(filepath.Join("testdata", "patient.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(scPath)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ATLAS_JWT_SECRET": shardSecret}
	root := t.TempDir()

	st := upFor(t, sc, config)
	at := startAt(sc)
	var wg sync.WaitGroup
	dirs := make([]string, n)
	for i := range n {
		out := filepath.Join(root, "shard", strconv.Itoa(i+1))
		dirs[i] = filepath.Join(out, "latest")
		wg.Add(1)
		go func() {
			defer wg.Done()
			stdout, stderr, code := runBench(t, context.Background(), env, "run", "-scenario", scPath, "-target", st.URL,
				"-shard", fmt.Sprintf("%d/%d", i+1, n), "-start-at", at, "-out", out, "-quiet")
			// Exit 1 is a threshold failing on the shard's share: bench merge judges the whole.
			if code != 0 && code != exitFail {
				t.Errorf("shard %d/%d: exit %d\n%s\n%s", i+1, n, code, stdout, stderr)
			}
		}()
	}
	wg.Wait()
	st.Close()
	if t.Failed() {
		t.FailNow()
	}
	merged := filepath.Join(root, "merged")
	stdout, stderr, code := runBench(t, context.Background(), nil, append([]string{"merge", "-out", merged}, dirs...)...)
	if code != 0 && code != exitFail {
		t.Fatalf("merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	m, err := summary.Read(merged)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "report.html", "latency.png"} {
		if fi, err := os.Stat(filepath.Join(merged, f)); err != nil || fi.Size() == 0 {
			t.Errorf("merged run has no %s: %v", f, err)
		}
	}

	st = upFor(t, sc, config)
	whole := filepath.Join(root, "whole")
	stdout, stderr, code = runBench(t, context.Background(), env, "run", "-scenario", scPath, "-target", st.URL,
		"-start-at", startAt(sc), "-out", whole, "-quiet")
	st.Close()
	if code != 0 && code != exitFail {
		t.Fatalf("unsharded: exit %d\n%s\n%s", code, stdout, stderr)
	}
	u, err := summary.Read(filepath.Join(whole, "latest"))
	if err != nil {
		t.Fatal(err)
	}

	t.Logf("%s: %d shards merged vs one unsharded run, each against a fresh server:\n%s", sc.Name, n, sideBySide(m, u))
	if m.Shards != n || u.Shards != 0 {
		t.Errorf("shards: merged %d, unsharded %d; want %d and 0", m.Shards, u.Shards, n)
	}
	if m.Requests != u.Requests || m.Requests == 0 {
		t.Errorf("requests: merged %d, unsharded %d", m.Requests, u.Requests)
	}
	for route, e := range u.ByEndpoint {
		if m.ByEndpoint[route].Requests != e.Requests {
			t.Errorf("%s: merged %d requests, unsharded %d", route, m.ByEndpoint[route].Requests, e.Requests)
		}
	}
	if len(m.ByEndpoint) != len(u.ByEndpoint) {
		t.Errorf("routes: merged %d, unsharded %d", len(m.ByEndpoint), len(u.ByEndpoint))
	}
	for name, s := range map[string]*summary.Summary{"merged": m, "unsharded": u} {
		if s.Errors != 0 || s.IsolationViolations != 0 || s.StaleReads != 0 {
			t.Errorf("%s: errors %d, isolation %d, stale %d", name, s.Errors, s.IsolationViolations, s.StaleReads)
		}
	}
	// The thresholds judge the merged figures as they judge the unsharded run's.
	if m.Pass != u.Pass || len(m.Thresholds) != len(u.Thresholds) {
		t.Errorf("verdict: merged pass %v (%d thresholds), unsharded pass %v (%d)", m.Pass, len(m.Thresholds), u.Pass, len(u.Thresholds))
	}
	if *shardScenario == filepath.Join("testdata", "shards.yaml") && !m.Pass {
		t.Errorf("merged run failed its thresholds: %+v", m.Thresholds)
	}
	hr := func(h summary.HitRate) map[string]float64 {
		return map[string]float64{"tier": h.Tier, "userProfile": h.UserProfile, "conversations": h.Conversations,
			"apiResponses": h.APIResponses, "overall": h.Overall}
	}
	mh, uh := hr(m.HitRate), hr(u.HitRate)
	apart := false
	for class := range uh {
		if math.Abs(mh[class]-uh[class]) > 0.02 {
			apart = true
			t.Errorf("hit rate %s: merged %.3f, unsharded %.3f (more than 2 points apart)", class, mh[class], uh[class])
		}
	}
	if apart {
		// Misses follow the plan; bypasses and errors follow Redis timeouts, which a loaded
		// machine causes: the counters say which it was.
		t.Logf("server cache counters: merged %+v; unsharded %+v", m.CacheStats, u.CacheStats)
	}
	if m.HitRateHeaders == nil || math.Abs(m.HitRateHeaders.Overall-u.HitRateHeaders.Overall) > 0.02 {
		t.Errorf("header hit rates: merged %+v, unsharded %+v", m.HitRateHeaders, u.HitRateHeaders)
	}
	if math.Abs(m.Rate.Target-u.Rate.Target) > 0.01*u.Rate.Target {
		t.Errorf("target rate: merged %v, unsharded %v", m.Rate.Target, u.Rate.Target)
	}

	if n != 3 {
		return
	}
	t.Run("refuses", func(t *testing.T) {
		// A shard of another seed: exit 2, naming it.
		odd := filepath.Join(root, "odd")
		copyDir(t, dirs[2], odd)
		editSummary(t, odd, func(s *summary.Summary) { s.Shard.Seed++ })
		_, stderr, code := runBench(t, context.Background(), nil, "merge", "-out", filepath.Join(root, "m2"), dirs[0], dirs[1], odd)
		if code != exitUsage || !strings.Contains(stderr, odd) {
			t.Errorf("another seed: exit %d, stderr %q; want 2 naming %s", code, stderr, odd)
		}
		// The same shard twice: exit 2.
		_, stderr, code = runBench(t, context.Background(), nil, "merge", "-out", filepath.Join(root, "m3"), dirs[0], dirs[1], dirs[1])
		if code != exitUsage || !strings.Contains(stderr, "both shard 2/3") {
			t.Errorf("duplicate: exit %d, stderr %q; want 2", code, stderr)
		}
		// An unsharded run: exit 2, naming it.
		uDir := filepath.Join(whole, "latest")
		_, stderr, code = runBench(t, context.Background(), nil, "merge", "-out", filepath.Join(root, "m4"), dirs[0], uDir)
		if code != exitUsage || !strings.Contains(stderr, uDir) {
			t.Errorf("unsharded: exit %d, stderr %q; want 2 naming it", code, stderr)
		}
		// A missing shard: exit 3.
		_, stderr, code = runBench(t, context.Background(), nil, "merge", "-out", filepath.Join(root, "m5"), dirs[0], dirs[2])
		if code != exitEnv || !strings.Contains(stderr, "shard 2/3 missing") {
			t.Errorf("missing: exit %d, stderr %q; want 3 naming 2/3", code, stderr)
		}
		if _, err := os.Stat(filepath.Join(root, "m5")); err == nil {
			t.Error("a refused merge wrote its directory")
		}
	})
}

// TestRunShardFlags: bad -shard and -start-at values are usage errors naming the flag.
func TestRunShardFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-shard", "4/3"}, "-shard"},
		{[]string{"-shard", "1/2", "-count", "2"}, "-count"},
		{[]string{"-start-at", "tomorrow", "-mode", "cache"}, "-start-at"},
		{[]string{"-start-at", "2026-01-02T15:04:05Z"}, "-start-at"}, // both modes: two windows
	} {
		_, stderr, code := runBench(t, context.Background(), nil, append([]string{"run", "-scenario", "smoke", "-quiet"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 mentioning %s", tc.args, code, stderr, tc.msg)
		}
	}
}

// sideBySide renders the figures of the merged and the unsharded run in two columns.
func sideBySide(m, u *summary.Summary) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f string, a, c any) { fmt.Fprintf(w, "%s\t"+f+"\t"+f+"\t\n", name, a, c) }
	fmt.Fprintf(w, "figure\tsharded (merged)\tunsharded\t\n")
	row("requests", "%d", m.Requests, u.Requests)
	routes := slices.Sorted(maps.Keys(u.ByEndpoint))
	for _, r := range routes {
		row("  "+r, "%d", m.ByEndpoint[r].Requests, u.ByEndpoint[r].Requests)
	}
	row("rate target (rps)", "%.1f", m.Rate.Target, u.Rate.Target)
	row("rate achieved (rps)", "%.1f", m.Rate.Achieved, u.Rate.Achieved)
	row("errors", "%d", m.Errors, u.Errors)
	row("isolation violations", "%d", m.IsolationViolations, u.IsolationViolations)
	row("stale reads", "%d", m.StaleReads, u.StaleReads)
	row("hit rate tier", "%.3f", m.HitRate.Tier, u.HitRate.Tier)
	row("hit rate userProfile", "%.3f", m.HitRate.UserProfile, u.HitRate.UserProfile)
	row("hit rate conversations", "%.3f", m.HitRate.Conversations, u.HitRate.Conversations)
	row("hit rate apiResponses", "%.3f", m.HitRate.APIResponses, u.HitRate.APIResponses)
	row("hit rate overall", "%.3f", m.HitRate.Overall, u.HitRate.Overall)
	if m.HitRateHeaders != nil && u.HitRateHeaders != nil {
		row("hit rate overall (headers)", "%.3f", m.HitRateHeaders.Overall, u.HitRateHeaders.Overall)
	}
	row("DB queries", "%d", m.DBQueries.Total, u.DBQueries.Total)
	row("DB queries per request", "%.3f", m.DBQueries.PerRequest, u.DBQueries.PerRequest)
	row("latency p50 (ms)", "%.2f", m.Latency.P50, u.Latency.P50)
	row("latency p90 (ms)", "%.2f", m.Latency.P90, u.Latency.P90)
	row("latency p99 (ms)", "%.2f", m.Latency.P99, u.Latency.P99)
	row("latency max (ms)", "%.2f", m.Latency.Max, u.Latency.Max)
	w.Flush()
	return b.String()
}

// copyDir copies a run directory's regular files.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			data, err := os.ReadFile(filepath.Join(from, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// editSummary rewrites dir/summary.json through edit.
func editSummary(t *testing.T, dir string, edit func(*summary.Summary)) {
	t.Helper()
	s, err := summary.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(s)
	if err := summary.Write(dir, s); err != nil {
		t.Fatal(err)
	}
}
