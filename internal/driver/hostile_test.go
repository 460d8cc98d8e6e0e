package driver

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/scenarios"
)

const hostileYAML = `
name: hostile-test
seed: %d
duration: 10s
rate: 100
population: {users: 50, conversations: 3, messages: 5}
keys: {distribution: zipf, s: 1.1}
mix:
  - {attack: foreign-conversation, weight: 1}
  - {attack: path-variant, weight: 1}
  - {attack: hostile-id, weight: 1}
  - {attack: bad-token, weight: 1}
  - {attack: spoofed-header, weight: 1}
  - {attack: oversized-body, weight: 1}
  - {attack: malformed-body, weight: 1}
  - {attack: bad-tier, weight: 1}
  - {req: "GET /api/me/tier", weight: 1}
`

// hostileRequests plans n requests of the hostile test scenario.
func hostileRequests(t *testing.T, seed int64, now time.Time, n int) []*Request {
	t.Helper()
	p := newPlan(t, scenario(t, fmt.Sprintf(hostileYAML, seed)), now)
	out := make([]*Request, n)
	for i := range out {
		r, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = r
	}
	return out
}

// tokenAlg is the "alg" of a JWT's header; "" when it has none.
func tokenAlg(tok string) string {
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct{ Alg string }
	json.Unmarshal(raw, &h)
	return h.Alg
}

// TestHostilePlanDeterministic: the same seed plans the same attacks (RS256 signatures
// aside: the key is made per plan); another seed plans others.
func TestHostilePlanDeterministic(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := hostileRequests(t, 5, now, 3000)
	b := hostileRequests(t, 5, now, 3000)
	c := hostileRequests(t, 6, now, 3000)
	differ := 0
	for i := range a {
		ra, rb := *a[i], *b[i]
		if tokenAlg(ra.Token) == "RS256" && tokenAlg(rb.Token) == "RS256" {
			ra.Token, rb.Token = "", ""
		}
		if !reflect.DeepEqual(ra, rb) {
			t.Fatalf("request %d differs between two plans of the same scenario:\n%+v\n%+v", i, ra, rb)
		}
		if a[i].Path != c[i].Path || string(a[i].Body) != string(c[i].Body) || a[i].Variant != c[i].Variant {
			differ++
		}
	}
	if differ < 2000 {
		t.Errorf("another seed changed only %d of 3000 requests", differ)
	}
}

// TestHostilePlanShapes checks what every attack request promises, kind by kind.
func TestHostilePlanShapes(t *testing.T) {
	now := time.Now()
	const users, convs = 50, 3
	owner := func(conv string) int { // the seeded owner of "c<ID>"; 0 when it is not one
		id, err := strconv.ParseInt(strings.TrimPrefix(conv, "c"), 10, 64)
		if err != nil || !strings.HasPrefix(conv, "c") || id < 1 || id > users*convs {
			return 0
		}
		return int((id-1)/convs) + 1
	}
	variants := map[string]map[string]bool{}
	for _, r := range hostileRequests(t, 1, now, 8_000) {
		if r.Attack == "" {
			if r.Route != "GET /api/me/tier" || r.Token == "" {
				t.Fatalf("normal request %+v", r)
			}
			continue
		}
		if variants[r.Attack] == nil {
			variants[r.Attack] = map[string]bool{}
		}
		variants[r.Attack][r.Variant] = true
		if r.Route != "ATTACK "+r.Attack || r.Variant == "" || len(r.Expect) == 0 || r.ConversationID != "" {
			t.Fatalf("attack %+v", r)
		}
		for _, code := range r.Expect {
			if code >= 500 || code == 201 || (code == 200 && r.Method != "GET") {
				t.Fatalf("%s expects %d", r, code)
			}
		}
		if r.Write != (r.Method != "GET") || (r.Method == "GET") != (r.Body == nil) {
			t.Fatalf("%s: Write %v, body %d bytes", r, r.Write, len(r.Body))
		}
		// Every path must make a request (vegeta would fail it as a transport error otherwise)
		// and stay on the server: no scheme, host or fragment smuggled in.
		req, err := http.NewRequest(r.Method, "http://127.0.0.1:1"+r.Path, nil)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if req.URL.Host != "127.0.0.1:1" || req.URL.Fragment != "" {
			t.Fatalf("%s: URL %v", r, req.URL)
		}
		if len(r.Path) > 4200 {
			t.Fatalf("%s: path of %d bytes", r, len(r.Path))
		}
		if s := r.String(); len(s) > 300 || !strings.HasPrefix(s, "attack "+r.Attack+" (") {
			t.Fatalf("String() = %q", s)
		}
		if r.Attack != scenarios.AttackBadToken {
			// Everything else is sent as the real user, with a valid token.
			if sub, err := atlas.ParseToken(testSecret, r.Token, now); err != nil || sub != r.UserID {
				t.Fatalf("%s: token for %q, %v; want a valid one for %s", r, sub, err, r.UserID)
			}
			if r.Header.Get("Authorization") != "" {
				t.Fatalf("%s overrides Authorization", r)
			}
		}
		switch r.Attack {
		case scenarios.AttackForeignConversation:
			conv := strings.Split(r.Path, "/")[3]
			if o := owner(conv); o == 0 || o == r.UserIndex {
				t.Fatalf("%s: conversation %s belongs to u%d, want another user's", r, conv, o)
			}
			if !reflect.DeepEqual(r.Expect, []int{404}) {
				t.Fatalf("%s expects %v", r, r.Expect)
			}
		case scenarios.AttackBadToken:
			// Never a token that would authenticate a seeded user.
			auth := r.Header.Get("Authorization")
			if r.Token != "" {
				auth = "Bearer " + r.Token
			}
			if tok, ok := strings.CutPrefix(auth, "Bearer "); ok {
				sub, err := atlas.ParseToken(testSecret, tok, now)
				if i, _ := strconv.Atoi(strings.TrimPrefix(sub, "u")); err == nil && sub == atlas.SeedUserID(i) && i >= 1 && i <= users {
					t.Fatalf("%s carries a valid token for %s", r, sub)
				}
			}
			if !reflect.DeepEqual(r.Expect, []int{401}) {
				t.Fatalf("%s expects %v", r, r.Expect)
			}
		case scenarios.AttackSpoofedHeader:
			b := r.Header.Get("X-User-Id")
			if b == "" || b == r.UserID || r.Header.Get("X-Forwarded-User") != b {
				t.Fatalf("%s: spoofed headers %v", r, r.Header)
			}
		case scenarios.AttackOversizedBody:
			if len(r.Body) <= BodyLimit || len(r.Body) > 2*BodyLimit+1 || !json.Valid(r.Body) || !reflect.DeepEqual(r.Expect, []int{413}) {
				t.Fatalf("%s: %d-byte body (valid JSON %v), expects %v", r, len(r.Body), json.Valid(r.Body), r.Expect)
			}
		case scenarios.AttackMalformedBody:
			if r.Method == "GET" || !reflect.DeepEqual(r.Expect, []int{400}) {
				t.Fatalf("%s expects %v", r, r.Expect)
			}
		case scenarios.AttackBadTier:
			var in struct{ Tier any }
			if json.Unmarshal(r.Body, &in) == nil {
				if s, ok := in.Tier.(string); ok && atlas.Tier(s).Valid() {
					t.Fatalf("%s: a valid tier %q", r, s)
				}
			}
		case scenarios.AttackPathVariant:
			if r.Method == "GET" && strings.Contains(r.Variant, "(own)") && !strings.HasPrefix(r.Variant, "query") && r.Class != "" {
				t.Fatalf("%s: class %q for a path the server does not route", r, r.Class)
			}
		}
	}
	// Every kind, in many variants.
	for _, kind := range scenarios.AttackKinds() {
		if n := len(variants[kind]); n < 8 {
			t.Errorf("attack %s: %d variants in 8000 requests (%v)", kind, n, variants[kind])
		}
	}
	for _, want := range []string{"alg none", "HS384", "RS256", "wrong secret", "expired", "not yet valid", "unknown user", "hostile subject"} {
		if !variants[scenarios.AttackBadToken][want] {
			t.Errorf("bad-token never sent %q", want)
		}
	}
}

// TestHostilePlanErrors: a plan refuses attacks it cannot aim (scenarios built in code).
func TestHostilePlanErrors(t *testing.T) {
	sc := scenario(t, fmt.Sprintf(hostileYAML, 1))
	one := *sc
	one.Population.Users = 1
	if _, err := NewPlan(&one, PlanOptions{Secret: testSecret}); err == nil || !strings.Contains(err.Error(), "population.users >= 2") {
		t.Errorf("one user: %v", err)
	}
	unknown := *sc
	unknown.Mix = slices.Clone(sc.Mix)
	unknown.Mix[0].Attack = "nope"
	if _, err := NewPlan(&unknown, PlanOptions{Secret: testSecret}); err == nil || !strings.Contains(err.Error(), `unknown attack "nope"`) {
		t.Errorf("unknown attack: %v", err)
	}
}
