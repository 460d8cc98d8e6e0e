package doctor

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/check"
)

// DefaultTargetTimeout bounds each request of CheckTarget.
const DefaultTargetTimeout = 5 * time.Second

// TargetOptions say which service to check and as whom.
type TargetOptions struct {
	// URL is the service's base URL, e.g. "http://127.0.0.1:8000". Required.
	URL string
	// UserID and Token are one user of the service and a bearer token it accepts for
	// that user. Required.
	UserID, Token string
	// Owner is the JSON pointer of an answer's owner; default check.DefaultOwner.
	Owner string
	// Client sends the requests; default a client with DefaultTargetTimeout.
	Client *http.Client
}

// probe is one answer doctor looked at.
type probe struct {
	route  string
	status int
	header http.Header
	body   []byte
}

// targetRun is the state of one CheckTarget.
type targetRun struct {
	o        TargetOptions
	owner    check.Pointer
	findings []Finding
	facts    []Fact
	seq      int
	// what the answers showed, for "what a run can measure"
	xcache, owners, ownerless int
}

// CheckTarget checks a live service against the Atlas API contract (docs/API.md) with
// GETs only: /healthz?includeStats=true and its stats, a request without a token (401),
// each read route (200, X-Cache, Cache-Control: private, the owner), a repeat of each
// (X-Cache: HIT), and non-canonical paths (404). It ends with what a run can and cannot
// measure there. The error is ErrBadInput for bad options and ErrUnreachable when the
// service does not answer.
func CheckTarget(ctx context.Context, o TargetOptions) (Section, error) {
	sec := Section{Name: "target", Subject: o.URL}
	if o.URL == "" || o.UserID == "" || o.Token == "" {
		return sec, fmt.Errorf("%w: target: want a URL, a user ID and its token", ErrBadInput)
	}
	owner, err := check.ParsePointer(cmp.Or(o.Owner, check.DefaultOwner))
	if err != nil {
		return sec, fmt.Errorf("%w: -owner: %w", ErrBadInput, err)
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: DefaultTargetTimeout}
	}
	o.URL = strings.TrimRight(o.URL, "/")
	t := &targetRun{o: o, owner: owner}

	health, err := t.get(ctx, "/healthz?includeStats=true", false)
	if err != nil {
		return sec, fmt.Errorf("%w: target %s: %w", ErrUnreachable, o.URL, err)
	}
	stats := t.health(health)

	if p, err := t.get(ctx, "/api/me", false); err == nil && p.status != http.StatusUnauthorized {
		t.add(Problem, "target.auth", "GET /api/me", fmt.Sprintf("a request without a token got %d, not 401", p.status),
			"a service that answers without a token cannot have per-user cache entries that are really per user",
			"refuse requests without a valid bearer token with 401")
	}
	me := t.read(ctx, "GET /api/me", "/api/me")
	t.read(ctx, "GET /api/me/tier", "/api/me/tier")
	convs := t.read(ctx, "GET /api/conversations", "/api/conversations")
	if id := firstConversation(convs); id != "" {
		t.read(ctx, "GET /api/conversations/{id}/messages", "/api/conversations/"+id+"/messages")
	} else if convs != nil && convs.status == http.StatusOK {
		t.facts = append(t.facts, Fact{"GET /api/conversations/{id}/messages", "not checked: the user has no conversation"})
	}
	if me != nil && me.status == http.StatusOK {
		for _, path := range []string{"/api/me/", "/api/me.css", "/api/me;x"} {
			p, err := t.get(ctx, path, true)
			if err == nil && p.status != http.StatusNotFound {
				t.add(Problem, "target.canonical-path", "GET "+path, fmt.Sprintf("answered %d, not 404", p.status),
					"a path that differs from a cached route only by a suffix or a trailing slash is how web cache deception and poisoning begin: a shared cache may store a private answer under a public-looking path",
					"answer only canonical paths; 404 for trailing slashes, suffixes and ; segments (never a redirect, never another route's answer)")
			}
		}
	}
	t.measurable(stats)
	sec.Facts, sec.Findings = t.facts, t.findings
	return sec, nil
}

func (t *targetRun) add(sev Severity, id, where, what, why, fix string) {
	t.findings = append(t.findings, Finding{ID: id, Severity: sev, Where: where, What: what, Why: why, Fix: fix})
}

// get sends one GET, with the token when auth is set.
func (t *targetRun) get(ctx context.Context, path string, auth bool) (*probe, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.o.URL+path, nil)
	if err != nil {
		return nil, err
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+t.o.Token)
	}
	t.seq++
	req.Header.Set("X-Request-Id", fmt.Sprintf("doctor-%d", t.seq))
	res, err := t.o.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &probe{route: "GET " + path, status: res.StatusCode, header: res.Header, body: body}, nil
}

// health judges /healthz?includeStats=true and returns whether its stats are usable.
func (t *targetRun) health(p *probe) bool {
	where := "GET /healthz?includeStats=true"
	if p.status != http.StatusOK {
		t.add(Warning, "target.healthz", where, fmt.Sprintf("answered %d", p.status),
			"a run polls it for the server's own cache counters; without them hit rates come from X-Cache headers only and nothing cross-checks them",
			"serve GET /healthz?includeStats=true as docs/API.md describes (status, mode, redis, db, stats)")
		return false
	}
	var h atlas.Health
	dec := json.NewDecoder(bytes.NewReader(p.body))
	if err := dec.Decode(&h); err != nil || h.Status == "" || h.Mode == "" {
		t.add(Warning, "target.healthz", where, "the answer is not the documented shape (status, mode, redis, db, stats)",
			"a run reads the mode and the cache counters from it; without them hit rates come from X-Cache headers only",
			"answer {\"status\",\"mode\",\"redis\":{…},\"db\":{…},\"stats\":{…}} as docs/API.md shows")
		return false
	}
	t.facts = append(t.facts, Fact{"healthz", fmt.Sprintf("status %s, mode %s, redis up %v, breaker %s", h.Status, h.Mode, h.Redis.Up, cmp.Or(h.Redis.Breaker, "-"))})
	if h.Stats == nil || len(h.Stats.Cache) == 0 {
		t.add(Warning, "target.healthz-stats", where, "no stats.cache counters per class",
			"hit rates per class come from the server's counters (hits / (hits + misses + bypasses)); without them only the X-Cache headers give a hit rate, with no second witness",
			"add \"stats\":{\"requests\",\"cache\":{class:{hits,misses,errors,bypasses}},\"db\":{\"total\",\"byClass\"}} to the includeStats answer")
		return false
	}
	var missing []string
	for _, c := range atlas.CacheClasses() {
		if _, ok := h.Stats.Cache[c]; !ok {
			missing = append(missing, string(c))
		}
	}
	if len(missing) > 0 {
		t.add(Warning, "target.healthz-stats", where, "stats.cache lacks the classes "+strings.Join(missing, ", "),
			"the hit rate of a class the server does not count is measured from X-Cache headers alone",
			"count every cache class in stats.cache")
	}
	if h.Mode == "nocache" {
		t.facts = append(t.facts, Fact{"cache", "the service says mode nocache: every answer is BYPASS, no hit rate to measure"})
	}
	return true
}

// read checks one read route twice and returns the first answer (nil when it failed).
func (t *targetRun) read(ctx context.Context, route, path string) *probe {
	p, err := t.get(ctx, path, true)
	if err != nil {
		t.add(Problem, "target.transport", route, err.Error(), "a route that does not answer cannot be measured", "check the service's log")
		return nil
	}
	if p.status != http.StatusOK {
		t.add(Problem, "target.status", route, fmt.Sprintf("answered %d, not 200 (body %.120s)", p.status, p.body),
			"a run counts every unexpected status as an error; a 401 means the token is not accepted for this user",
			"check the user and token (bench doctor -user, -users FILE) and that the route exists as docs/API.md describes")
		return p
	}
	if cc := p.header.Get("Cache-Control"); !strings.Contains(strings.ToLower(cc), "private") && !strings.Contains(strings.ToLower(cc), "no-store") {
		t.add(Problem, "target.cache-control", route, fmt.Sprintf("Cache-Control is %q, not private", cc),
			"a shared cache (CDN, reverse proxy) between users and the service may store one user's answer and serve it to the next: cross-user data through no fault of Redis",
			"send Cache-Control: private, no-store on every per-user answer")
	}
	switch x := p.header.Get("X-Cache"); x {
	case "":
		t.add(Warning, "target.x-cache", route, "no X-Cache header",
			"a run measures the hit rate per route from X-Cache (HIT, MISS or BYPASS) beside the server's counters; without it, hit rates come only from /healthz stats",
			"set X-Cache: HIT, MISS or BYPASS on every answer from the route's own cache lookup")
	case "HIT", "MISS", "BYPASS":
		t.xcache++
		t.repeat(ctx, route, path, x)
	default:
		t.add(Problem, "target.x-cache", route, fmt.Sprintf("X-Cache is %q, not HIT, MISS or BYPASS", x),
			"a run counts only HIT, MISS and BYPASS; any other value is neither a hit nor a miss", "use exactly HIT, MISS or BYPASS")
	}
	switch got, ok := t.owner.Owner(p.body); {
	case !ok:
		t.ownerless++
	case got != t.o.UserID:
		t.owners++
		t.add(Problem, "target.owner", route, fmt.Sprintf("the answer's owner %s is %q, not the requester %q", t.owner, got, t.o.UserID),
			"an answer owned by someone else is the cross-user leak a cache keyed without the user causes",
			"key every cached answer by the authenticated user (and tier), or pass -owner the pointer of your answers' owner")
	default:
		t.owners++
	}
	return p
}

// repeat reads path again: after a MISS the same resource should be a HIT.
func (t *targetRun) repeat(ctx context.Context, route, path, first string) {
	p, err := t.get(ctx, path, true)
	if err != nil || p.status != http.StatusOK {
		return
	}
	switch second := p.header.Get("X-Cache"); {
	case second == "HIT":
	case first == "BYPASS" && second == "BYPASS":
		t.add(Warning, "target.x-cache-hit", route, "two reads of the same resource were both BYPASS",
			"the cache is off, Redis is unreachable or its breaker open, or the user's invalidation is pending: a run would measure no cache at all",
			"check /healthz (redis.up, breaker) and the service's cache mode")
	default:
		t.add(Warning, "target.x-cache-hit", route, fmt.Sprintf("a repeated read of the same resource was %s, then %s: never a HIT", first, second),
			"either the route's answers are not cached (so a run measures no cache on it) or X-Cache does not report the lookup that served it",
			"cache the route's answer by user (and tier) and set X-Cache from that lookup")
	}
}

// measurable says what a run can and cannot measure on this service.
func (t *targetRun) measurable(stats bool) {
	yes := func(ok bool, why string) string {
		if ok {
			return "yes"
		}
		return "no: " + why
	}
	t.facts = append(t.facts,
		Fact{"can measure: latency, status, errors", "yes"},
		Fact{"can measure: hit rate from the server's counters", yes(stats, "/healthz?includeStats=true has no usable stats")},
		Fact{"can measure: hit rate from X-Cache", yes(t.xcache > 0, "no answer carried X-Cache")},
	)
	switch {
	case t.owners > 0:
		t.facts = append(t.facts, Fact{"can measure: isolation", fmt.Sprintf("yes, from the owner at %s", t.owner)})
	default:
		t.facts = append(t.facts, Fact{"can measure: isolation", fmt.Sprintf("not applicable: no answer carried an owner at %s (give -owner the pointer of yours)", t.owner)})
	}
	t.facts = append(t.facts,
		Fact{"can measure: staleness", "yes on the Atlas routes (from the service's own answers, when writes are on); on your own routes through a write's changes: list"},
		Fact{"cannot measure", "DB query reduction and speedup (need -mode both on a stack the harness starts); faults (never injected into a -target); Redis and DB cross-checks unless -target-redis / -target-db are given"},
	)
}

// firstConversation returns the first conversation ID of a GET /api/conversations answer.
func firstConversation(p *probe) string {
	if p == nil || p.status != http.StatusOK {
		return ""
	}
	var body struct {
		Conversations []struct {
			ID string `json:"id"`
		} `json:"conversations"`
	}
	if json.Unmarshal(p.body, &body) != nil || len(body.Conversations) == 0 {
		return ""
	}
	return body.Conversations[0].ID
}
