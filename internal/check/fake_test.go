package check

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/scenarios"
)

// fakeSecret signs the tokens the fake accepts (driver.Config.Secret of the tests).
const fakeSecret = "check-test"

// fakeMode is how a fake Atlas server misbehaves.
type fakeMode int

const (
	fakeCorrect        fakeMode = iota
	fakeLeak                    // GET /api/conversations answers with the next user's list
	fakeStale                   // POST …/messages is acknowledged but not stored
	fakeTierStuck               // PUT /api/me/tier is acknowledged but not applied
	fakeQuotaAll                // POST …/messages answers 429 to every tier
	fakeLeakForeign             // GET …/messages of another user's conversation answers 200 with the owner's body
	fakeCrashMalformed          // a body that is not the JSON the route reads answers 500
)

type fakeConv struct {
	id      int64
	user    string
	title   string
	created time.Time
}

type fakeMsg struct {
	id      int64
	conv    int64
	user    string
	content string
	created time.Time
}

// fakeAtlas is a tiny in-memory Atlas API with the seeded data of a scenario, correct
// unless told otherwise: every operation is atomic under one lock, so it is linearizable.
// Like the reference server it refuses non-canonical paths, bad tokens, unknown users,
// malformed or oversized bodies, and IDs and limits that are not exactly well-formed.
type fakeAtlas struct {
	mode     fakeMode
	sc       *scenarios.Scenario
	mu       sync.Mutex
	tiers    map[string]string
	convs    map[string][]*fakeConv
	convByID map[int64]*fakeConv
	msgs     map[int64][]*fakeMsg
	nextID   int64
}

func newFakeAtlas(t *testing.T, sc *scenarios.Scenario, mode fakeMode) *httptest.Server {
	f := &fakeAtlas{mode: mode, sc: sc, tiers: map[string]string{}, convs: map[string][]*fakeConv{},
		convByID: map[int64]*fakeConv{}, msgs: map[int64][]*fakeMsg{}, nextID: 1_000_000}
	p := sc.Population
	for i := 1; i <= p.Users; i++ {
		u := atlas.SeedUserID(i)
		f.tiers[u] = string(atlas.SeedTier(sc.Seed, i, p.Tiers))
		for j := range p.Conversations {
			id := atlas.SeedConversationID(i, j, p.Conversations)
			c := &fakeConv{id: id, user: u, title: "seeded", created: atlas.SeedEpoch.Add(time.Duration(id) * time.Minute)}
			f.convs[u] = append(f.convs[u], c)
			f.convByID[id] = c
			for k := range p.Messages {
				mid := id*1000 + int64(k)
				f.msgs[id] = append(f.msgs[id], &fakeMsg{id: mid, conv: id, user: u, content: "seeded",
					created: c.created.Add(time.Duration(k) * time.Second)})
			}
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/me", f.auth(f.getMe))
	mux.HandleFunc("GET /api/me/tier", f.auth(f.getTier))
	mux.HandleFunc("PUT /api/me/tier", f.auth(f.putTier))
	mux.HandleFunc("GET /api/conversations", f.auth(f.listConvs))
	mux.HandleFunc("POST /api/conversations", f.auth(f.createConv))
	mux.HandleFunc("GET /api/conversations/{id}/messages", f.auth(f.listMsgs))
	mux.HandleFunc("POST /api/conversations/{id}/messages", f.auth(f.createMsg))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fakeCanonical(r) {
			fakeError(w, 404)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fakeCanonical refuses the path variants that could alias a route (as the reference server).
func fakeCanonical(r *http.Request) bool {
	p := r.URL.Path
	if r.URL.RawPath != "" || !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.ContainsAny(p, ";\\%") {
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func fakeError(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": http.StatusText(code), "code": strconv.Itoa(code)})
}

// decode reads one JSON object with only known fields into v; else the status to answer:
// 413 beyond the body limit, 400 (500 for fakeCrashMalformed) for anything else.
func (f *fakeAtlas) decode(r *http.Request, v any) (int, bool) {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			return 0, true
		} else if err == nil {
			err = errors.New("trailing data")
		}
	}
	if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
		return 413, false
	}
	if f.mode == fakeCrashMalformed {
		return 500, false
	}
	return 400, false
}

// validText is what the reference store accepts: non-empty, no NUL.
func validText(s string) bool { return s != "" && !strings.ContainsRune(s, 0) }

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// auth verifies the bearer token (HS256 with fakeSecret, as the reference server), sets the
// headers every answer carries and calls h under the lock.
func (f *fakeAtlas) auth(h func(w http.ResponseWriter, r *http.Request, user string) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sub, err := atlas.ParseToken([]byte(fakeSecret), tok, time.Now())
		if !ok || err != nil {
			fakeError(w, 401)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, known := f.tiers[sub]; !known {
			fakeError(w, 401)
			return
		}
		w.Header().Set("X-Atlas-Tier", f.tiers[sub])
		w.Header().Set("X-Atlas-Tier-Cache", "MISS")
		w.Header().Set("X-Cache", "BYPASS")
		code, body := h(w, r, sub)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	}
}

func (f *fakeAtlas) getMe(w http.ResponseWriter, r *http.Request, u string) (int, any) {
	w.Header().Set("X-Cache", "MISS")
	return 200, map[string]string{"userId": u, "email": u + "@example.com", "name": u, "tier": f.tiers[u]}
}

func (f *fakeAtlas) getTier(w http.ResponseWriter, r *http.Request, u string) (int, any) {
	w.Header().Set("X-Cache", "MISS")
	return 200, map[string]any{"userId": u, "tier": f.tiers[u], "limits": map[string]int{"messagesPerDay": 0}}
}

func (f *fakeAtlas) putTier(w http.ResponseWriter, r *http.Request, u string) (int, any) {
	var in struct {
		Tier string `json:"tier"`
	}
	if code, ok := f.decode(r, &in); !ok {
		return code, map[string]string{"error": "bad body"}
	}
	if !atlas.Tier(in.Tier).Valid() {
		return 400, map[string]string{"error": "bad tier"}
	}
	if f.mode != fakeTierStuck {
		f.tiers[u] = in.Tier
	}
	w.Header().Set("X-Atlas-Tier", in.Tier)
	return 200, map[string]any{"userId": u, "tier": in.Tier}
}

func (f *fakeAtlas) listConvs(w http.ResponseWriter, r *http.Request, u string) (int, any) {
	w.Header().Set("X-Cache", "MISS")
	owner := u
	if f.mode == fakeLeak {
		n, _ := strconv.Atoi(strings.TrimPrefix(u, "u"))
		owner = atlas.SeedUserID(n%f.sc.Population.Users + 1)
	}
	cs := slices.Clone(f.convs[owner])
	slices.SortFunc(cs, func(a, b *fakeConv) int {
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
		return int(b.id - a.id)
	})
	items := []map[string]string{}
	for _, c := range cs {
		items = append(items, map[string]string{"id": "c" + strconv.FormatInt(c.id, 10), "userId": c.user, "title": c.title, "createdAt": fmtTime(c.created)})
	}
	return 200, map[string]any{"userId": owner, "conversations": items}
}

func (f *fakeAtlas) createConv(w http.ResponseWriter, r *http.Request, u string) (int, any) {
	var in struct {
		Title string `json:"title"`
	}
	if code, ok := f.decode(r, &in); !ok {
		return code, map[string]string{"error": "bad body"}
	}
	if !validText(in.Title) {
		return 400, map[string]string{"error": "bad title"}
	}
	f.nextID++
	c := &fakeConv{id: f.nextID, user: u, title: "new", created: time.Now()}
	f.convs[u] = append(f.convs[u], c)
	f.convByID[c.id] = c
	return 201, map[string]string{"id": "c" + strconv.FormatInt(c.id, 10), "userId": u, "title": c.title, "createdAt": fmtTime(c.created)}
}

func (f *fakeAtlas) conv(r *http.Request, u string) *fakeConv {
	c := f.anyConv(r)
	if c == nil || c.user != u {
		return nil
	}
	return c
}

// anyConv is the conversation the path names, whoever owns it: "c<ID>" exactly.
func (f *fakeAtlas) anyConv(r *http.Request) *fakeConv {
	ref := r.PathValue("id")
	id, err := strconv.ParseInt(strings.TrimPrefix(ref, "c"), 10, 64)
	if err != nil || ref != "c"+strconv.FormatInt(id, 10) {
		return nil
	}
	return f.convByID[id]
}

func (f *fakeAtlas) listMsgs(w http.ResponseWriter, r *http.Request, u string) (int, any) {
	w.Header().Set("X-Cache", "MISS")
	c := f.conv(r, u)
	if f.mode == fakeLeakForeign && c == nil {
		if c = f.anyConv(r); c != nil {
			u = c.user // answers as the owner
		}
	}
	if c == nil {
		return 404, map[string]string{"error": "not found"}
	}
	limit := 50
	if v, present := r.URL.Query()["limit"]; present {
		l, err := strconv.Atoi(v[0])
		if len(v) != 1 || err != nil || l < 1 || l > 200 {
			return 400, map[string]string{"error": "bad limit"}
		}
		limit = l
	}
	ms := slices.Clone(f.msgs[c.id])
	slices.SortFunc(ms, func(a, b *fakeMsg) int {
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
		return int(b.id - a.id)
	})
	items := []map[string]string{}
	for _, m := range ms[:min(limit, len(ms))] {
		items = append(items, map[string]string{"id": "m" + strconv.FormatInt(m.id, 10), "conversationId": "c" + strconv.FormatInt(m.conv, 10),
			"userId": m.user, "role": "user", "content": m.content, "createdAt": fmtTime(m.created)})
	}
	return 200, map[string]any{"userId": u, "conversationId": "c" + strconv.FormatInt(c.id, 10), "messages": items}
}

func (f *fakeAtlas) createMsg(w http.ResponseWriter, r *http.Request, u string) (int, any) {
	c := f.conv(r, u)
	if c == nil {
		return 404, map[string]string{"error": "not found"}
	}
	var in struct {
		Content string `json:"content"`
	}
	if code, ok := f.decode(r, &in); !ok {
		return code, map[string]string{"error": "bad body"}
	}
	if !validText(in.Content) {
		return 400, map[string]string{"error": "bad content"}
	}
	if f.mode == fakeQuotaAll {
		return 429, map[string]string{"error": "quota", "code": "quota"}
	}
	f.nextID++
	m := &fakeMsg{id: f.nextID, conv: c.id, user: u, content: "new", created: time.Now().Truncate(time.Millisecond)}
	if f.mode != fakeStale {
		f.msgs[c.id] = append(f.msgs[c.id], m)
	}
	return 201, map[string]string{"id": "m" + strconv.FormatInt(m.id, 10), "conversationId": "c" + strconv.FormatInt(c.id, 10),
		"userId": u, "role": "user", "content": m.content, "createdAt": fmtTime(m.created)}
}
