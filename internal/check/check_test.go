package check

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/scenarios"
)

const checksYAML = `
name: checks
seed: 11
warmup: 300ms
duration: 1500ms
rate: {shape: constant, rps: 200}
population: {users: 8, conversations: 2, messages: 3}
mix:
  - {req: "GET /api/me", weight: 10}
  - {req: "GET /api/me/tier", weight: 10}
  - {req: "PUT /api/me/tier", weight: 8}
  - {req: "GET /api/conversations", weight: 10}
  - {req: "POST /api/conversations", weight: 4}
  - {req: "GET /api/conversations/{id}/messages", weight: 30}
  - {req: "POST /api/conversations/{id}/messages", weight: 15}
`

// runAgainst drives a fake Atlas with the checks scenario and returns the checker's report
// and how many verdicts reached the next stage.
func runAgainst(t *testing.T, mode fakeMode) (Report, int) {
	t.Helper()
	return runScenario(t, checksYAML, mode, nil)
}

// runScenario drives a fake Atlas with a scenario; next sees every verdict.
func runScenario(t *testing.T, yaml string, mode fakeMode, next func(Verdict)) (Report, int) {
	t.Helper()
	sc, err := scenarios.Parse("checks.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	srv := newFakeAtlas(t, sc, mode)
	verdicts := 0
	chk := New(Options{Next: func(v Verdict) {
		verdicts++
		if next != nil {
			next(v)
		}
	}})
	out, err := driver.Run(context.Background(), driver.Config{
		BaseURL: srv.URL, Scenario: sc, Secret: []byte(fakeSecret), Mode: "cache", Sink: chk.Add,
	})
	if err != nil {
		t.Fatal(err)
	}
	chk.Close()
	rep := chk.Report()
	if rep.Checked != out.Measured {
		t.Errorf("checked %d of %d measured records", rep.Checked, out.Measured)
	}
	if int64(verdicts) != out.Results {
		t.Errorf("%d verdicts for %d results", verdicts, out.Results)
	}
	t.Logf("report: checked %d, errors %v, isolation %d, tier %d, stale %d", rep.Checked, rep.ErrorsByKind, rep.Isolation, rep.Tier, rep.Stale)
	return rep, verdicts
}

func examplesOf(r Report, kind string) []string {
	var out []string
	for _, e := range r.Examples {
		if e.Kind == kind {
			out = append(out, e.Request+" | want "+e.Expected+" | got "+e.Got)
		}
	}
	return out
}

func TestCorrectServerHasNoFindings(t *testing.T) {
	rep, _ := runAgainst(t, fakeCorrect)
	if rep.Errors != 0 || rep.Isolation != 0 || rep.Tier != 0 || rep.Stale != 0 || len(rep.Examples) != 0 {
		t.Errorf("correct server: %+v", rep)
	}
}

func TestLeakingServerIsolation(t *testing.T) {
	rep, _ := runAgainst(t, fakeLeak)
	ex := examplesOf(rep, KindIsolation)
	if rep.Isolation == 0 || len(ex) == 0 {
		t.Fatalf("foreign bodies not found: %+v", rep)
	}
	if !strings.Contains(ex[0], "GET /api/conversations as u") || !strings.Contains(ex[0], `"userId"`) {
		t.Errorf("example %q", ex[0])
	}
	if len(ex) > DefaultMaxExamples {
		t.Errorf("%d examples kept", len(ex))
	}
	if rep.Stale != 0 {
		t.Errorf("stale reads %d from a server that only leaks", rep.Stale)
	}
}

func TestStaleServer(t *testing.T) {
	rep, _ := runAgainst(t, fakeStale)
	if rep.Stale == 0 || len(examplesOf(rep, KindStale)) == 0 {
		t.Fatalf("stale message lists not found: %+v", rep)
	}
	if rep.Isolation != 0 || rep.Tier != 0 {
		t.Errorf("other findings from a server that only loses messages: %+v", rep)
	}
}

func TestTierStuckServer(t *testing.T) {
	rep, _ := runAgainst(t, fakeTierStuck)
	if rep.Tier == 0 || len(examplesOf(rep, KindTier)) == 0 {
		t.Fatalf("ignored tier changes not found: %+v", rep)
	}
	if rep.IsolationViolations() != rep.Isolation+rep.Tier || rep.Stale != 0 {
		t.Errorf("report %+v", rep)
	}
}

func TestQuotaForAllServer(t *testing.T) {
	rep, _ := runAgainst(t, fakeQuotaAll)
	var bad int64
	for k, n := range rep.ErrorsByKind {
		if !strings.HasPrefix(k, "429 for ") || k == "429 for free" {
			t.Errorf("error kind %q (%d)", k, n)
		}
		bad += n
	}
	if bad == 0 || rep.Errors != bad {
		t.Errorf("429 answers to core and studio users not counted: %+v", rep)
	}
}

// rec builds a record of user u1 sent at sentMS and lasting durMS (milliseconds from an
// arbitrary origin), answered with code, X-Atlas-Tier tier and body.
func rec(route string, sentMS, durMS int, code int, tier, body string) driver.Record {
	origin := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	method, path, _ := strings.Cut(route, " ")
	req := &driver.Request{UserID: "u1", UserIndex: 1, Method: method, Route: route, Path: path, Expect: []int{200}}
	switch route {
	case "PUT /api/me/tier":
		req.NewTier = tier
	case "POST /api/conversations/{id}/messages":
		req.Expect, req.ConversationID = []int{201, 429}, "c1"
	case "GET /api/conversations/{id}/messages":
		req.ConversationID, req.Limit = "c1", 2
	case "POST /api/conversations":
		req.Expect = []int{201}
	}
	h := http.Header{}
	if tier != "" {
		h.Set("X-Atlas-Tier", tier)
	}
	res := &vegeta.Result{Code: uint16(code), Timestamp: origin.Add(time.Duration(sentMS) * time.Millisecond),
		Latency: time.Duration(durMS) * time.Millisecond, Body: []byte(body), Headers: h}
	if code == 0 {
		res.Error = "connection reset"
	}
	return driver.Record{Req: req, Res: res, Sent: time.Duration(sentMS) * time.Millisecond}
}

func report(t *testing.T, recs ...driver.Record) Report {
	t.Helper()
	c := New(Options{})
	for _, r := range recs {
		c.Add(r)
	}
	c.Close()
	return c.Report()
}

const (
	meCore   = `{"userId":"u1","tier":"core"}`
	meFree   = `{"userId":"u1","tier":"free"}`
	meStudio = `{"userId":"u1","tier":"studio"}`
)

func TestTierRules(t *testing.T) {
	warm := func(r driver.Record) driver.Record { r.Warmup = true; return r }
	for _, tc := range []struct {
		name string
		recs []driver.Record
		want int64
	}{
		// Acknowledged at 10 ms, read sent at 20 ms still served as the old tier.
		{"old tier after ack", []driver.Record{
			rec("PUT /api/me/tier", 0, 10, 200, "core", meCore),
			rec("GET /api/me/tier", 20, 5, 200, "free", meFree)}, 1},
		// The same read served as the new tier.
		{"new tier after ack", []driver.Record{
			rec("PUT /api/me/tier", 0, 10, 200, "core", meCore),
			rec("GET /api/me/tier", 20, 5, 200, "core", meCore)}, 0},
		// Read sent before the ack: either tier is fine.
		{"read before ack", []driver.Record{
			rec("PUT /api/me/tier", 0, 30, 200, "core", meCore),
			rec("GET /api/me/tier", 20, 5, 200, "free", meFree)}, 0},
		// No PUT seen yet: no claim (the run may not have seeded the server).
		{"no PUT", []driver.Record{rec("GET /api/me", 20, 5, 200, "studio", meStudio)}, 0},
		// Header right, body wrong.
		{"body disagrees", []driver.Record{
			rec("PUT /api/me/tier", 0, 10, 200, "core", meCore),
			rec("GET /api/me", 20, 5, 200, "core", meFree)}, 1},
		// A second PUT sent while the read was in flight (and answered after it): ambiguous.
		{"PUT overlapping the read arrives later", []driver.Record{
			rec("PUT /api/me/tier", 0, 10, 200, "core", meCore),
			rec("GET /api/me/tier", 20, 5, 200, "studio", meStudio),
			rec("PUT /api/me/tier", 22, 2000, 200, "studio", meStudio)}, 0},
		// A later PUT that started after the read ended changes nothing for it.
		{"PUT after the read", []driver.Record{
			rec("PUT /api/me/tier", 0, 10, 200, "core", meCore),
			rec("GET /api/me/tier", 20, 5, 200, "studio", meStudio),
			rec("PUT /api/me/tier", 30, 10, 200, "studio", meStudio)}, 1},
		// A PUT that failed with a 5xx may have been applied: ambiguous from then on.
		{"unknown failure", []driver.Record{
			rec("PUT /api/me/tier", 0, 10, 200, "core", meCore),
			rec("PUT /api/me/tier", 12, 3, 500, "studio", `{"error":"x"}`),
			rec("GET /api/me/tier", 20, 5, 200, "studio", meStudio)}, 0},
		// A PUT refused with a 4xx changed nothing.
		{"refused PUT", []driver.Record{
			rec("PUT /api/me/tier", 0, 10, 200, "core", meCore),
			rec("PUT /api/me/tier", 12, 3, 400, "studio", `{"error":"x"}`),
			rec("GET /api/me/tier", 20, 5, 200, "studio", meStudio)}, 1},
		// Two acknowledged PUTs that overlapped: either may have landed last.
		{"overlapping PUTs", []driver.Record{
			rec("PUT /api/me/tier", 0, 10, 200, "core", meCore),
			rec("PUT /api/me/tier", 5, 7, 200, "studio", meStudio),
			rec("GET /api/me/tier", 20, 5, 200, "core", meCore)}, 0},
		// Found in the warm-up: state kept, not counted.
		{"warm-up", []driver.Record{
			warm(rec("PUT /api/me/tier", 0, 10, 200, "core", meCore)),
			warm(rec("GET /api/me/tier", 20, 5, 200, "free", meFree))}, 0},
		// PUT in the warm-up, violation in the measured window: counted.
		{"PUT in warm-up", []driver.Record{
			warm(rec("PUT /api/me/tier", 0, 10, 200, "core", meCore)),
			rec("GET /api/conversations", 20, 5, 200, "free", `{"userId":"u1","conversations":[]}`)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := report(t, tc.recs...)
			if r.Tier != tc.want {
				t.Errorf("tier violations %d, want %d (%+v)", r.Tier, tc.want, r.Examples)
			}
		})
	}
}

func TestStalenessRules(t *testing.T) {
	posted := `{"id":"m100","conversationId":"c1","userId":"u1","createdAt":"2026-05-01T00:00:00.005Z"}`
	page := func(ids ...string) string {
		var items []string
		for i, id := range ids {
			items = append(items, `{"id":"`+id+`","userId":"u1","createdAt":"2026-05-01T00:00:0`+string(rune('9'-i))+`.000Z"}`)
		}
		return `{"userId":"u1","conversationId":"c1","messages":[` + strings.Join(items, ",") + `]}`
	}
	post := rec("POST /api/conversations/{id}/messages", 0, 10, 201, "free", posted)
	for _, tc := range []struct {
		name string
		recs []driver.Record
		want int64
	}{
		// Read sent after the ack without the message: stale.
		{"missing", []driver.Record{post, rec("GET /api/conversations/{id}/messages", 20, 5, 200, "free", page("m1"))}, 1},
		// With it: fine.
		{"present", []driver.Record{post, rec("GET /api/conversations/{id}/messages", 20, 5, 200, "free", page("m100", "m1"))}, 0},
		// Full page (limit 2) of newer messages: pushed off, fine.
		{"pushed off a full page", []driver.Record{post, rec("GET /api/conversations/{id}/messages", 20, 5, 200, "free", page("m102", "m101"))}, 0},
		// Read sent before the ack: may miss it.
		{"read before ack", []driver.Record{post, rec("GET /api/conversations/{id}/messages", 5, 20, 200, "free", page("m1"))}, 0},
		// A created conversation missing from a later list.
		{"conversation missing", []driver.Record{
			rec("POST /api/conversations", 0, 10, 201, "free", `{"id":"c9","userId":"u1","createdAt":"2026-05-01T00:00:00.005Z"}`),
			rec("GET /api/conversations", 20, 5, 200, "free", `{"userId":"u1","conversations":[{"id":"c1","userId":"u1","createdAt":"2026-01-01T00:00:00.000Z"}]}`)}, 1},
		// And present.
		{"conversation present", []driver.Record{
			rec("POST /api/conversations", 0, 10, 201, "free", `{"id":"c9","userId":"u1","createdAt":"2026-05-01T00:00:00.005Z"}`),
			rec("GET /api/conversations", 20, 5, 200, "free", `{"userId":"u1","conversations":[{"id":"c9","userId":"u1","createdAt":"2026-05-01T00:00:00.005Z"}]}`)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := report(t, tc.recs...)
			if r.Stale != tc.want {
				t.Errorf("stale reads %d, want %d (%+v)", r.Stale, tc.want, r.Examples)
			}
			// The write was acknowledged at 10 ms and the stale read sent at 20 ms.
			if want := time.Duration(tc.want) * 10 * time.Millisecond; r.StaleMax != want {
				t.Errorf("stalest read %s, want %s", r.StaleMax, want)
			}
		})
	}
}

func TestIsolationRules(t *testing.T) {
	for _, tc := range []struct {
		name, route, body string
		want              int64
	}{
		// The requester's own body.
		{"own", "GET /api/me", `{"userId":"u1","tier":"free"}`, 0},
		// Someone else's.
		{"foreign", "GET /api/me", `{"userId":"u2","tier":"free"}`, 1},
		// Own list with a foreign item.
		{"foreign item", "GET /api/conversations", `{"userId":"u1","conversations":[{"id":"c1","userId":"u1"},{"id":"c7","userId":"u7"}]}`, 1},
		// Own list with an item that has no owner.
		{"item without owner", "GET /api/conversations/{id}/messages", `{"userId":"u1","messages":[{"id":"m1"}]}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := report(t, rec(tc.route, 0, 5, 200, "free", tc.body))
			if r.Isolation != tc.want {
				t.Errorf("isolation %d, want %d", r.Isolation, tc.want)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	withTier := func(r driver.Record, tier string) *vegeta.Result {
		r.Res.Headers.Set("X-Atlas-Tier", tier)
		return r.Res
	}
	post := rec("POST /api/conversations/{id}/messages", 0, 5, 429, "", "")
	for _, tc := range []struct {
		name string
		req  *driver.Request
		res  *vegeta.Result
		want string
	}{
		// Expected 200.
		{"ok", rec("GET /api/me", 0, 5, 200, "free", "").Req, rec("GET /api/me", 0, 5, 200, "free", "").Res, ""},
		// The quota, on the free tier: expected.
		{"429 free", post.Req, withTier(post, "free"), ""},
		// The quota on core: an error.
		{"429 core", post.Req, withTier(rec("POST /api/conversations/{id}/messages", 0, 5, 429, "", ""), "core"), "429 for core"},
		// No answer.
		{"transport", rec("GET /api/me", 0, 5, 0, "", "").Req, rec("GET /api/me", 0, 5, 0, "", "").Res, "transport"},
		// Server error.
		{"5xx", rec("GET /api/me", 0, 5, 503, "", "").Req, rec("GET /api/me", 0, 5, 503, "", "").Res, "5xx"},
		// A 404 nobody expected.
		{"404", rec("GET /api/me", 0, 5, 404, "", "").Req, rec("GET /api/me", 0, 5, 404, "", "").Res, "unexpected 404"},
		// 200 where 201 was expected.
		{"200 for POST", post.Req, rec("POST /api/conversations/{id}/messages", 0, 5, 200, "", "").Res, "unexpected 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Status(tc.req, tc.res); got != tc.want {
				t.Errorf("Status = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestReorder: records added out of completion order (by less than the reorder window) are
// judged in order of completion.
func TestReorder(t *testing.T) {
	var ends []time.Time
	c := New(Options{Reorder: 100 * time.Millisecond, Next: func(v Verdict) { ends = append(ends, v.Res.End()) }})
	for _, ms := range []int{0, 30, 10, 20, 300, 250, 500, 420} {
		c.Add(rec("GET /api/me", ms, 1, 200, "free", `{"userId":"u1"}`))
	}
	if len(ends) == 0 {
		t.Fatal("nothing released before Close")
	}
	c.Close()
	if len(ends) != 8 {
		t.Fatalf("%d verdicts", len(ends))
	}
	for i := 1; i < len(ends); i++ {
		if ends[i].Before(ends[i-1]) {
			t.Fatalf("verdict %d ends before verdict %d: %v", i, i-1, ends)
		}
	}
}
