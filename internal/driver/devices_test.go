package driver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// versionServer keeps a version per user and path: a GET answers it with ETag "v<n>" (304
// when If-None-Match names it), a POST to a conversation's messages bumps that conversation's
// page. It records every conditional GET: the ETag sent, and whether the server had issued
// that ETag for that user and path.
type versionServer struct {
	mu          sync.Mutex
	version     map[string]int             // user + path → current version
	issued      map[string]map[string]bool // user + path → ETags answered
	foreign     int                        // conditional GETs naming an ETag never issued for that user and path
	revalidated int
}

func newVersionServer(t *testing.T) (*versionServer, *httptest.Server) {
	vs := &versionServer{version: map[string]int{}, issued: map[string]map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("Authorization")
		vs.mu.Lock()
		defer vs.mu.Unlock()
		if r.Method == http.MethodPost {
			vs.version[user+" "+r.URL.Path]++
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id":"m1"}`)
			return
		}
		k := user + " " + r.URL.Path
		etag := fmt.Sprintf(`"v%d"`, vs.version[k])
		w.Header().Set("ETag", etag)
		w.Header().Set("X-Atlas-Tier", "core")
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			if !vs.issued[k][inm] {
				vs.foreign++
			}
			if inm == etag {
				vs.revalidated++
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		if vs.issued[k] == nil {
			vs.issued[k] = map[string]bool{}
		}
		vs.issued[k][etag] = true
		fmt.Fprintf(w, `{"path":%q,"v":%d}`, r.URL.Path, vs.version[k])
	}))
	t.Cleanup(srv.Close)
	return vs, srv
}

const devicesYAML = `
name: devices-test
seed: 9
duration: 2s
rate: {shape: constant, rps: 150}
population: {users: 4, conversations: 2, messages: 5}
clients: {devices: %d, cache: %v}
mix:
  - {req: "GET /api/conversations/{id}/messages", weight: 8}
  - {req: "POST /api/conversations/{id}/messages", weight: 1}
`

// TestDevicesRevalidate: with clients.cache each device sends a GET it made before
// conditional, on the ETag the server gave that user for that URL, and shows its copy on a
// 304; writes come from device 0; reads are spread over every device; without the cache no
// request is conditional.
func TestDevicesRevalidate(t *testing.T) {
	for _, cached := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache=%v", cached), func(t *testing.T) {
			vs, srv := newVersionServer(t)
			sc := scenario(t, fmt.Sprintf(devicesYAML, 3, cached))
			var records []Record
			_, err := Run(context.Background(), Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Mode: "cache",
				Sink: func(r Record) { records = append(records, r) }})
			if err != nil {
				t.Fatal(err)
			}
			readDevices := map[int]int{}
			var conditional, notModified int
			for _, r := range records {
				if r.Req == nil {
					t.Fatal("unmatched result")
				}
				if r.Req.Write {
					if r.Req.Device != 0 || r.Req.Kept != nil {
						t.Fatalf("write %s from device %d (kept %v)", r.Req, r.Req.Device, r.Req.Kept)
					}
					continue
				}
				readDevices[r.Req.Device]++
				if r.Req.Kept != nil {
					conditional++
				}
				if r.Res.Code == http.StatusNotModified {
					notModified++
					if !r.Revalidated() || !strings.Contains(string(r.Shown()), r.Res.URL[len(srv.URL):]) {
						t.Fatalf("304 to %s shows %q", r.Req, r.Shown())
					}
				}
			}
			if len(readDevices) != 3 {
				t.Errorf("reads by device %v, want all 3 devices used", readDevices)
			}
			vs.mu.Lock()
			defer vs.mu.Unlock()
			if vs.foreign != 0 {
				t.Errorf("%d conditional GETs named an ETag the server never gave that user for that URL", vs.foreign)
			}
			if !cached {
				if conditional != 0 || vs.revalidated != 0 {
					t.Errorf("without client caches: %d conditional requests, %d 304s", conditional, vs.revalidated)
				}
				return
			}
			if conditional == 0 || notModified == 0 || notModified != vs.revalidated {
				t.Errorf("with client caches: %d conditional, %d 304s seen, server answered %d", conditional, notModified, vs.revalidated)
			}
			t.Logf("%d records: %d conditional, %d answered 304", len(records), conditional, notModified)
		})
	}
}

// TestDevicesMemoryBound: the copies' bodies never exceed the bound; the least recently
// stored go first, and a device's copy is replaced only by the answer to a later request.
func TestDevicesMemoryBound(t *testing.T) {
	sc := scenario(t, fmt.Sprintf(devicesYAML, 2, true))
	d := newDevices(sc, 100)
	answer := func(idx uint64, user int, path, etag string, size int) {
		r := &Request{Index: idx, UserIndex: user, Method: "GET", Path: path, Class: "apiResponses"}
		d.prepare(r)
		r.Device = 0
		res := &vegeta.Result{Code: 200, Body: make([]byte, size), Headers: http.Header{"Etag": {etag}}}
		d.keep(r, res)
	}
	for i := range 10 {
		answer(uint64(10+i), 1, fmt.Sprintf("/p%d", i), `"a"`, 30)
		if n, b := d.size(); b > 100 || n > 3 {
			t.Fatalf("after %d copies: %d kept, %d bytes, want at most 100 bytes", i+1, n, b)
		}
	}
	// The three most recent remain.
	for i, want := range []bool{false, true, true, true} {
		r := &Request{Index: 100, UserIndex: 1, Method: "GET", Path: fmt.Sprintf("/p%d", 6+i), Class: "apiResponses"}
		d.prepare(r)
		r.Device = 0
		d.mu.Lock()
		_, ok := d.copies[copyKey{1, 0, r.Path}]
		d.mu.Unlock()
		if ok != want {
			t.Errorf("/p%d kept=%v, want %v", 6+i, ok, want)
		}
	}
	// An answer to an earlier request does not replace a later one's copy.
	answer(5, 1, "/p9", `"old"`, 10)
	d.mu.Lock()
	got := d.copies[copyKey{1, 0, "/p9"}].Value.(*kept).copy.ETag
	d.mu.Unlock()
	if got != `"a"` {
		t.Errorf("copy of /p9 has ETag %s after an older answer arrived, want the later request's", got)
	}
}

// TestDeviceChoiceDeterministic: the device of a request is a function of the scenario's
// seed and the request's plan index alone.
func TestDeviceChoiceDeterministic(t *testing.T) {
	sc := scenario(t, fmt.Sprintf(devicesYAML, 4, true))
	a, b := newDevices(sc, 0), newDevices(sc, 0)
	counts := make([]int, 4)
	for i := range uint64(400) {
		r1 := &Request{Index: i, Method: "GET", Class: "tier"}
		r2 := &Request{Index: i, Method: "GET", Class: "tier"}
		a.prepare(r1)
		b.prepare(r2)
		if r1.Device != r2.Device {
			t.Fatalf("request %d: device %d then %d", i, r1.Device, r2.Device)
		}
		counts[r1.Device]++
	}
	for dev, n := range counts {
		if n < 60 {
			t.Errorf("device %d sent %d of 400 reads, want them spread (%v)", dev, n, counts)
		}
	}
}

// TestNotModifiedIsExpectedOnlyWhenConditional: the live error count takes a 304 as an
// answer only to a request sent conditional on a kept copy.
func TestNotModifiedIsExpectedOnlyWhenConditional(t *testing.T) {
	res := &vegeta.Result{Code: http.StatusNotModified}
	plain := &Request{Method: "GET", Class: "tier", Expect: []int{200}}
	kept := &Request{Method: "GET", Class: "tier", Expect: []int{200}, Kept: &Copy{ETag: `"e"`}}
	if !unexpected(plain, res) || unexpected(kept, res) {
		t.Errorf("304: unexpected without a copy %v (want true), with one %v (want false)", unexpected(plain, res), unexpected(kept, res))
	}
}
