package ideal

import (
	"net/http"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/driver"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// rec is one executed request, answered at second at.
func rec(at int, user, method, class, conv string, code int) driver.Record {
	req := &driver.Request{UserID: user, Method: method, Class: class, ConversationID: conv, Tier: "core", Write: method != "GET"}
	if method == "PUT" {
		req.Class = atlas.QueryWrites
	}
	if class == atlas.QueryAPIResponses {
		req.Limit = 50
	}
	h := http.Header{}
	h.Set("X-Atlas-Tier", "core")
	return driver.Record{Req: req, Res: &vegeta.Result{Code: uint16(code), Headers: h}, Sent: time.Duration(at) * time.Second}
}

func TestModel(t *testing.T) {
	ttl := func(tier, class string) time.Duration {
		if class == atlas.QueryAPIResponses {
			return 10 * time.Second
		}
		return time.Minute
	}
	m := New(ttl, 5*time.Second)
	const api, list, me = atlas.QueryAPIResponses, atlas.QueryConversations, atlas.QueryUserProfile
	for _, r := range []struct {
		rec  driver.Record
		want string // the read's outcome (h or m); "" for writes
	}{
		{rec(0, "u1", "GET", api, "c1", 200), "m"}, // first access
		{rec(1, "u1", "GET", api, "c1", 200), "h"}, //
		{rec(1, "u1", "GET", api, "c2", 200), "m"}, // another conversation
		{rec(2, "u1", "GET", list, "", 200), "m"},  //
		{rec(2, "u1", "GET", me, "", 200), "m"},    //
		{rec(3, "u1", "POST", "writes", "c1", 201), ""},
		{rec(4, "u1", "GET", api, "c1", 200), "m"},       // the post changed it
		{rec(4, "u1", "GET", api, "c2", 200), "h"},       // not this one
		{rec(4, "u1", "GET", list, "", 200), "m"},        // the list is invalidated too
		{rec(4, "u1", "GET", me, "", 200), "h"},          // the profile is not
		{rec(15, "u1", "GET", api, "c2", 200), "m"},      // expired (10 s)
		{rec(16, "u2", "GET", api, "c9", 404), "m"},      // a cached not-found: 5 s
		{rec(20, "u2", "GET", api, "c9", 404), "h"},      //
		{rec(22, "u2", "GET", api, "c9", 404), "m"},      //
		{rec(23, "u1", "POST", "writes", "c1", 429), ""}, // refused: changes nothing
		{rec(24, "u1", "GET", list, "", 200), "h"},       //
		{rec(25, "u1", "PUT", "", "", 200), ""},          // tier change: everything
		{rec(26, "u1", "GET", me, "", 200), "m"},         //
	} {
		m.Add(r.rec)
	}
	// 18 tier lookups: u1's first and the one after its tier change miss, u2's first too.
	h := m.HitRate()
	if want := 15.0 / 18; h.Tier != want {
		t.Errorf("tier %.3f, want %.3f", h.Tier, want)
	}
	if want := 3.0 / 9; h.APIResponses != want { // c1 m h m; c2 m h m; c9 m h m
		t.Errorf("apiResponses %.3f, want %.3f", h.APIResponses, want)
	}
	if want := 1.0 / 3; h.Conversations != want {
		t.Errorf("conversations %.3f, want %.3f", h.Conversations, want)
	}
	if want := 1.0 / 3; h.UserProfile != want {
		t.Errorf("userProfile %.3f, want %.3f", h.UserProfile, want)
	}
	if e := Efficiency(h, h); e.Tier != 1 || e.Overall != 1 {
		t.Errorf("efficiency of the ideal itself: %+v", e)
	}
	if e := Efficiency(h, New(ttl, 0).HitRate()); e.Tier != 0 {
		t.Errorf("efficiency against an empty ideal: %+v", e)
	}
}

// TestWarmupNotCounted: warm-up requests fill the ideal cache but are not counted.
func TestWarmupNotCounted(t *testing.T) {
	m := New(func(string, string) time.Duration { return time.Minute }, time.Second)
	w := rec(0, "u1", "GET", atlas.QueryUserProfile, "", 200)
	w.Warmup = true
	m.Add(w)
	m.Add(rec(1, "u1", "GET", atlas.QueryUserProfile, "", 200))
	if h := m.HitRate(); h.UserProfile != 1 || h.Tier != 1 {
		t.Errorf("after a warm-up fill: %+v, want every counted lookup a hit", h)
	}
}

// TestWarmAtStart: with warming, a user's first tier and profile lookups hit while the
// preloaded entries live (so the ideal stays at least what a warmed cache reaches); the
// other classes still miss first, and a tier change still drops everything.
func TestWarmAtStart(t *testing.T) {
	m := New(func(string, string) time.Duration { return 10 * time.Second }, time.Second)
	m.WarmAtStart(nil)
	for _, r := range []driver.Record{
		rec(1, "u1", "GET", atlas.QueryUserProfile, "", 200),   // tier h, profile h
		rec(2, "u1", "GET", atlas.QueryConversations, "", 200), // tier h, list m
		rec(3, "u1", "PUT", "", "", 200),                       // tier h; drops all
		rec(4, "u1", "GET", atlas.QueryUserProfile, "", 200),   // tier m, profile m
		rec(30, "u2", "GET", atlas.QueryUserProfile, "", 200),  // preloaded entries expired: m, m
	} {
		m.Add(r)
	}
	h := m.HitRate()
	if want := 3.0 / 5; h.Tier != want {
		t.Errorf("tier %.3f, want %.3f", h.Tier, want)
	}
	if want := 1.0 / 3; h.UserProfile != want {
		t.Errorf("userProfile %.3f, want %.3f", h.UserProfile, want)
	}
	if h.Conversations != 0 {
		t.Errorf("conversations %.3f, want 0 (not preloaded)", h.Conversations)
	}
}

// TestHitRateWithin: the ideal hit rate within a span counts only the lookups completed in
// it, so a phase's ideal (steady, say) is not diluted by another's.
func TestHitRateWithin(t *testing.T) {
	m := New(func(string, string) time.Duration { return time.Minute }, time.Second)
	m.Add(rec(0, "u1", "GET", atlas.QueryUserProfile, "", 200)) // tier m, profile m
	m.Add(rec(1, "u1", "GET", atlas.QueryUserProfile, "", 200)) // h, h
	m.Add(rec(2, "u1", "GET", atlas.QueryUserProfile, "", 200)) // h, h
	m.Add(rec(3, "u2", "GET", atlas.QueryUserProfile, "", 200)) // m, m
	if h := m.HitRateWithin(1, 3); h.UserProfile != 1 || h.Tier != 1 || h.Overall != 1 {
		t.Errorf("within [1, 3): %+v, want every lookup a hit", h)
	}
	if h := m.HitRateWithin(0, 4); h != m.HitRate() {
		t.Errorf("within the whole window %+v, HitRate %+v", h, m.HitRate())
	}
	if h := m.HitRateWithin(3, 4); h.Overall != 0 {
		t.Errorf("within [3, 4): %+v, want only misses", h)
	}
}

// TestWarmAtStartOnlyWarmedUsers: with a warmed set, only its users' first tier and
// profile lookups hit; the others miss first as without warming. The same requests with
// every user warmed give a higher ideal, which is what made efficiency read low when the
// server warmed fewer users than the model assumed.
func TestWarmAtStartOnlyWarmedUsers(t *testing.T) {
	recs := []driver.Record{
		rec(1, "u1", "GET", atlas.QueryUserProfile, "", 200), // warmed: tier h, profile h
		rec(2, "u2", "GET", atlas.QueryUserProfile, "", 200), // warmed: h, h
		rec(3, "u3", "GET", atlas.QueryUserProfile, "", 200), // not warmed: m, m
		rec(4, "u3", "GET", atlas.QueryUserProfile, "", 200), // h, h
	}
	ttl := func(string, string) time.Duration { return time.Minute }
	some := New(ttl, time.Second)
	asked := map[string]int{}
	some.WarmAtStart(func(u string) bool { asked[u]++; return u == "u1" || u == "u2" })
	all := New(ttl, time.Second)
	all.WarmAtStart(nil)
	for _, r := range recs {
		some.Add(r)
		all.Add(r)
	}
	if h := some.HitRate(); h.Tier != 3.0/4 || h.UserProfile != 3.0/4 {
		t.Errorf("warmed u1, u2: %+v, want tier and profile 3/4", h)
	}
	if h := all.HitRate(); h.Tier != 1 || h.UserProfile != 1 {
		t.Errorf("every user warmed: %+v, want 1", h)
	}
	if asked["u1"] != 1 || asked["u3"] != 1 {
		t.Errorf("warmed asked %v, want once per user", asked)
	}
}
