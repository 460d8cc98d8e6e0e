package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// itemServer is a service the harness has no model of: GET /v1/items/{item} answers the
// item's value and its owner, cached by item (X-Cache); POST /v1/items/{item} stores the
// body's value. Token "tok-<user>" is user <user>. A correct server drops the cached answer
// on a write; a stale one keeps serving it.
func itemServer(stale bool) http.Handler {
	var mu sync.Mutex
	values := map[string]string{}
	cached := map[string][]byte{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
		item, isItem := strings.CutPrefix(r.URL.Path, "/v1/items/")
		switch {
		case !ok:
			w.WriteHeader(http.StatusUnauthorized)
			return
		case !isItem || item == "":
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "private, no-store")
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			if body, ok := cached[item]; ok {
				w.Header().Set("X-Cache", "HIT")
				w.Write(body)
				return
			}
			body, _ := json.Marshal(map[string]string{"owner": user, "item": item, "value": values[item]})
			cached[item] = body
			w.Header().Set("X-Cache", "MISS")
			w.Write(body)
		case http.MethodPost:
			var in struct{ Value string }
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			values[item] = in.Value
			if !stale {
				delete(cached, item)
			}
			w.WriteHeader(http.StatusCreated)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
}

// The done-when of own routes: a route the harness has no model of, a write declaring the
// read it changes: a target that serves the read from a copy it does not invalidate fails
// with stale reads; a correct one passes, with its X-Cache hit rate and owners judged.
func TestRunOwnRoutesReadYourWrites(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("id,token,item\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "p%d,tok-p%d,item-%d\n", i, i, i)
	}
	users := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(users, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, stale bool, want int) {
		s, _ := runScenario(t, itemServer(stale), filepath.Join("testdata", "own-routes.yaml"), users, want, "-owner", "/owner")
		get, post := s.ByEndpoint["GET /v1/items/{item}"], s.ByEndpoint["POST /v1/items/{item}"]
		if get.Requests == 0 || post.Requests == 0 || s.Errors != 0 {
			t.Fatalf("GET %d, POST %d requests, errors %d %v", get.Requests, post.Requests, s.Errors, s.ErrorsByKind)
		}
		if get.HitRate <= 0 || s.IsolationNA != "" || s.IsolationViolations != 0 {
			t.Errorf("GET hit rate %v, isolation %d (n/a %q)", get.HitRate, s.IsolationViolations, s.IsolationNA)
		}
		if stale && s.StaleReads == 0 {
			t.Errorf("a target that never invalidates its copy: 0 stale reads")
		}
		if !stale && s.StaleReads != 0 {
			t.Errorf("a correct target: %d stale reads: %+v", s.StaleReads, s.Examples)
		}
	}
	t.Run("correct", func(t *testing.T) { t.Parallel(); run(t, false, exitOK) })
	t.Run("stale", func(t *testing.T) { t.Parallel(); run(t, true, exitFail) })
}
