package driver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTarget answers GET /api/me/tier and GET /api/conversations for tokens "tok-<id>"; any
// other token is refused with 401. User <id>'s conversations are <id>-c1 and <id>-c2.
func fakeTarget(t *testing.T, asked *atomic.Int64) *httptest.Server {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		id, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/api/me/tier":
			fmt.Fprintf(w, `{"userId":%q,"tier":"studio"}`, id)
		case "/api/conversations":
			fmt.Fprintf(w, `{"userId":%q,"conversations":[{"id":"%s-c1"},{"id":"%s-c2"}]}`, id, id, id)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(hs.Close)
	return hs
}

func TestLearnFillsWhatTheFileLacksAndDropsRefusedTokens(t *testing.T) {
	var asked atomic.Int64
	hs := fakeTarget(t, &asked)
	// a has everything; b lacks both; x's token is refused; c lacks conversations only.
	u, err := LoadUsers(writeUsers(t, "u.jsonl", `{"id":"a","token":"tok-a","tier":"core","conversations":["a-9"]}
{"id":"b","token":"tok-b"}
{"id":"x","token":"expired"}
{"id":"c","token":"tok-c","tier":"free"}
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := u.Learn(context.Background(), hs.Client(), hs.URL, true, true, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := Learned{Asked: 4, Tiers: 1, Conversations: 2, Refused: 1, RefusedIDs: []string{"x"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("learned %+v, want %+v", got, want)
	}
	if n := asked.Load(); n != 4 { // b: 2 requests, x: 1 (refused at once), c: 1; a: none
		t.Errorf("%d requests, want 4", n)
	}
	if u.Len() != 3 || u.ID(3) != "c" {
		t.Fatalf("population after dropping x: %d users, third %q", u.Len(), u.ID(3))
	}
	for i, w := range []struct{ tier, convs string }{{"core", "a-9"}, {"studio", "b-c1 b-c2"}, {"free", "c-c1 c-c2"}} {
		var convs []string
		for k := range u.Conversations(i + 1) {
			convs = append(convs, u.Conversation(i+1, k))
		}
		if u.Tier(i+1) != w.tier || strings.Join(convs, " ") != w.convs {
			t.Errorf("user %s: tier %q, conversations %v; want %+v", u.ID(i+1), u.Tier(i+1), convs, w)
		}
	}
	// A target that answers something else than 200 or 401 is an error naming the user.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer bad.Close()
	u2, _ := LoadUsers(writeUsers(t, "v.csv", "id,token\nzed,tok-zed\n"))
	if _, err := u2.Learn(context.Background(), bad.Client(), bad.URL, true, false, 1); err == nil || !strings.Contains(err.Error(), "zed") || !strings.Contains(err.Error(), "500") {
		t.Errorf("500: err %v, want one naming user zed and the status", err)
	}
}

// A plan over a users file takes IDs, tokens and conversations from it, deterministically,
// and never invents a seeded ID.
func TestPlanOverUsersFile(t *testing.T) {
	u, err := LoadUsers(writeUsers(t, "u.csv", "id,token,tier,conversations\nacct-1,tok-1,core,x7 x8\nacct-2,tok-2,free,\nacct-3,tok-3,studio,x9\n"))
	if err != nil {
		t.Fatal(err)
	}
	sc := scenario(t, fmt.Sprintf(mixedYAML, 42))
	plan := func() []*Request {
		p, err := NewPlan(sc, PlanOptions{Secret: testSecret, Users: u, Now: time.Unix(0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		var out []*Request
		for range 500 {
			r, err := p.Next()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	a, b := plan(), plan()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans over the same users file differ")
	}
	users := map[string]bool{}
	for _, r := range a {
		users[r.UserID] = true
		if r.Token != "tok-"+strings.TrimPrefix(r.UserID, "acct-") {
			t.Fatalf("%s: token %q", r, r.Token)
		}
		switch {
		case r.UserID == "acct-2" && strings.Contains(r.Path, "/messages"):
			t.Errorf("%s: acct-2 has no conversation, its {id} requests go to the collection", r)
		case r.UserID == "acct-1" && r.ConversationID != "" && !slices.Contains([]string{"x7", "x8"}, r.ConversationID):
			t.Errorf("%s: conversation %q is not acct-1's", r, r.ConversationID)
		case r.Method == "POST" && r.Path == "/api/conversations" && !strings.Contains(string(r.Body), `"title"`):
			t.Errorf("%s: body %s", r, r.Body)
		}
	}
	if len(users) != 3 {
		t.Errorf("plan used users %v, want the file's 3", users)
	}
	if _, err := NewPlan(scenario(t, strings.Replace(fmt.Sprintf(mixedYAML, 1), `  - {req: "GET /api/me", weight: 5}`, `  - {attack: bad-token, weight: 1}`, 1)),
		PlanOptions{Secret: testSecret, Users: u}); err == nil || !strings.Contains(err.Error(), "seeded server") {
		t.Errorf("attack over a users file: err %v", err)
	}
}
