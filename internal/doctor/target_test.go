package doctor_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/doctor"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/atlasbench/atlasbench/refserver"
	"github.com/atlasbench/atlasbench/refserver/store"
)

var targetSecret = []byte("doctor-test-secret")

// atlasServer is the real reference server (SQLite, a child Redis unless nocache) as an
// http.Handler.
func atlasServer(t *testing.T, nocache bool) http.Handler {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/atlas.db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Seed(ctx, store.SeedConfig{Seed: 3, Users: 5, Conversations: 2, Messages: 3, Tiers: atlas.DefaultTierMix()}); err != nil {
		t.Fatal(err)
	}
	cfg, err := cache.LoadConfig("default")
	if err != nil {
		t.Fatal(err)
	}
	var c *cache.Cache
	if nocache {
		c = cache.New(nil, cache.Options{Config: cfg})
	} else {
		client, err := cache.NewClient(testutil.Redis(t).URL(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		c = cache.New(client, cache.Options{Config: cfg})
	}
	bg, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	c.Start(bg)
	return refserver.New(refserver.Config{JWTSecret: targetSecret}, st, c)
}

func checkTarget(t *testing.T, h http.Handler, owner string) doctor.Section {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	tok, err := atlas.NewToken(targetSecret, "u2", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := doctor.CheckTarget(context.Background(), doctor.TargetOptions{URL: hs.URL, UserID: "u2", Token: tok, Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func fact(sec doctor.Section, name string) string {
	for _, f := range sec.Facts {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func TestTargetAtlasKeepsTheContract(t *testing.T) {
	sec := checkTarget(t, atlasServer(t, false), "")
	if len(sec.Findings) != 0 {
		t.Fatalf("findings on the reference server: %+v", sec.Findings)
	}
	for name, want := range map[string]string{
		"can measure: hit rate from the server's counters": "yes",
		"can measure: hit rate from X-Cache":               "yes",
		"can measure: isolation":                           "yes, from the owner at /userId",
	} {
		if got := fact(sec, name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// A service that keeps the routes but breaks the headers and paths: each break is named.
func TestTargetBrokenHeaders(t *testing.T) {
	atlasHandler := atlasServer(t, false)
	broken := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/me.css" {
			w.WriteHeader(http.StatusOK) // deception: a suffix served as the page
			return
		}
		rec := httptest.NewRecorder()
		atlasHandler.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		if r.URL.Path == "/api/me/tier" {
			w.Header().Del("X-Cache")
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	sec := checkTarget(t, broken, "")
	got := map[string][]string{}
	for _, f := range sec.Findings {
		got[f.ID] = append(got[f.ID], f.Where)
	}
	if len(got["target.cache-control"]) != 4 {
		t.Errorf("cache-control findings on %v, want the 4 read routes", got["target.cache-control"])
	}
	if !slices.Equal(got["target.x-cache"], []string{"GET /api/me/tier"}) {
		t.Errorf("x-cache findings on %v, want [GET /api/me/tier]", got["target.x-cache"])
	}
	if !slices.Equal(got["target.canonical-path"], []string{"GET /api/me.css"}) {
		t.Errorf("canonical-path findings on %v, want [GET /api/me.css]", got["target.canonical-path"])
	}
	if len(got) != 3 {
		t.Errorf("findings %v, want only those three kinds", got)
	}
}

// Without the cache every answer is BYPASS: a repeated read never hits, which doctor says.
func TestTargetNoCacheNeverHits(t *testing.T) {
	sec := checkTarget(t, atlasServer(t, true), "")
	n := 0
	for _, f := range sec.Findings {
		if f.ID != "target.x-cache-hit" || !strings.Contains(f.What, "both BYPASS") {
			t.Errorf("unexpected finding %+v", f)
		}
		n++
	}
	if n != 4 {
		t.Errorf("%d x-cache-hit findings, want one per read route (4)", n)
	}
	if !strings.Contains(fact(sec, "cache"), "nocache") {
		t.Errorf("facts do not say the service runs without a cache: %+v", sec.Facts)
	}
}

// An owner pointer the answers do not have makes isolation not applicable, never "0 violations".
func TestTargetOwnerNotApplicable(t *testing.T) {
	sec := checkTarget(t, atlasServer(t, false), "/owner/id")
	if got := fact(sec, "can measure: isolation"); !strings.HasPrefix(got, "not applicable") {
		t.Errorf("isolation: %q, want not applicable", got)
	}
	if len(sec.Findings) != 0 {
		t.Errorf("findings %+v", sec.Findings)
	}
}

func TestTargetUnreachableAndBadInput(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close()
	_, err := doctor.CheckTarget(context.Background(), doctor.TargetOptions{URL: url, UserID: "u1", Token: "t"})
	if !errors.Is(err, doctor.ErrUnreachable) {
		t.Errorf("closed server: %v, want ErrUnreachable", err)
	}
	_, err = doctor.CheckTarget(context.Background(), doctor.TargetOptions{URL: url, UserID: "u1", Token: "t", Owner: "userId"})
	if !errors.Is(err, doctor.ErrBadInput) {
		t.Errorf("bad pointer: %v, want ErrBadInput", err)
	}
}
