package driver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// instance is a test server instance: /readyz answers from ready, every other request is
// counted and answered with the instance's number in X-Server.
type instance struct {
	*httptest.Server
	ready atomic.Bool
	api   atomic.Int64 // requests other than /readyz
}

func newInstances(t *testing.T, n int) ([]*instance, []string) {
	var out []*instance
	var urls []string
	for i := range n {
		in := &instance{}
		in.ready.Store(true)
		in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/readyz" {
				if !in.ready.Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
				return
			}
			in.api.Add(1)
			w.Header().Set("X-Server", strconv.Itoa(i))
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{}`)
		}))
		t.Cleanup(in.Close)
		out = append(out, in)
		urls = append(urls, in.URL)
	}
	return out, urls
}

// TestBalancerPick: a request meant for an instance that is not ready goes to the next ready
// one, in order; with none ready it goes where it was meant to.
func TestBalancerPick(t *testing.T) {
	ins, urls := newInstances(t, 3)
	b := newBalancer(urls, time.Second)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		ready [3]bool
		want  [3]int // pick(0), pick(1), pick(2)
	}{
		{"all ready", [3]bool{true, true, true}, [3]int{0, 1, 2}},
		{"second out", [3]bool{true, false, true}, [3]int{0, 2, 2}},
		{"last out: wraps", [3]bool{true, true, false}, [3]int{0, 1, 0}},
		{"only first", [3]bool{true, false, false}, [3]int{0, 0, 0}},
		{"none ready", [3]bool{false, false, false}, [3]int{0, 1, 2}},
		{"back again", [3]bool{true, true, true}, [3]int{0, 1, 2}},
	} {
		for i, r := range tc.ready {
			ins[i].ready.Store(r)
		}
		b.pollAll(ctx)
		for i, want := range tc.want {
			if got := b.pick(i); got != want {
				t.Errorf("%s: pick(%d) = %d, want %d", tc.name, i, got, want)
			}
		}
	}
	// An instance that does not answer at all is not ready either.
	ins[1].Close()
	b.pollAll(ctx)
	if got := b.pick(1); got != 2 {
		t.Errorf("closed instance: pick(1) = %d, want 2", got)
	}
}

// TestRunBalancesOnReadiness: an instance that is not ready gets no request at all until it
// is; then it gets its share. Every record names the instance that answered it.
func TestRunBalancesOnReadiness(t *testing.T) {
	ins, urls := newInstances(t, 3)
	ins[1].ready.Store(false)
	var beforeReady atomic.Int64
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "2s", 150))
	var records []Record
	_, err := Run(context.Background(), Config{
		BaseURLs: urls, ReadyPeriod: 20 * time.Millisecond, Scenario: sc, Secret: testSecret, Mode: "cache",
		Events: []Event{{At: time.Second, Name: "ready", Fn: func(context.Context) error {
			beforeReady.Store(ins[1].api.Load())
			ins[1].ready.Store(true)
			return nil
		}}},
		Sink: func(r Record) { records = append(records, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := beforeReady.Load(); n != 0 {
		t.Fatalf("instance 2 got %d requests while it was not ready", n)
	}
	// Once the balancer sent to it again it takes its share, about a third, of what was sent
	// from then on: at least a tenth. Counted from its first request, not from a time, since a
	// busy machine may run the event, or the readiness poll, late.
	first := -1
	for i, r := range records {
		if r.Server == 2 && (first < 0 || r.Sent < records[first].Sent) {
			first = i
		}
	}
	if first < 0 {
		t.Fatalf("instance 2 got none of %d requests once ready; want its share again", len(records))
	}
	var after, since int
	for _, r := range records {
		if r.Sent >= records[first].Sent {
			since++
			if r.Server == 2 {
				after++
			}
		}
	}
	if after*10 < since {
		t.Fatalf("instance 2 got %d of the %d requests sent since its first one; want its share again", after, since)
	}
	for _, r := range records {
		if got := r.Res.Headers.Get("X-Server"); got != strconv.Itoa(r.Server) {
			t.Fatalf("record of request %d says instance %d, answered by %s", r.Req.Index, r.Server, got)
		}
	}
}
