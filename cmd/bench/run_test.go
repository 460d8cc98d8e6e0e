package main

import (
	"bytes"
	"context"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/report"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/xeipuuv/gojsonschema"
)

// TestRunEndToEnd runs a short scenario in both modes against a real redis-server child,
// with a Redis kill and restart, and checks every output file and the key figures.
func TestRunEndToEnd(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	stdout, stderr, code := runBench(t, context.Background(), nil,
		"run", "-scenario", "testdata/e2e.yaml", "-out", out, "-redis", "process", "-quiet")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(out, "latest"))
	if err != nil {
		t.Fatalf("reports/latest: %v", err)
	}
	want := append([]string{"summary.json", "report.md", "report.html", "results-cache.bin", "results-nocache.bin"}, report.Charts()...)
	for _, name := range want {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", name, err)
		}
	}
	s := readValidSummary(t, dir)
	if s.NoCache == nil || s.DBQueryReduction == nil || s.Speedup == nil {
		t.Fatal("both modes ran but the summary lacks nocache, db_query_reduction or speedup")
	}
	for class, v := range map[string]float64{"tier": s.HitRate.Tier, "userProfile": s.HitRate.UserProfile,
		"conversations": s.HitRate.Conversations, "apiResponses": s.HitRate.APIResponses, "overall": s.HitRate.Overall} {
		if v <= 0 || v > 1 {
			t.Errorf("hit_rate.%s = %v, want in (0, 1]", class, v)
		}
	}
	if *s.DBQueryReduction <= 0 {
		t.Errorf("db_query_reduction = %v, want > 0", *s.DBQueryReduction)
	}
	// The default config warms the whole active population (60 users), while the server serves.
	if w := s.Warming; w == nil || w.Active != 60 || w.Users != 60 || w.Keys != 120 || w.Stopped != "done" || w.DoneS == nil || w.Instances != 1 {
		t.Errorf("warming = %+v, want 60 of 60 users, 120 keys, done, by one instance", w)
	}
	// The server timed its cache hits apart (bench gate judges their median); a no-cache run
	// has none.
	if sl := s.ServerLatency; sl == nil || sl.HitRequests == 0 || sl.HitRequests > sl.Requests || !(sl.HitP50 > 0) {
		t.Errorf("cache: server latency %+v, want the hits timed apart", sl)
	} else if s.Samples["server_latency.hit_p50"] == nil {
		t.Errorf("cache: no server_latency.hit_p50 sample for the gate (samples %v)", slices.Collect(maps.Keys(s.Samples)))
	}
	if sl := s.NoCache.ServerLatency; sl != nil && sl.HitRequests != 0 {
		t.Errorf("nocache: %d hits timed by the server", sl.HitRequests)
	}
	for _, f := range []*summary.Figures{&s.Figures, s.NoCache} {
		if f.Errors != 0 || f.IsolationViolations != 0 || f.StaleReads != 0 {
			t.Errorf("%s: errors %d %v, isolation %d, stale %d; examples %+v", f.Mode, f.Errors, f.ErrorsByKind, f.IsolationViolations, f.StaleReads, f.Examples)
		}
		if f.Requests == 0 {
			t.Errorf("%s: no requests measured", f.Mode)
		}
	}
	// The key audit is part of the figures, and it found keys whenever the cache had keys to
	// find: Redis restarted empty at 4.5 s, so it has them if the cache answered hits after
	// that (on a starved machine the breaker may keep Redis out until the end: then none).
	audited, ok := s.Extra["cache_keys_audited"]
	if !ok {
		t.Errorf("cache: no cache_keys_audited in the figures")
	}
	if last := s.Phases[len(s.Phases)-1]; audited <= 0 && last.HitRate.Overall > 0 {
		t.Errorf("cache: cache_keys_audited = %v, but the last phase (%s) answered %.1f%% from the cache: the audit missed its keys", audited, last.Name, 100*last.HitRate.Overall)
	}
	var down bool
	for _, p := range s.Phases {
		if p.Name == "redis-down" {
			down = p.Requests > 0
		}
	}
	if !down {
		t.Errorf("no redis-down phase with requests: %+v", s.Phases)
	}
	if !s.Pass || len(s.Thresholds) != 3 {
		t.Errorf("pass %v, thresholds %+v", s.Pass, s.Thresholds)
	}
	for _, name := range report.Charts() {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != render.ChartWidth || b.Dy() != render.ChartHeight {
			t.Errorf("%s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), render.ChartWidth, render.ChartHeight)
		}
	}
	bin, err := os.ReadFile(filepath.Join(dir, "results-cache.bin"))
	if err != nil {
		t.Fatal(err)
	}
	dec := vegeta.NewDecoder(bytes.NewReader(bin))
	var n int
	for {
		var r vegeta.Result
		if dec.Decode(&r) != nil {
			break
		}
		n++
	}
	if int64(n) < s.Requests {
		t.Errorf("results-cache.bin holds %d results, fewer than the %d measured", n, s.Requests)
	}
	if !strings.Contains(stdout, "PASS") || !strings.Contains(stdout, "hit rate tier") {
		t.Errorf("the summary table was not printed:\n%s", stdout)
	}
	// bench report re-renders from summary.json alone.
	os.Remove(filepath.Join(dir, "report.md"))
	if _, stderr, code := runBench(t, context.Background(), nil, "report", dir); code != 0 {
		t.Fatalf("bench report: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.md")); err != nil {
		t.Fatal("bench report did not write report.md")
	}
	if s.NoCache == nil {
		t.Error("summary.json has no nocache section")
	}
}

func TestRunExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\nduration: 10 sec\nrate: 10\nmix: []\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"bad scenario names file and line", []string{"run", "-scenario", bad}, exitUsage, "bad.yaml:2"},
		{"unknown scenario", []string{"run", "-scenario", "nope"}, exitUsage, "nope"},
		{"bad mode", []string{"run", "-mode", "sometimes"}, exitUsage, "-mode"},
		{"unknown flag", []string{"run", "-frobnicate"}, exitUsage, "frobnicate"},
		{"rate not a number", []string{"run", "-rate", "fast"}, exitUsage, "-rate fast: want requests per second > 0"},
		{"workers out of range", []string{"run", "-rate", "max", "-workers", "0"}, exitUsage, "-workers 0"},
		{"workers without max", []string{"run", "-scenario", "smoke", "-workers", "8"}, exitUsage, "-workers"},
		{"compare rate zero", []string{"compare", "-rate", "0", "-config", "default", "-config", "none"}, exitUsage, "-rate"},
		{"target unreachable", []string{"run", "-scenario", "smoke", "-target", "http://127.0.0.1:1", "-out", t.TempDir(), "-quiet"}, exitEnv, "unreachable"},
		// Preflight: what the run relies on but does not start is reached before anything is
		// measured; a failure exits 3 naming the component, its address and what to do.
		{"preflight: Redis unreachable", []string{"run", "-scenario", "smoke", "-mode", "cache", "-redis", "redis://127.0.0.1:1"}, exitEnv,
			"preflight: Redis at redis://127.0.0.1:1 (-redis) is not reachable"},
		{"preflight: PostgreSQL unreachable", []string{"run", "-scenario", "smoke", "-mode", "nocache", "-db", "postgres://postgres@127.0.0.1:1/postgres"}, exitEnv,
			"preflight: PostgreSQL at 127.0.0.1:1 (-db) is not reachable"},
		{"unknown command", []string{"fly"}, exitUsage, "unknown command"},
		{"token without user", []string{"token"}, exitUsage, "USERID"},
		{"bad cache config", []string{"serve", "-config", "nope", "-listen", "127.0.0.1:0"}, exitUsage, "nope"},
		{"bad serve scenario", []string{"serve", "-scenario", "nope", "-listen", "127.0.0.1:0"}, exitUsage, "nope"},
		// Usage errors found before anything starts, each naming its flag.
		{"run: unknown cache config", []string{"run", "-scenario", "smoke", "-config", "nosuch"}, exitUsage, "-config nosuch"},
		{"compare: unknown cache config", []string{"compare", "-scenario", "smoke", "-config", "default", "-config", "nosuch"}, exitUsage, "-config nosuch"},
		{"run: target not a URL", []string{"run", "-scenario", "smoke", "-target", "notaurl"}, exitUsage, `-target "notaurl"`},
		{"run: unsupported database", []string{"run", "-scenario", "smoke", "-db", "mysql://x"}, exitUsage, `-db "mysql://x"`},
		{"run: bad redis spec", []string{"run", "-scenario", "smoke", "-redis", "memcached"}, exitUsage, `-redis "memcached"`},
		{"run: negative rate blames the flag", []string{"run", "-scenario", "smoke", "-rate", "-5"}, exitUsage, "-rate -5: want requests per second > 0"},
		{"run: zero rate blames the flag", []string{"run", "-scenario", "smoke", "-rate", "0"}, exitUsage, "-rate 0:"},
		{"run: duration shorter than the faults", []string{"run", "-scenario", "mixed", "-duration", "10s"}, exitUsage, "-duration 10s: scenario mixed injects faults until 30s"},
		{"run: negative duration", []string{"run", "-scenario", "smoke", "-duration", "-1s"}, exitUsage, "-duration -1s: want a duration > 0"},
		{"run: zero count", []string{"run", "-scenario", "smoke", "-count", "0"}, exitUsage, "-count 0"},
		{"run: bad saturation rule names the key", []string{"run", "-scenario", "smoke", "-saturation", "psi=200%"}, exitUsage, "-saturation psi=200%: psi=200%: want a share"},
		{"claims: bad saturation rule", []string{"claims", "-saturation", "often"}, exitUsage, `-saturation often: "often": want key=value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := tc.args
			if args[0] == "run" || args[0] == "compare" {
				args = append(args[:1:1], append([]string{"-out", out, "-quiet"}, args[1:]...)...)
			}
			_, stderr, code := runBench(t, context.Background(), nil, args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want it to mention %q)", code, tc.code, stderr, tc.msg)
			}
			if tc.code != 0 {
				if left, _ := os.ReadDir(out); len(left) > 0 {
					t.Errorf("a failed run left %v in the reports directory", left)
				}
			}
			if strings.Contains(stderr, ".yaml:") && strings.Contains(tc.name, "blames the flag") {
				t.Errorf("a flag error blames a scenario file line: %q", stderr)
			}
		})
	}
}

// TestVersion: bench --version and bench version print the same line and exit 0.
func TestVersion(t *testing.T) {
	a, _, code1 := runBench(t, context.Background(), nil, "--version")
	b, _, code2 := runBench(t, context.Background(), nil, "version")
	if code1 != 0 || code2 != 0 || a != b || !strings.HasPrefix(a, "bench ") || !strings.Contains(a, "go1.") {
		t.Fatalf("--version: exit %d %q; version: exit %d %q", code1, a, code2, b)
	}
}

func TestScenariosListsBuiltins(t *testing.T) {
	stdout, _, code := runBench(t, context.Background(), nil, "scenarios")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, name := range []string{"free", "core", "studio", "mixed", "redis-kill", "tier-change", "smoke"} {
		if !strings.Contains(stdout, name) {
			t.Errorf("bench scenarios does not list %s:\n%s", name, stdout)
		}
	}
}

// TestRunInterrupted stops a run midway, as Ctrl-C does: it exits 130 and still writes what
// it measured, under an INTERRUPTED headline with its thresholds not judged.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	progress := filepath.Join(t.TempDir(), "progress.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the run's progress lines show its measured window under way (two
		// lines of the steady phase), however long the stack and the warm-up took: the
		// measured window is a minute long.
		for ctx.Err() == nil {
			if b, _ := os.ReadFile(progress); strings.Count(string(b), `"phase":"steady"`) >= 2 {
				cancel()
				return
			}
			time.Sleep(50 * time.Millisecond) // polling for the file: there is no event to wait on
		}
	}()
	defer cancel()
	stdout, stderr, code := runBench(t, ctx, nil, "run", "-scenario", "testdata/e2e.yaml", "-mode", "cache", "-duration", "60s",
		"-out", out, "-out", "jsonl="+progress, "-quiet")
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitInterrupted, stdout, stderr)
	}
	s, err := summary.Read(filepath.Join(out, "latest"))
	if err != nil {
		t.Fatalf("no summary after an interrupt: %v\n%s", err, stderr)
	}
	if !s.Interrupted || s.Requests == 0 || s.Pass {
		t.Fatalf("interrupted %v, requests %d, pass %v", s.Interrupted, s.Requests, s.Pass)
	}
	for _, th := range s.Thresholds {
		if th.NotJudged == "" || th.Pass {
			t.Errorf("threshold %s of an interrupted run: %+v, want not judged", th.Expr, th)
		}
	}
	if !strings.Contains(stdout, "INTERRUPTED: stopped before its end after measuring") ||
		strings.Contains(stdout, "PASS:") || strings.Contains(stdout, "FAIL:") {
		t.Errorf("the headline of an interrupted run is not INTERRUPTED (or reads as a verdict):\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "latest", "report.md")); err != nil {
		t.Fatal(err)
	}
}

// TestRunInterruptedBeforeWindow interrupts a run while its stack is starting (as soon as
// its server log appears), before its measured window: it exits 130, writes no report and
// leaves reports/latest pointing where it pointed.
func TestRunInterruptedBeforeWindow(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	if err := os.Mkdir(filepath.Join(out, "earlier-run"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("earlier-run", filepath.Join(out, "latest")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if m, _ := filepath.Glob(filepath.Join(out, "*", "server-cache.log")); len(m) > 0 {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond) // polling for the file: there is no event to wait on
		}
	}()
	stdout, stderr, code := runBench(t, ctx, nil, "run", "-scenario", "testdata/e2e.yaml", "-mode", "cache", "-out", out, "-quiet")
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitInterrupted, stdout, stderr)
	}
	if !strings.Contains(stderr, "nothing measured, no report written") && !strings.Contains(stderr, "context canceled") {
		t.Errorf("stderr does not say the run was interrupted: %s", stderr)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if e.Name() != "earlier-run" && e.Name() != "latest" {
			t.Errorf("a run interrupted before its window left %s behind", e.Name())
		}
	}
	if to, err := os.Readlink(filepath.Join(out, "latest")); err != nil || to != "earlier-run" {
		t.Errorf("reports/latest -> %q (%v), want earlier-run", to, err)
	}
	if strings.Contains(stdout, "PASS") || strings.Contains(stdout, "FAIL") {
		t.Errorf("an interrupted run printed a verdict:\n%s", stdout)
	}
}

// TestChildrenOwnProcessGroup: the Redis and the server a stack starts each lead their own
// process group, so that a terminal's Ctrl-C (sent to the foreground group) reaches only
// the harness, which decides the order of shutdown.
func TestChildrenOwnProcessGroup(t *testing.T) {
	t.Parallel()
	sc, err := scenarios.Load("testdata/e2e.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st := upFor(t, sc, "default")
	defer st.Close()
	own, err := syscall.Getpgid(0)
	if err != nil {
		t.Fatal(err)
	}
	pids := append([]int{st.Servers[0].Pid()}, st.Redis.Pids()...)
	for _, pid := range pids {
		pg, err := syscall.Getpgid(pid)
		if err != nil {
			t.Fatalf("pid %d: %v", pid, err)
		}
		if pg != pid || pg == own {
			t.Errorf("child %d is in process group %d (the harness's is %d), want its own", pid, pg, own)
		}
	}
	if len(pids) != 2 {
		t.Errorf("pids %v: want the server and Redis", pids)
	}
}

// TestRunAbortOnFail: a threshold with abort: true stops the run once it is lost for good
// (here the only server is killed and never comes back, so errors only grow): the run
// measures far fewer requests than its 30-second window schedules, fails (exit 1) and says
// why in the summary and the headline.
func TestRunAbortOnFail(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	stdout, stderr, code := runBench(t, context.Background(), nil, "run", "-scenario", "testdata/abort.yaml", "-mode", "cache", "-out", out, "-quiet")
	if code != exitFail {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFail, stdout, stderr)
	}
	s, err := summary.Read(filepath.Join(out, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Aborted, "threshold errors == 0 lost for good") || s.Pass || s.Interrupted {
		t.Fatalf("aborted %q, pass %v, interrupted %v", s.Aborted, s.Pass, s.Interrupted)
	}
	const scheduled = 40 * 30
	if s.Requests == 0 || s.Requests > scheduled/2 {
		t.Errorf("measured %d requests of the %d scheduled: the abort did not stop the run early", s.Requests, scheduled)
	}
	if s.Errors == 0 || s.Thresholds[0].Pass {
		t.Errorf("errors %d, threshold %+v: want the lost threshold failed", s.Errors, s.Thresholds[0])
	}
	if !strings.Contains(stdout, "the run was aborted: threshold errors == 0 lost for") {
		t.Errorf("the headline does not say the run was aborted:\n%s", stdout)
	}
	// -quiet still prints one line per mode, and no live progress.
	if n := strings.Count(stderr, "[default cache] repeat 1 of 1: stack, warm-up 1s, measured window 30s"); n != 1 || strings.Contains(stderr, "ETA") {
		t.Errorf("-quiet printed the mode line %d times (want 1), or live progress:\n%s", n, stderr)
	}
}

// TestUnknownFlagDidYouMean: a misspelt flag gets one line naming the closest flag, not the
// command's whole usage; -h still prints the usage.
func TestUnknownFlagDidYouMean(t *testing.T) {
	stdout, stderr, code := runBench(t, context.Background(), nil, "run", "-scenaro", "smoke")
	if code != exitUsage || !strings.Contains(stderr, "run: unknown flag -scenaro (did you mean -scenario?); see bench run -h") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if strings.Contains(stdout+stderr, "Usage:") || strings.Count(stdout+stderr, "\n") > 1 {
		t.Errorf("a misspelt flag printed more than one line:\n%s%s", stdout, stderr)
	}
	if _, stderr, code = runBench(t, context.Background(), nil, "compare", "-confg", "default"); code != exitUsage || !strings.Contains(stderr, "(did you mean -config?)") {
		t.Errorf("compare -confg: exit %d, stderr %q", code, stderr)
	}
	if stdout, _, code = runBench(t, context.Background(), nil, "run", "-h"); code != 0 || !strings.Contains(stdout, "Usage: bench run") {
		t.Errorf("run -h: exit %d\n%s", code, stdout)
	}
}

// readValidSummary reads dir's summary.json, reporting every way it departs from its JSON
// schema (summary.SchemaJSON) as a test error.
func readValidSummary(t *testing.T, dir string) *summary.Summary {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, summary.FileName))
	if err != nil {
		t.Fatal(err)
	}
	res, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(summary.SchemaJSON), gojsonschema.NewBytesLoader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors() {
		t.Errorf("%s does not match its schema: %s", summary.FileName, e)
	}
	s, err := summary.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
