package driver

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/scenarios"
)

var testSecret = []byte("driver-test-secret")

// scenario parses a scenario written for a test.
func scenario(t testing.TB, yaml string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	return sc
}

const mixedYAML = `
name: plan-test
seed: %d
warmup: 1s
duration: 10s
rate: {shape: constant, rps: 100}
population: {users: 300, tiers: {free: 0.7, core: 0.2, studio: 0.1}, conversations: 4, messages: 10}
keys: {distribution: zipf, s: 1.1}
mix:
  - {req: "GET /api/me/tier", weight: 10}
  - {req: "GET /api/me", weight: 5}
  - {req: "GET /api/conversations", weight: 5}
  - {req: "POST /api/conversations", weight: 2}
  - {req: "GET /api/conversations/{id}/messages?limit=20", weight: 50}
  - {req: "POST /api/conversations/{id}/messages", weight: 10}
  - {req: "PUT /api/me/tier", weight: 5}
`

func newPlan(t testing.TB, sc *scenarios.Scenario, now time.Time) *Plan {
	t.Helper()
	p, err := NewPlan(sc, PlanOptions{Secret: testSecret, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanDeterministic(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := newPlan(t, scenario(t, fmt.Sprintf(mixedYAML, 42)), now)
	b := newPlan(t, scenario(t, fmt.Sprintf(mixedYAML, 42)), now)
	c := newPlan(t, scenario(t, fmt.Sprintf(mixedYAML, 43)), now)
	differ := 0
	for i := range 10_000 {
		ra, err := a.Next()
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := b.Next()
		rc, _ := c.Next()
		if !reflect.DeepEqual(ra, rb) {
			t.Fatalf("request %d differs between two plans of the same scenario:\n%+v\n%+v", i, ra, rb)
		}
		if ra.Index != uint64(i) {
			t.Fatalf("request %d has Index %d", i, ra.Index)
		}
		if ra.UserID != rc.UserID || ra.Path != rc.Path || !bytes.Equal(ra.Body, rc.Body) {
			differ++
		}
	}
	if differ < 5_000 {
		t.Errorf("another seed changed only %d of 10000 requests", differ)
	}
}

func TestPlanShapes(t *testing.T) {
	p := newPlan(t, scenario(t, fmt.Sprintf(mixedYAML, 1)), time.Now())
	routes := map[string]int{}
	users := map[string]bool{}
	for range 10_000 {
		r, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		routes[r.Route]++
		users[r.UserID] = true
		if r.UserID != atlas.SeedUserID(r.UserIndex) || r.UserIndex < 1 || r.UserIndex > 300 {
			t.Fatalf("bad user %q (%d)", r.UserID, r.UserIndex)
		}
		if r.Token == "" {
			t.Fatal("no token")
		}
		if strings.Contains(r.Route, "{id}") {
			// {id} is always one of the caller's own seeded conversations.
			id, err := strconv.ParseInt(strings.TrimPrefix(r.ConversationID, "c"), 10, 64)
			if err != nil {
				t.Fatalf("conversation %q", r.ConversationID)
			}
			lo, hi := atlas.SeedConversationID(r.UserIndex, 0, 4), atlas.SeedConversationID(r.UserIndex, 3, 4)
			if id < lo || id > hi {
				t.Fatalf("%s: conversation %d is not one of %s's (%d…%d)", r.Path, id, r.UserID, lo, hi)
			}
			if !strings.HasPrefix(r.Path, "/api/conversations/"+r.ConversationID+"/messages") {
				t.Fatalf("path %q does not use %s", r.Path, r.ConversationID)
			}
		} else if r.ConversationID != "" {
			t.Fatalf("%s has a conversation", r.Route)
		}
		switch r.Route {
		case "GET /api/conversations/{id}/messages":
			if r.Path != "/api/conversations/"+r.ConversationID+"/messages?limit=20" || r.Limit != 20 || r.Body != nil {
				t.Fatalf("GET messages: %+v", r)
			}
		case "POST /api/conversations/{id}/messages":
			if !bytes.Contains(r.Body, []byte(`"content":"`)) || !r.Write || !reflect.DeepEqual(r.Expect, []int{201, 429}) {
				t.Fatalf("POST message: %+v %s", r, r.Body)
			}
		case "POST /api/conversations":
			if !bytes.HasPrefix(r.Body, []byte(`{"title":"`)) || !reflect.DeepEqual(r.Expect, []int{201}) {
				t.Fatalf("POST conversation: %s", r.Body)
			}
		case "GET /api/me/tier":
			if r.Class != atlas.QueryTier || !reflect.DeepEqual(r.Expect, []int{200}) {
				t.Fatalf("GET tier: %+v", r)
			}
		}
	}
	// Weights 10:5:5:2:50:10:5 of 87.
	if n := routes["GET /api/conversations/{id}/messages"]; n < 5300 || n > 6200 {
		t.Errorf("GET messages drawn %d times of 10000, want about 5747", n)
	}
	if n := routes["POST /api/conversations"]; n < 150 || n > 320 {
		t.Errorf("POST conversations drawn %d times of 10000, want about 230", n)
	}
	if len(users) < 100 {
		t.Errorf("only %d users of 300 drawn", len(users))
	}
}

func TestPlanTierTracking(t *testing.T) {
	sc := scenario(t, `
name: tiers
seed: 9
duration: 10s
rate: 100
population: {users: 5, conversations: 1, messages: 1}
mix:
  - {req: "GET /api/me/tier", weight: 1}
  - {req: "PUT /api/me/tier", weight: 1}
`)
	p := newPlan(t, sc, time.Now())
	believed := map[int]string{}
	for i := 1; i <= 5; i++ {
		believed[i] = string(atlas.SeedTier(9, i, sc.Population.Tiers))
	}
	changes := map[string]int{}
	for range 2_000 {
		r, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		if r.Tier != believed[r.UserIndex] {
			t.Fatalf("request %d of %s: Tier %q, the plan's own PUTs say %q", r.Index, r.UserID, r.Tier, believed[r.UserIndex])
		}
		if r.Method != "PUT" {
			if r.NewTier != "" {
				t.Fatalf("GET with NewTier %q", r.NewTier)
			}
			continue
		}
		if r.NewTier == r.Tier || !atlas.Tier(r.NewTier).Valid() {
			t.Fatalf("PUT from %q to %q", r.Tier, r.NewTier)
		}
		if string(r.Body) != `{"tier":"`+r.NewTier+`"}` {
			t.Fatalf("PUT body %s", r.Body)
		}
		changes[r.Tier+"→"+r.NewTier]++
		believed[r.UserIndex] = r.NewTier
	}
	if len(changes) != 6 {
		t.Errorf("tier changes seen: %v, want all 6 kinds", changes)
	}
}

func TestPlanErrors(t *testing.T) {
	sc := scenario(t, fmt.Sprintf(mixedYAML, 1))
	if _, err := NewPlan(sc, PlanOptions{}); err == nil {
		t.Error("no secret: no error")
	}
	noConv := *sc
	noConv.Population.Conversations = 0
	if _, err := NewPlan(&noConv, PlanOptions{Secret: testSecret}); err == nil || !strings.Contains(err.Error(), "conversations") {
		t.Errorf("{id} without conversations: %v", err)
	}
}
