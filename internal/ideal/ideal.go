package ideal

import (
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// Model replays requests through an ideal cache. Add records in order of completion
// (the checker's order); it is not safe for concurrent use.
type Model struct {
	ttl    func(tier, class string) time.Duration
	negTTL time.Duration
	users  map[string]map[string]time.Duration // user → entry → expiry (completion time)
	counts map[string]*tally                   // by class, measured window only
	// seconds are the same counts by second of the measured window (by completion time),
	// for the hit rate within a phase (HitRateWithin).
	seconds map[int]map[string]*tally
	warm    bool // tier and profile preloaded at start
	// warmed says which users warming preloads (nil: every user).
	warmed func(userID string) bool
}

type tally struct{ hits, misses uint64 }

// New returns a model whose entries live ttl(tier, class) (0: not cached) and whose
// "not found" answers live negTTL, as the server's cache config says (base TTLs: the
// model leaves the jitter out).
func New(ttl func(tier, class string) time.Duration, negTTL time.Duration) *Model {
	m := &Model{ttl: ttl, negTTL: negTTL, users: map[string]map[string]time.Duration{}, counts: map[string]*tally{},
		seconds: map[int]map[string]*tally{}}
	for _, c := range summary.CacheClasses() {
		m.counts[c] = &tally{}
	}
	return m
}

// WarmAtStart models a cache that preloads the tier and profile of the users warmed
// says (nil: every user) when the server starts (the config's warm: true): such a user's
// first tier and profile lookups then hit while the preloaded entries live. warmed is
// asked once per user, at the user's first request. The real server warms its active
// population within a budget (cache.WarmingConfig), so the caller passes the users that
// budget covers: the ideal then models what warming loads, and efficiency measures how
// well the cache does with it, not the budget.
func (m *Model) WarmAtStart(warmed func(userID string) bool) { m.warm, m.warmed = true, warmed }

// Add replays one executed request: its tier lookup, its read, or its write's
// invalidation. Attacks, unmatched results and requests without an answer are skipped;
// warm-up requests fill the cache but are not counted.
func (m *Model) Add(r driver.Record) {
	req := r.Req
	if req == nil || req.Attack != "" || req.Own || r.Res == nil || r.Res.Code == 0 {
		return
	}
	at := r.End()
	tier := r.Res.Headers.Get("X-Atlas-Tier")
	if !atlas.Tier(tier).Valid() {
		tier = req.Tier
	}
	entries := m.users[req.UserID]
	if entries == nil {
		entries = map[string]time.Duration{}
		m.users[req.UserID] = entries
		if m.warm && (m.warmed == nil || m.warmed(req.UserID)) { // preloaded at time 0 with the seeded tier
			entries["tier"] = m.ttl(req.Tier, atlas.QueryTier)
			entries[atlas.QueryUserProfile+":"+req.Tier] = m.ttl(req.Tier, atlas.QueryUserProfile)
		}
	}
	// Every authenticated request looks its tier up first.
	m.access(entries, atlas.QueryTier, "tier", m.ttl(tier, atlas.QueryTier), at, r.Warmup)
	ok := r.Res.Code >= 200 && r.Res.Code < 300
	switch {
	case req.Write && ok:
		m.invalidate(entries, req)
	case req.Method == "GET" && req.Class != atlas.QueryTier:
		ttl := m.ttl(tier, req.Class)
		if r.Res.Code == 404 {
			ttl = m.negTTL
		}
		key := req.Class + ":" + tier
		if req.Class == atlas.QueryAPIResponses {
			key += ":" + req.ConversationID + "?limit=" + strconv.Itoa(req.Limit)
		}
		m.access(entries, req.Class, key, ttl, at, r.Warmup)
	}
}

// access looks one entry up at time at and fills it on a miss.
func (m *Model) access(entries map[string]time.Duration, class, key string, ttl, at time.Duration, warmup bool) {
	expiry, ok := entries[key]
	hit := ok && at < expiry
	if !hit && ttl > 0 {
		entries[key] = at + ttl
	}
	if warmup {
		return
	}
	t := m.counts[class]
	if t == nil {
		return
	}
	sec := int(at / time.Second)
	if m.seconds[sec] == nil {
		m.seconds[sec] = map[string]*tally{}
	}
	st := m.seconds[sec][class]
	if st == nil {
		st = &tally{}
		m.seconds[sec][class] = st
	}
	if hit {
		t.hits++
		st.hits++
	} else {
		t.misses++
		st.misses++
	}
}

// invalidate applies the server's rules for a write: a tier change drops every entry of
// the user; a posted message drops its conversation's pages and the list; a new
// conversation drops the list.
func (m *Model) invalidate(entries map[string]time.Duration, req *driver.Request) {
	pages := ""
	switch {
	case req.Method == "PUT":
		clear(entries)
		return
	case req.ConversationID != "":
		pages = atlas.QueryAPIResponses + ":"
	}
	for key := range entries {
		switch {
		case strings.HasPrefix(key, atlas.QueryConversations+":"):
			delete(entries, key)
		case pages != "" && strings.HasPrefix(key, pages) && strings.Contains(key, ":"+req.ConversationID+"?"):
			delete(entries, key)
		}
	}
}

// HitRateWithin returns the ideal hit rate per class over the lookups completed within
// [start, end) seconds of the measured window (whole seconds: a phase's bounds), as HitRate
// does over the whole window.
func (m *Model) HitRateWithin(start, end float64) summary.HitRate {
	counts := map[string]*tally{}
	for _, c := range summary.CacheClasses() {
		counts[c] = &tally{}
	}
	for sec, byClass := range m.seconds {
		if float64(sec) < start || float64(sec) >= end {
			continue
		}
		for class, t := range byClass {
			counts[class].hits += t.hits
			counts[class].misses += t.misses
		}
	}
	return hitRate(counts)
}

// HitRate returns the ideal hit rate per class over the measured window (0 for a class
// without lookups).
func (m *Model) HitRate() summary.HitRate { return hitRate(m.counts) }

// hitRate is hits ÷ lookups per class of counts, and overall.
func hitRate(counts map[string]*tally) summary.HitRate {
	rate := func(t *tally) float64 {
		if t.hits+t.misses == 0 {
			return 0
		}
		return float64(t.hits) / float64(t.hits+t.misses)
	}
	var all tally
	for _, t := range counts {
		all.hits += t.hits
		all.misses += t.misses
	}
	return summary.NewHitRate(func(class string) float64 {
		if class == summary.Overall {
			return rate(&all)
		}
		return rate(counts[class])
	})
}

// Efficiency returns achieved ÷ ideal per class (0 where the ideal is 0).
func Efficiency(achieved, ideal summary.HitRate) summary.HitRate {
	return summary.NewHitRate(func(class string) float64 {
		a, _ := achieved.Of(class)
		b, _ := ideal.Of(class)
		if b == 0 {
			return 0
		}
		return a / b
	})
}
