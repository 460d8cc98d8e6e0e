package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/atlasbench/atlasbench/refserver"
	"github.com/atlasbench/atlasbench/refserver/store"
)

// foreignSecret signs the foreign server's tokens; the harness never sees it (no
// ATLAS_JWT_SECRET in the runs' environment).
var foreignSecret = []byte("a-secret-the-harness-does-not-know")

// foreignServer is the reference server seeded with users acct-1…acct-N and conversation IDs
// from c900001 on, behind foreignSecret: nothing a seeded run assumes holds there.
func foreignServer(t *testing.T, users int) http.Handler {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "atlas.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Seed(ctx, store.SeedConfig{Seed: 5, Users: users, Conversations: 3, Messages: 6,
		Tiers: atlas.DefaultTierMix(), UserPrefix: "acct-", IDOffset: 900000}); err != nil {
		t.Fatal(err)
	}
	cfg, err := cache.LoadConfig("default")
	if err != nil {
		t.Fatal(err)
	}
	// Patient Redis timeouts and a breaker that does not open: the tests against this server
	// judge hits, isolation and staleness, which 50ms timeouts on a starved CPU turn into
	// bypasses (as shards-cache.yaml does for the shard test).
	cfg.Redis.DialTimeout, cfg.Redis.ReadTimeout, cfg.Redis.WriteTimeout = time.Second, time.Second, time.Second
	cfg.Breaker.Failures = 1000
	client, err := cache.NewClient(testutil.Redis(t).URL(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c := cache.New(client, cache.Options{Config: cfg, Warmer: refserver.Warmer(st, 100)})
	bg, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	c.Start(bg)
	return refserver.New(refserver.Config{JWTSecret: foreignSecret}, st, c)
}

// usersFile writes a CSV of acct-1…acct-N with their tokens (IDs and tokens only: tiers and
// conversations are learned) and one user whose token the server refuses.
func usersFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,token\n")
	for i := 1; i <= n; i++ {
		tok, err := atlas.NewToken(foreignSecret, fmt.Sprintf("acct-%d", i), time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "acct-%d,%s\n", i, tok)
	}
	forged, _ := atlas.NewToken([]byte("wrong secret"), "acct-1", time.Now(), time.Hour)
	fmt.Fprintf(&b, "mallory,%s\n", forged)
	p := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// staleMessages serves every GET …/messages from the first answer it saw for that path,
// never invalidated: a cache that forgets writes.
func staleMessages(h http.Handler) http.Handler {
	var mu sync.Mutex
	kept := map[string]*httptest.ResponseRecorder{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/messages") {
			h.ServeHTTP(w, r)
			return
		}
		key := r.Header.Get("Authorization") + " " + r.URL.String()
		mu.Lock()
		rec, ok := kept[key]
		mu.Unlock()
		if !ok {
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			mu.Lock()
			kept[key] = rec
			mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// runForeign runs testdata/foreign.yaml against h with the users file and extra flags, and
// returns the summary and the exit code.
func runForeign(t *testing.T, h http.Handler, users string, want int, extra ...string) (*summary.Summary, string) {
	t.Helper()
	return runScenario(t, h, filepath.Join("testdata", "foreign.yaml"), users, want, extra...)
}

// runScenario runs a scenario file against h with a users file and extra flags, and returns
// the summary and the run directory.
func runScenario(t *testing.T, h http.Handler, scenario, users string, want int, extra ...string) (*summary.Summary, string) {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	out := t.TempDir()
	args := append([]string{"run", "-scenario", scenario, "-target", hs.URL,
		"-users", users, "-out", out, "-quiet"}, extra...)
	stdout, stderr, code := runBench(t, context.Background(), nil, args...)
	s, err := summary.Read(filepath.Join(out, "latest"))
	if code != want || err != nil {
		if s != nil {
			t.Logf("errors %v, examples %+v, notes %q", s.ErrorsByKind, s.Examples, s.Notes)
		}
		t.Fatalf("exit %d, want %d (%v)\n%s\n%s", code, want, err, stdout, stderr)
	}
	return s, filepath.Join(out, "latest")
}

// The done-when of own users: a whole scenario against a server whose user IDs,
// conversation IDs and JWT secret the harness does not know, from a users file: 0 errors,
// hit rates measured, isolation and staleness judged (a server serving stale message pages
// fails with stale reads); the same read-only, with no write sent.
func TestRunWithUsersFileAgainstAForeignServer(t *testing.T) {
	t.Parallel()
	const n = 25
	users := usersFile(t, n)

	t.Run("read-write", func(t *testing.T) {
		t.Parallel()
		s, _ := runForeign(t, foreignServer(t, n), users, exitOK)
		if s.Errors != 0 || s.IsolationViolations != 0 || s.StaleReads != 0 || s.Requests < 300 {
			t.Errorf("requests %d, errors %d %v, isolation %d, stale %d", s.Requests, s.Errors, s.ErrorsByKind, s.IsolationViolations, s.StaleReads)
		}
		if s.HitRate.Overall <= 0 || s.HitRate.APIResponses <= 0 || s.HitRateHeaders == nil || s.HitRateHeaders.Overall <= 0 {
			t.Errorf("hit rates %+v, headers %+v: want measured", s.HitRate, s.HitRateHeaders)
		}
		for _, route := range []string{"POST /api/conversations/{id}/messages", "GET /api/conversations/{id}/messages", "PUT /api/me/tier"} {
			if s.ByEndpoint[route].Requests == 0 {
				t.Errorf("%s: no request measured (endpoints %v)", route, keys(s.ByEndpoint))
			}
		}
		notes := strings.Join(summary.NoteStrings(s.Notes), "\n")
		for _, want := range []string{fmt.Sprintf("users from %s: %d", users, n+1), "tiers of 25, conversations of 25", "1 of 26 tokens refused by the target (401), those users left out: mallory"} {
			if !strings.Contains(notes, want) {
				t.Errorf("notes lack %q:\n%s", want, notes)
			}
		}
	})

	t.Run("stale server fails", func(t *testing.T) {
		t.Parallel()
		s, _ := runForeign(t, staleMessages(foreignServer(t, n)), users, exitFail)
		if s.StaleReads == 0 {
			t.Errorf("a server that never invalidates message pages: 0 stale reads")
		}
	})

	// Answers with no owner where -owner points: isolation is not applicable, with the
	// reason, and its threshold neither passes nor fails; never "0 violations".
	t.Run("owner not applicable", func(t *testing.T) {
		t.Parallel()
		s, dir := runForeign(t, foreignServer(t, n), users, exitOK, "-owner", "/data/ownerId", "-read-only")
		if !strings.Contains(s.IsolationNA, "names an owner at /data/ownerId") || s.IsolationViolations != 0 {
			t.Errorf("isolation_not_applicable %q, violations %d", s.IsolationNA, s.IsolationViolations)
		}
		for _, th := range s.Thresholds {
			if th.Expr == "isolation_violations == 0" && th.NotApplicable == "" {
				t.Errorf("threshold %q judged (%+v), want not applicable", th.Expr, th)
			}
		}
		if md, _ := os.ReadFile(filepath.Join(dir, "report.md")); !strings.Contains(string(md), "isolation not applicable") {
			t.Errorf("report.md does not say isolation was not applicable")
		}
	})

	t.Run("read-only", func(t *testing.T) {
		t.Parallel()
		s, _ := runForeign(t, foreignServer(t, n), users, exitOK, "-read-only")
		if s.Errors != 0 || s.IsolationViolations != 0 || s.Requests < 300 || s.HitRate.Overall <= 0 {
			t.Errorf("requests %d, errors %d, isolation %d, hit rate %v", s.Requests, s.Errors, s.IsolationViolations, s.HitRate.Overall)
		}
		for route, e := range s.ByEndpoint {
			if !strings.HasPrefix(route, "GET ") && e.Requests > 0 {
				t.Errorf("read-only run sent %d of %s", e.Requests, route)
			}
		}
		if !strings.Contains(strings.Join(summary.NoteStrings(s.Notes), "\n"), "checks off: staleness") {
			t.Errorf("notes do not say which checks read-only turns off: %q", s.Notes)
		}
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Bad use of -users is exit 2 before anything runs, naming what is wrong.
func TestRunUsersUsageErrors(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.csv")
	os.WriteFile(good, []byte("id,token\na,t\n"), 0o644)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("id,token,tier\na,t,gold\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-users", good, "-scenario", "smoke"}, "-users goes with -target"},
		{[]string{"run", "-target", "http://127.0.0.1:1", "-users", bad, "-scenario", "smoke"}, `bad.csv:2: tier: "gold"`},
		{[]string{"run", "-target", "http://127.0.0.1:1", "-users", good, "-scenario", "hostile"}, "needs a seeded server"},
		{[]string{"run", "-target", "http://127.0.0.1:1", "-read-only", "-scenario", "testdata/writes-only.yaml"}, "leaves the mix without a read"},
	} {
		_, stderr, code := runBench(t, context.Background(), nil, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s", tc.args, code, tc.want, stderr)
		}
	}
}
