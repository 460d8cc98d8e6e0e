package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// echoServer answers 200 with the X-Request-Id it received in the body, so that a test
// can check that each result was matched to the request that was actually sent.
func echoServer(t *testing.T, delay func(since time.Duration) time.Duration) *httptest.Server {
	var first atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		first.CompareAndSwap(0, now)
		if delay != nil {
			if d := delay(time.Duration(now - first.Load())); d > 0 {
				time.Sleep(d)
			}
		}
		id := r.Header.Get("X-Request-Id")
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("X-Cache", "HIT")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"requestId":%q,"seq":%q}`, id, r.Header.Get("X-Vegeta-Seq"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

const getOnlyYAML = `
name: driver-test
seed: 5
warmup: %s
duration: %s
rate: {shape: constant, rps: %d}
population: {users: 50, conversations: 2, messages: 5}
mix:
  - {req: "GET /api/me/tier", weight: 1}
  - {req: "GET /api/conversations/{id}/messages", weight: 1}
`

// decodeAll reads a results file written by Run.
func decodeAll(t *testing.T, path string) []vegeta.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.NewDecoder(f)
	var out []vegeta.Result
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("decode result %d: %v", len(out), err)
			}
			return out
		}
		out = append(out, r)
	}
}

func TestRunCountRateAndMatching(t *testing.T) {
	srv := echoServer(t, nil)
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "2s", 200))
	path := filepath.Join(t.TempDir(), "results-cache.bin")
	var records []Record
	out, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Mode: "cache", ResultsPath: path,
		Sink: func(r Record) {
			cp := r
			records = append(records, cp)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hits := sc.Schedule().Hits()
	if n := float64(len(records)); math.Abs(n-float64(hits)) > 0.03*float64(hits) {
		t.Errorf("%d results, schedule has %d hits", len(records), hits)
	}
	if out.Measured != int64(len(records)) || out.Results != int64(len(records)) || out.Unmatched != 0 || out.Interrupted {
		t.Errorf("outcome %+v for %d records", out, len(records))
	}
	if out.Rate.Target != 200 {
		t.Errorf("target rate %v, want 200", out.Rate.Target)
	}
	// The achieved rate is the plan's, stretched or squeezed by no more than how unevenly
	// late the requests of this run were sent (a busy machine sends late; the bounds come
	// from the run's own lateness, not from a guess at the machine's speed).
	minIntended, maxIntended, minLate, maxLate := records[0].Intended, records[0].Intended, records[0].Sent-records[0].Intended, records[0].Sent-records[0].Intended
	for _, r := range records {
		minIntended, maxIntended = min(minIntended, r.Intended), max(maxIntended, r.Intended)
		minLate, maxLate = min(minLate, r.Sent-r.Intended), max(maxLate, r.Sent-r.Intended)
	}
	plan, spread := (maxIntended - minIntended).Seconds(), (maxLate - minLate).Seconds()
	lo, hi := float64(len(records)-1)/(plan+spread), float64(len(records)-1)/max(plan-spread, 1e-3)
	t.Logf("achieved %.1f rps of 200; sends %v to %v late", out.Rate.Achieved, minLate, maxLate)
	if a := out.Rate.Achieved; a < 0.99*lo || a > 1.01*hi {
		t.Errorf("achieved %v rps of 200 (kept %v), want from %.1f to %.1f for sends %v to %v late", a, out.Rate.Kept, lo, hi, minLate, maxLate)
	}
	seen := map[uint64]bool{}
	for _, r := range records {
		if r.Req == nil {
			t.Fatalf("unmatched result seq %d", r.Res.Seq)
		}
		// The server saw the request the record claims it is.
		want := fmt.Sprintf(`{"requestId":"%d","seq":"%d"}`, r.Req.Index, r.Res.Seq)
		if string(r.Res.Body) != want {
			t.Fatalf("record for request %d seq %d got body %s", r.Req.Index, r.Res.Seq, r.Res.Body)
		}
		if seen[r.Req.Index] {
			t.Fatalf("request %d twice", r.Req.Index)
		}
		seen[r.Req.Index] = true
		at, _ := sc.Schedule().At(r.Res.Seq)
		if r.Intended != at || r.Warmup {
			t.Fatalf("seq %d: intended %v, schedule says %v", r.Res.Seq, r.Intended, at)
		}
		if r.Latency < r.Service()-time.Millisecond {
			t.Fatalf("seq %d: latency from intended %v < service %v", r.Res.Seq, r.Latency, r.Service())
		}
	}
	// The results file holds every result, bodies stripped.
	res := decodeAll(t, path)
	if len(res) != len(records) {
		t.Fatalf("results file has %d results, sink saw %d", len(res), len(records))
	}
	for _, r := range res {
		if len(r.Body) != 0 || r.Code != 200 || r.Attack != "cache" {
			t.Fatalf("result in file: %+v", r)
		}
	}
}

// TestWarmupLate: the warm-up requests answered after the measured window opened are
// counted (a server's count of the window holds them). Every answer takes at least 200 ms,
// so the 20 warm-up requests meant for its last 200 ms end inside the window, and on a
// slower machine more do, never fewer.
func TestWarmupLate(t *testing.T) {
	srv := echoServer(t, func(time.Duration) time.Duration { return 200 * time.Millisecond })
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "500ms", "300ms", 100))
	var late atomic.Int64
	out, err := Run(context.Background(), Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Mode: "nocache",
		Sink: func(r Record) {
			if r.Warmup && r.End() > 0 {
				late.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if out.WarmupLate != late.Load() || out.WarmupLate < 19 || out.WarmupLate > 50 {
		t.Errorf("%d warm-up requests answered late (the sink saw %d); want from 19 to the warm-up's 50", out.WarmupLate, late.Load())
	}
}

func TestRunWarmupAndEvents(t *testing.T) {
	srv := echoServer(t, nil)
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "500ms", "1s", 100))
	var mu sync.Mutex
	var events []EventRecord
	var ran atomic.Int32
	var warm, measured int
	var lag time.Duration // the latest any request was sent behind its schedule
	dir := t.TempDir()
	out, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Mode: "nocache",
		ResultsPath: filepath.Join(dir, "results.bin"), WarmupPath: filepath.Join(dir, "warmup.bin"),
		Events: []Event{
			{At: 600 * time.Millisecond, Name: "second", Fn: func(context.Context) error { ran.Add(1); return errors.New("boom") }},
			{At: 200 * time.Millisecond, Name: "first", Fn: func(context.Context) error { ran.Add(1); return nil }},
		},
		OnEvent: func(e EventRecord) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
		Sink: func(r Record) {
			if r.Warmup != (r.Intended < 0) {
				t.Errorf("seq %d: warm-up %v at %v", r.Res.Seq, r.Warmup, r.Intended)
			}
			lag = max(lag, r.Sent-r.Intended)
			if r.Warmup {
				warm++
			} else {
				measured++
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if warm != 50 || measured != 100 || out.Measured != 100 || out.Scheduled != 100 {
		t.Errorf("warm-up %d, measured %d (outcome %d, scheduled %d); want 50 and 100", warm, measured, out.Measured, out.Scheduled)
	}
	// The results file holds what the figures count; the warm-up has its own file.
	if n, w := len(decodeAll(t, filepath.Join(dir, "results.bin"))), len(decodeAll(t, filepath.Join(dir, "warmup.bin"))); n != measured || w != warm {
		t.Errorf("results.bin holds %d results, warmup.bin %d; want %d and %d", n, w, measured, warm)
	}
	var names []string
	for _, e := range events {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, []string{EventWarmupEnd, "first", "second", EventEnd}) {
		t.Fatalf("events %v", names)
	}
	// Never early; late by no more than the requests of the same run were (a busy machine
	// delays both alike) plus 300ms.
	for _, e := range events[:3] {
		if e.Offset < e.At || e.Offset > e.At+lag+300*time.Millisecond {
			t.Errorf("event %s planned at %v ran at %v (requests sent up to %v late)", e.Name, e.At, e.Offset, lag)
		}
	}
	if len(out.Events) != 2 || out.Events[1].Err == nil || ran.Load() != 2 {
		t.Errorf("outcome events %+v", out.Events)
	}
}

// TestRunCoordinatedOmission: the server stalls every request that arrives in [1.0 s, 1.3 s)
// of the run for 300 ms while only two workers may send. Few requests are slow to serve,
// but many are sent late: latency from the intended send time must show it.
func TestRunCoordinatedOmission(t *testing.T) {
	srv := echoServer(t, func(since time.Duration) time.Duration {
		if since >= time.Second && since < 1300*time.Millisecond {
			return 300 * time.Millisecond
		}
		return 0
	})
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "2s", 200))
	var lat, svc []time.Duration
	_, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Workers: 2, MaxWorkers: 2,
		Sink: func(r Record) {
			lat = append(lat, r.Latency)
			svc = append(svc, r.Service())
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	p99 := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[int(math.Ceil(0.99*float64(len(d))))-1]
	}
	l, s := p99(lat), p99(svc)
	t.Logf("p99 from intended send %v, service time %v (%d results)", l, s, len(lat))
	if l < 150*time.Millisecond || l < 2*s {
		t.Errorf("p99 from intended send %v is not clearly above the service time's %v", l, s)
	}
}

func TestRunInterrupted(t *testing.T) {
	srv := echoServer(t, nil)
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "10s", 100))
	path := filepath.Join(t.TempDir(), "results.bin")
	// Cancelled once the 100th answer arrived (the plan's first second), however long the
	// machine took to get there: no bound below depends on its speed.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n int
	out, err := Run(ctx, Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret, ResultsPath: path,
		Sink: func(Record) {
			if n++; n == 100 {
				cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	// That it stopped early is in the counts: fewer results than the plan, less of the window.
	if !out.Interrupted || n < 100 || n >= 1000 || int64(n) != out.Measured {
		t.Errorf("interrupted %v with %d results (measured %d), want at least 100 and fewer than the plan's 1000", out.Interrupted, n, out.Measured)
	}
	// The 100th request's intended send time is 990ms: the cut came after it.
	if out.Ran < 990*time.Millisecond || out.Ran >= sc.Duration {
		t.Errorf("ran %v of the measured window, want from 990ms to less than %v", out.Ran, sc.Duration)
	}
	if r := out.Rate.Target; math.Abs(r-100) > 10 {
		t.Errorf("target over the part that ran %v, want about 100", r)
	}
	if got := decodeAll(t, path); len(got) != n {
		t.Errorf("results file has %d results, sink saw %d", len(got), n)
	}
}

// TestRunInterruptAbortsStuckRequests: requests a hung server never answers are aborted
// after the grace period and left out of the sink.
func TestRunInterruptAbortsStuckRequests(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, _ := strconv.Atoi(r.Header.Get("X-Request-Id")); id >= 20 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	defer close(release)
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "10s", 100))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	var n atomic.Int64
	// The handlers hang until the test ends: that Run returns at all is the abort.
	out, err := Run(ctx, Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret, StopGrace: 200 * time.Millisecond,
		Sink: func(r Record) {
			n.Add(1)
			if r.Res.Code != 200 {
				t.Errorf("sink got %d %q", r.Res.Code, r.Res.Error)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Interrupted || out.Aborted < 10 || n.Load() != 20 {
		t.Errorf("interrupted %v, aborted %d, sink saw %d (want 20)", out.Interrupted, out.Aborted, n.Load())
	}
}

// TestRunTransportFailuresMatched: failed requests (connection closed without an answer)
// still find their planned request.
func TestRunTransportFailuresMatched(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.Header.Get("X-Request-Id"))
		if id%3 == 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "1s", 200))
	var failed, ok int
	out, err := Run(context.Background(), Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret,
		Sink: func(r Record) {
			if r.Req == nil {
				t.Fatalf("unmatched seq %d", r.Res.Seq)
			}
			if (r.Req.Index%3 == 0) != (r.Res.Code == 0) {
				t.Errorf("request %d: code %d %q", r.Req.Index, r.Res.Code, r.Res.Error)
			}
			if r.Res.Code == 0 {
				failed++
			} else {
				ok++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if failed < 50 || ok < 100 || out.Unmatched != 0 {
		t.Errorf("%d failed, %d ok, %d unmatched", failed, ok, out.Unmatched)
	}
}

func TestRunProgress(t *testing.T) {
	srv := echoServer(t, nil)
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "2500ms", 100))
	var ticks []Progress
	var mu sync.Mutex
	_, err := Run(context.Background(), Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret,
		OnTick: func(p Progress) { mu.Lock(); ticks = append(ticks, p); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ticks) < 2 {
		t.Fatalf("%d ticks in 2.5s", len(ticks))
	}
	p := ticks[1]
	if p.Total != 2500*time.Millisecond || p.Done < 60 || p.RPS < 30 || p.RPS > 200 || p.HitRate != 1 || p.Errors != 0 {
		t.Errorf("progress at 2s: %+v", p)
	}
	// The interval's percentiles: results arrived over the last second, so both are set.
	if p.P50 <= 0 || p.P99 < p.P50 || p.P99 > 10*time.Second {
		t.Errorf("progress at 2s: p50 %v, p99 %v", p.P50, p.P99)
	}
}

func TestRunRejectsEventOutsideWindow(t *testing.T) {
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "1s", 10))
	_, err := Run(context.Background(), Config{BaseURL: "http://127.0.0.1:1", Scenario: sc, Secret: testSecret,
		Events: []Event{{At: 2 * time.Second, Name: "late"}}})
	if err == nil {
		t.Fatal("no error")
	}
}

// TestRunInterruptedInWarmup: a cancel before the measured window starts runs no event and
// measures nothing, without failing.
func TestRunInterruptedInWarmup(t *testing.T) {
	srv := echoServer(t, nil)
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "5s", "5s", 50))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var ran atomic.Bool
	out, err := Run(ctx, Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret,
		Events: []Event{{At: 0, Name: "kill-redis", Fn: func(context.Context) error { ran.Store(true); return nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Interrupted || out.Measured != 0 || out.Ran != 0 || len(out.Events) != 0 || ran.Load() || out.Results == 0 {
		t.Errorf("outcome %+v, event ran %v", out, ran.Load())
	}
}

// TestRunClosedLoop: the max shape keeps exactly its workers' requests in flight, as fast as
// the server answers, and measures latency as the service time (there is no schedule).
func TestRunClosedLoop(t *testing.T) {
	var inFlight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
		w.WriteHeader(200)
	}))
	defer srv.Close()
	sc := scenario(t, `
name: closed
warmup: 200ms
duration: 1s
rate: {shape: max, workers: 4}
population: {users: 20, conversations: 1, messages: 1}
mix:
  - {req: "GET /api/me/tier", weight: 1}
`)
	var warm, measured int
	out, err := Run(context.Background(), Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret,
		Workers: 100, MaxWorkers: 1000, // ignored: the scenario's workers are the loop
		Sink: func(r Record) {
			if r.Intended != r.Sent || r.Latency != r.Service() || r.Warmup != (r.Sent < 0) {
				t.Fatalf("seq %d: intended %v sent %v latency %v service %v warm-up %v", r.Res.Seq, r.Intended, r.Sent, r.Latency, r.Service(), r.Warmup)
			}
			if r.Req == nil {
				t.Fatalf("unmatched seq %d", r.Res.Seq)
			}
			if r.Warmup {
				warm++
			} else {
				measured++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 4 || p < 2 {
		t.Errorf("peak %d requests in flight, want the loop's 4", p)
	}
	if warm == 0 || measured == 0 || int64(measured) != out.Measured {
		t.Errorf("%d warm-up and %d measured results (outcome %d) in 0.2 s + 1 s", warm, measured, out.Measured)
	}
	if out.Rate.Target != 0 || out.Rate.ClosedLoopWorkers != 4 || !out.Rate.Kept || out.Rate.Achieved <= 0 || out.Scheduled != 0 {
		t.Errorf("rate %+v, scheduled %d", out.Rate, out.Scheduled)
	}
}

// TestRunCutOffWhenBehind: a scheduled run whose generator cannot keep up (one worker, a
// 50 ms server, 200 rps asked) stops sending once it is Config.MaxLag behind, says so, and
// counts the rest of the schedule as dropped; with MaxLag < 0 it sends everything late.
func TestRunCutOffWhenBehind(t *testing.T) {
	srv := echoServer(t, func(time.Duration) time.Duration { return 50 * time.Millisecond })
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "10s", 200))
	out, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Workers: 1, MaxWorkers: 1, MaxLag: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !out.CutOff || !out.Rate.CutOff || out.Rate.Kept || out.Interrupted {
		t.Fatalf("cut off %v (rate %v), kept %v, interrupted %v: want a cut-off run, not kept", out.CutOff, out.Rate.CutOff, out.Rate.Kept, out.Interrupted)
	}
	if out.Ran >= sc.Duration || out.Ran <= 0 {
		t.Errorf("ran %v of %v: want the window to end at the cut", out.Ran, sc.Duration)
	}
	if want := 2000 - out.Measured; out.Rate.Dropped != want || want < 1000 {
		t.Errorf("dropped %d, want the 2000 scheduled minus the %d measured", out.Rate.Dropped, out.Measured)
	}
	if out.Rate.MaxLagS <= 0.5 {
		t.Errorf("max lag %.3f s, want past the 0.5 s bound", out.Rate.MaxLagS)
	}

	sc = scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "1s", 40))
	out, err = Run(context.Background(), Config{
		BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Workers: 1, MaxWorkers: 1, MaxLag: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.CutOff || out.Rate.Dropped != 0 || uint64(out.Measured) != out.Scheduled || out.Rate.MaxLagS < 0.1 {
		t.Errorf("MaxLag -1: cut off %v, dropped %d, measured %d of %d scheduled, max lag %.3f s: want every request sent late",
			out.CutOff, out.Rate.Dropped, out.Measured, out.Scheduled, out.Rate.MaxLagS)
	}
}

// TestRunRequestTimeout: Config.Timeout bounds each request (the round tripper's deadline,
// not http.Client.Timeout): a server slower than it yields transport errors that say
// "deadline exceeded", well before the server would have answered.
func TestRunRequestTimeout(t *testing.T) {
	srv := echoServer(t, func(time.Duration) time.Duration { return 3 * time.Second })
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "300ms", 10))
	var errs []string
	out, err := Run(context.Background(), Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Timeout: 200 * time.Millisecond,
		Sink: func(r Record) { errs = append(errs, r.Res.Error) }})
	if err != nil {
		t.Fatal(err)
	}
	if out.Measured == 0 || len(errs) != int(out.Measured) {
		t.Fatalf("measured %d, sink saw %d", out.Measured, len(errs))
	}
	for _, e := range errs {
		if !strings.Contains(e, "deadline exceeded") {
			t.Fatalf("result error %q, want a deadline exceeded", e)
		}
	}
}

// sharedDeadline: every context it hands out ends between timeout and timeout+deadlineStep
// after the call, also when many goroutines ask at once; contexts are shared (one per step
// at most, whatever the number of requests); stop ends every one of them.
func TestSharedDeadline(t *testing.T) {
	if newSharedDeadline(0) != nil || newSharedDeadline(-time.Second) != nil {
		t.Fatal("a timeout <= 0 gave a sharedDeadline, want nil (no timeout)")
	}
	const timeout = time.Hour // far enough that no stall of the test machine ends a context
	d := newSharedDeadline(timeout)
	var mu sync.Mutex
	distinct := map[context.Context]bool{}
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				before := time.Now()
				ctx := d.context()
				after := time.Now()
				end, ok := ctx.Deadline()
				if !ok {
					t.Error("a request context without a deadline")
					return
				}
				if end.Before(before.Add(timeout)) || end.After(after.Add(timeout+deadlineStep)) {
					t.Errorf("deadline %v after the call, want between %v and %v", end.Sub(before), timeout, timeout+deadlineStep)
					return
				}
				mu.Lock()
				distinct[ctx] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if steps := int(time.Since(start)/deadlineStep) + 1; len(distinct) > steps {
		t.Fatalf("%d contexts for 8000 requests in %d steps of %v, want at most one per step", len(distinct), steps, deadlineStep)
	}
	for ctx := range distinct {
		if ctx.Err() != nil {
			t.Fatalf("a context ended an hour early: %v", ctx.Err())
		}
	}
	d.stop()
	for ctx := range distinct {
		if ctx.Err() == nil {
			t.Fatal("stop left a context running")
		}
	}
	var none *sharedDeadline
	none.stop() // nil: no timeout, nothing to stop
}

// The tracker hands a target's header map back to its pool once the round tripper has seen
// the request: that is safe only because vegeta copies the header, values included, into the
// request it builds. A vegeta that aliased them would mix up requests' headers.
func TestVegetaCopiesTargetHeader(t *testing.T) {
	tgt := vegeta.Target{Method: "GET", URL: "http://127.0.0.1:1/", Header: http.Header{"X-Request-Id": {"1"}, "Accept": acceptJSON}}
	req, err := tgt.Request()
	if err != nil {
		t.Fatal(err)
	}
	tgt.Header["X-Request-Id"][0] = "2"
	clear(tgt.Header)
	if got := req.Header.Get("X-Request-Id"); got != "1" {
		t.Fatalf("the request's X-Request-Id is %q after the target's header was reused, want 1", got)
	}
	if got := req.Header.Get("Accept"); got != "application/json" {
		t.Fatalf("the request's Accept is %q after the target's header was cleared, want application/json", got)
	}
}
