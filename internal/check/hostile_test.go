package check

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/atlasbench/atlasbench/refserver"
	"github.com/atlasbench/atlasbench/refserver/store"
	"github.com/atlasbench/atlasbench/scenarios"
)

// hostileYAML is every attack kind with a few normal reads, small enough for a test.
const hostileYAML = `
name: hostile-checks
seed: 3
warmup: 200ms
duration: 2s
rate: {shape: constant, rps: 300}
population: {users: 12, conversations: 2, messages: 3}
mix:
  - {attack: foreign-conversation, weight: 3}
  - {attack: path-variant, weight: 3}
  - {attack: hostile-id, weight: 2}
  - {attack: bad-token, weight: 2}
  - {attack: spoofed-header, weight: 2}
  - {attack: oversized-body, weight: 1}
  - {attack: malformed-body, weight: 3}
  - {attack: bad-tier, weight: 1}
  - {req: "GET /api/me", weight: 1}
  - {req: "GET /api/conversations/{id}/messages", weight: 1}
`

// attackCounts counts verdicts by attack kind ("" for the normal requests).
type attackCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (a *attackCounts) add(v Verdict) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[string]int{}
	}
	if v.Req != nil {
		a.n[v.Req.Attack]++
	}
}

func (a *attackCounts) every(t *testing.T) {
	t.Helper()
	for _, kind := range scenarios.AttackKinds() {
		if a.n[kind] < 10 {
			t.Errorf("attack %s sent %d times", kind, a.n[kind])
		}
	}
}

func TestHostileCorrectServer(t *testing.T) {
	var seen attackCounts
	rep, _ := runScenario(t, hostileYAML, fakeCorrect, seen.add)
	seen.every(t)
	if rep.Errors != 0 || rep.IsolationViolations() != 0 || rep.Stale != 0 || len(rep.Examples) != 0 {
		t.Errorf("a server that refuses every attack: %+v", rep)
	}
}

func TestHostileLeakingServer(t *testing.T) {
	rep, _ := runScenario(t, hostileYAML, fakeLeakForeign, nil)
	if rep.Isolation == 0 {
		t.Fatalf("foreign conversations served with the owner's body, no isolation violation: %+v", rep)
	}
	// The same answers are errors of the attacks that asked for them (a 200 where 404 belongs).
	if rep.ErrorsByKind["attack foreign-conversation: 200"] == 0 {
		t.Errorf("errors by kind %v: want attack foreign-conversation: 200", rep.ErrorsByKind)
	}
	for k := range rep.ErrorsByKind {
		if !strings.HasSuffix(k, ": 200") {
			t.Errorf("error kind %q from a server that only leaks conversations", k)
		}
	}
	ex := examplesOf(rep, KindIsolation)
	if len(ex) == 0 || !strings.Contains(ex[0], "attack ") || !strings.Contains(ex[0], `"userId"`) {
		t.Errorf("isolation examples %q", ex)
	}
}

func TestHostileCrashingServer(t *testing.T) {
	rep, _ := runScenario(t, hostileYAML, fakeCrashMalformed, nil)
	if rep.ErrorsByKind["attack malformed-body: 500"] == 0 {
		t.Fatalf("500 to malformed bodies not counted under the attack: %v", rep.ErrorsByKind)
	}
	var sum int64
	for k, n := range rep.ErrorsByKind {
		// bad-tier sends some bodies that do not decode either (3, null, ["core"], …).
		if k != "attack malformed-body: 500" && k != "attack bad-tier: 500" {
			t.Errorf("error kind %q (%d)", k, n)
		}
		sum += n
	}
	if rep.Errors != sum || rep.IsolationViolations() != 0 {
		t.Errorf("report %+v", rep)
	}
	ex := examplesOf(rep, KindError)
	if len(ex) == 0 || !strings.Contains(ex[0], "| want status 400 | got 500 ") {
		t.Errorf("error examples %q", ex)
	}
}

// attackRec is rec for an attack of kind with the given Expect.
func attackRec(kind string, expect []int, code int, body string) Verdict {
	r := rec("GET /api/me", 0, 5, code, "free", body)
	r.Req.Attack, r.Req.Route, r.Req.Variant, r.Req.Expect = kind, "ATTACK "+kind, "test", expect
	return Verdict{Record: r}
}

func TestAttackStatus(t *testing.T) {
	timeout := attackRec("bad-token", []int{401}, 0, "")
	timeout.Res.Error = "Client.Timeout exceeded while awaiting headers"
	for _, tc := range []struct {
		name string
		v    Verdict
		want string
	}{
		// The expected refusal.
		{"404 expected", attackRec("foreign-conversation", []int{404}, 404, ""), ""},
		// One of several acceptable answers.
		{"200 accepted", attackRec("path-variant", []int{404, 400, 200}, 200, ""), ""},
		// A foreign conversation served.
		{"200 for foreign", attackRec("foreign-conversation", []int{404}, 200, ""), "attack foreign-conversation: 200"},
		// A redirect is not a refusal.
		{"301", attackRec("path-variant", []int{404, 400, 200}, 301, ""), "attack path-variant: 301"},
		// A 5xx is an error even when listed.
		{"5xx listed", attackRec("malformed-body", []int{400, 500}, 500, ""), "attack malformed-body: 500"},
		// No answer.
		{"transport", attackRec("oversized-body", []int{413}, 0, ""), "attack oversized-body: transport"},
		{"timeout", timeout, "attack bad-token: timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Status(tc.v.Req, tc.v.Res); got != tc.want {
				t.Errorf("Status = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAttackJudgement: every 2xx body of an attack is held to isolation, expected or not.
func TestAttackJudgement(t *testing.T) {
	for _, tc := range []struct {
		name              string
		v                 Verdict
		errors, isolation int64
		kind              string
	}{
		// Spoofed header, own data: fine.
		{"own body", attackRec("spoofed-header", []int{200}, 200, `{"userId":"u1","tier":"free"}`), 0, 0, ""},
		// Spoofed header honoured: the other user's data.
		{"foreign body", attackRec("spoofed-header", []int{200}, 200, `{"userId":"u2","tier":"free"}`), 0, 1, ""},
		// A foreign conversation served: an error and a violation.
		{"unexpected foreign body", attackRec("foreign-conversation", []int{404}, 200, `{"userId":"u2","messages":[]}`), 1, 1, "attack foreign-conversation: 200"},
		// An expected 2xx that is not JSON.
		{"not JSON", attackRec("spoofed-header", []int{200}, 200, `<html>`), 1, 0, "attack spoofed-header: invalid json"},
		// A refusal's body is not judged.
		{"404 body", attackRec("foreign-conversation", []int{404}, 404, `{"userId":"u2"}`), 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := report(t, tc.v.Record)
			if r.Errors != tc.errors || r.Isolation != tc.isolation || (tc.kind != "" && r.ErrorsByKind[tc.kind] != 1) {
				t.Errorf("errors %d %v, isolation %d; want %d (%s), %d", r.Errors, r.ErrorsByKind, r.Isolation, tc.errors, tc.kind, tc.isolation)
			}
		})
	}
}

// TestHostileAgainstReferenceServer runs the attacks against the real reference server
// (SQLite, and a real redis-server for the cache mode): every answer must be the expected
// refusal or the requester's own data.
func TestHostileAgainstReferenceServer(t *testing.T) {
	for _, mode := range []summary.Mode{summary.ModeCache, summary.ModeNoCache} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := context.Background()
			sc, err := scenarios.Parse("hostile-checks.yaml", []byte(hostileYAML))
			if err != nil {
				t.Fatal(err)
			}
			st, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/atlas.db", store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			pop := sc.Population
			if err := st.Seed(ctx, store.SeedConfig{Seed: sc.Seed, Users: pop.Users, Conversations: pop.Conversations, Messages: pop.Messages, Tiers: pop.Tiers}); err != nil {
				t.Fatal(err)
			}
			cfg, err := cache.LoadConfig("default")
			if err != nil {
				t.Fatal(err)
			}
			var client redis.UniversalClient
			if mode == "cache" {
				client, err = cache.NewClient("redis://"+testutil.Redis(t).Addr(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { client.Close() })
			}
			c := cache.New(client, cache.Options{Config: cfg})
			bg, cancel := context.WithCancel(ctx)
			t.Cleanup(cancel)
			c.Start(bg)
			srv := httptest.NewServer(refserver.New(refserver.Config{JWTSecret: []byte(fakeSecret)}, st, c))
			t.Cleanup(srv.Close)

			var seen attackCounts
			chk := New(Options{Next: seen.add})
			if _, err := driver.Run(ctx, driver.Config{BaseURL: srv.URL, Scenario: sc, Secret: []byte(fakeSecret), Mode: mode, Sink: chk.Add}); err != nil {
				t.Fatal(err)
			}
			chk.Close()
			rep := chk.Report()
			seen.every(t)
			if rep.Errors != 0 || rep.IsolationViolations() != 0 || rep.Stale != 0 {
				t.Errorf("%s: errors %v, isolation %d, stale %d; examples:", mode, rep.ErrorsByKind, rep.IsolationViolations(), rep.Stale)
				for _, e := range rep.Examples {
					t.Errorf("  %s %s | want %s | got %s", e.Kind, e.Request, e.Expected, e.Got)
				}
			}
		})
	}
}
