package scenarios

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

const ms = time.Millisecond

// TestScheduleConstant: At(n) = n/rps, and Hits counts exactly the n with At(n) < total.
func TestScheduleConstant(t *testing.T) {
	tests := []struct {
		rps   float64
		total time.Duration
		hits  uint64
	}{
		{100, time.Second, 100},        // 0, 10ms, …, 990ms; 1s itself is past the end
		{3, time.Second, 3},            // 0, 333.33…ms, 666.66…ms: rounding to the ns keeps them inside
		{0.5, 10 * time.Second, 5},     // slower than one a second: 0, 2s, …, 8s
		{200, 50 * time.Second, 10000}, // mixed's whole attack
		{7, 1500 * ms, 11},             // 10.5 due: hits 0…10, the 11th at 1.428…s
		{1e6, time.Second, 1000000},    // the highest rate allowed, 1µs apart
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%grps/%s", tt.rps, tt.total), func(t *testing.T) {
			s := Rate{Shape: ShapeConstant, RPS: tt.rps}.Schedule(tt.total)
			if got := s.Hits(); got != tt.hits {
				t.Errorf("Hits = %d, want %d", got, tt.hits)
			}
			for n := uint64(0); n < tt.hits; n += max(1, tt.hits/1000) {
				at, ok := s.At(n)
				want := float64(n) * 1e9 / tt.rps
				if !ok || math.Abs(float64(at)-want) > 1 {
					t.Fatalf("At(%d) = %v, %v; want %vns", n, at, ok, want)
				}
			}
			if _, ok := s.At(tt.hits); ok {
				t.Errorf("At(Hits()) is ok; want false past the end")
			}
			if r := s.RateAt(tt.total / 2); r != tt.rps {
				t.Errorf("RateAt = %g, want %g", r, tt.rps)
			}
			checkMonotone(t, s, tt.total)
		})
	}
}

// TestScheduleLinear: the hit count over the run is (from+to)/2·T within 1, and every hit
// is due where the integral of the rate reaches its number.
func TestScheduleLinear(t *testing.T) {
	tests := []struct {
		from, to float64
		total    time.Duration
	}{
		{10, 100, 10 * time.Second},    // ramp up: 550
		{100, 10, 10 * time.Second},    // ramp down: the same 550, front-loaded
		{0, 200, 5 * time.Second},      // from zero: the first gaps are long
		{50, 50, 4 * time.Second},      // flat: the same as constant 50
		{1, 0, 3 * time.Second},        // down to zero: 1.5 due, hits 0 and 1
		{300, 301, 50*time.Second + 1}, // odd total: nanosecond rounding at the end
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%g-%g/%s", tt.from, tt.to, tt.total), func(t *testing.T) {
			s := Rate{Shape: ShapeLinear, From: tt.from, To: tt.to}.Schedule(tt.total)
			T := tt.total.Seconds()
			want := (tt.from + tt.to) / 2 * T
			if got := float64(s.Hits()); math.Abs(got-want) > 1 {
				t.Errorf("Hits = %g, want %g within 1", got, want)
			}
			slope := (tt.to - tt.from) / T
			for n := uint64(0); n < s.Hits(); n++ {
				at, _ := s.At(n)
				x := at.Seconds()
				if c := tt.from*x + slope*x*x/2; math.Abs(c-float64(n)) > 1e-6*max(tt.from, tt.to) {
					t.Fatalf("N(At(%d)) = %g", n, c)
				}
			}
			if r, w := s.RateAt(tt.total/2), (tt.from+tt.to)/2; math.Abs(r-w) > 1e-9 {
				t.Errorf("RateAt(mid) = %g, want %g", r, w)
			}
			checkMonotone(t, s, tt.total)
		})
	}
}

// TestScheduleSteps: each step at its own rate; an idle step is skipped; the last holds.
func TestScheduleSteps(t *testing.T) {
	tests := []struct {
		name  string
		steps []Step
		total time.Duration
		hits  uint64
		at    map[uint64]time.Duration // selected hits and their offsets
	}{
		{
			// 10 rps for 1s, idle 1s, then 20 rps: hit 10 waits for the third step.
			name:  "idle step",
			steps: []Step{{10, time.Second}, {0, time.Second}, {20, 0}},
			total: 3 * time.Second, hits: 30,
			at: map[uint64]time.Duration{0: 0, 9: 900 * ms, 10: 2 * time.Second, 29: 2950 * ms},
		},
		{
			// The last step's `for` is ignored: it holds to the end of the attack.
			name:  "last holds",
			steps: []Step{{100, 500 * ms}, {50, 100 * ms}},
			total: 2 * time.Second, hits: 125,
			at: map[uint64]time.Duration{49: 490 * ms, 50: 500 * ms, 51: 520 * ms, 124: 1980 * ms},
		},
		{
			// A run shorter than the first step sees only the first step.
			name:  "short run",
			steps: []Step{{40, 10 * time.Second}, {400, 0}},
			total: time.Second, hits: 40,
			at: map[uint64]time.Duration{39: 975 * ms},
		},
		{
			// Ends idle: nothing is due after the sending steps, so Hits stops there.
			name:  "ends idle",
			steps: []Step{{10, time.Second}, {0, 0}},
			total: 5 * time.Second, hits: 10,
			at: map[uint64]time.Duration{9: 900 * ms},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Rate{Shape: ShapeSteps, Steps: tt.steps}.Schedule(tt.total)
			if got := s.Hits(); got != tt.hits {
				t.Errorf("Hits = %d, want %d", got, tt.hits)
			}
			for n, want := range tt.at {
				if got, ok := s.At(n); !ok || got != want {
					t.Errorf("At(%d) = %v, %v; want %v", n, got, ok, want)
				}
			}
			checkMonotone(t, s, tt.total)
		})
	}
	s := Rate{Shape: ShapeSteps, Steps: []Step{{10, time.Second}, {0, time.Second}, {20, 0}}}.Schedule(3 * time.Second)
	for _, c := range []struct {
		t    time.Duration
		want float64
	}{{0, 10}, {999 * ms, 10}, {time.Second, 0}, {2 * time.Second, 20}, {3 * time.Second, 0}} {
		if got := s.RateAt(c.t); got != c.want {
			t.Errorf("RateAt(%v) = %g, want %g", c.t, got, c.want)
		}
	}
}

// TestScheduleSine compares the schedule with a numeric integral of RateAt: the hit count
// up to any t, and each hit's due time to within 1µs.
func TestScheduleSine(t *testing.T) {
	tests := []struct {
		mean, amp float64
		period    time.Duration
		total     time.Duration
	}{
		{100, 50, 2 * time.Second, 5 * time.Second},       // 2.5 periods: ends on a crest
		{100, 100, time.Second, 3 * time.Second},          // amp = mean: the rate touches 0 each period
		{20, 5, time.Minute, 10 * time.Second},            // a long period: a slow swell
		{150, 0, time.Second, 2 * time.Second},            // no amplitude: constant 150
		{1000, 900, 100 * ms, 500*ms + 3*time.Nanosecond}, // fast wave, odd total
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%g±%g/%s", tt.mean, tt.amp, tt.period), func(t *testing.T) {
			s := Rate{Shape: ShapeSine, Mean: tt.mean, Amp: tt.amp, Period: tt.period}.Schedule(tt.total)
			integral := func(to time.Duration) float64 { return simpson(s.RateAt, to, 20000) }
			if got, want := float64(s.Hits()), integral(tt.total-1); math.Abs(got-want) > 1 {
				t.Errorf("Hits = %g, integral of RateAt over the run = %g", got, want)
			}
			tol := (tt.mean + tt.amp) * 1e-6 // 1µs at the highest rate, in hits
			for n := uint64(0); n < s.Hits(); n += max(1, s.Hits()/200) {
				at, _ := s.At(n)
				if got := integral(at); math.Abs(got-float64(n)) > tol+1e-6 {
					t.Errorf("∫rate to At(%d)=%v is %.7f, want %d ± %g", n, at, got, n, tol)
				}
			}
			for _, frac := range []float64{0.1, 0.37, 0.5, 0.9} {
				tt := time.Duration(frac * float64(tt.total))
				due := sortSearch(s, tt)
				if want := integral(tt); math.Abs(float64(due)-want) > 1 {
					t.Errorf("hits due before %v = %d, integral = %g", tt, due, want)
				}
			}
			checkMonotone(t, s, tt.total)
		})
	}
}

// simpson integrates f over [0, to] with n (even) intervals.
func simpson(f func(time.Duration) float64, to time.Duration, n int) float64 {
	h := float64(to) / float64(n)
	at := func(i int) float64 { return f(time.Duration(float64(i) * h)) }
	sum := at(0) + at(n)
	for i := 1; i < n; i++ {
		sum += float64(2+2*(i%2)) * at(i)
	}
	return sum * h / 3 / 1e9
}

// sortSearch counts the hits due before t.
func sortSearch(s Schedule, t time.Duration) uint64 {
	lo, hi := uint64(0), s.Hits()
	for lo < hi {
		mid := lo + (hi-lo)/2
		if at, _ := s.At(mid); at < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// checkMonotone: At is non-decreasing, inside [0, total) exactly for n < Hits.
func checkMonotone(t *testing.T, s Schedule, total time.Duration) {
	t.Helper()
	prev := time.Duration(-1)
	for n := uint64(0); n < s.Hits(); n++ {
		at, ok := s.At(n)
		if !ok || at < prev || at < 0 || at >= total {
			t.Fatalf("At(%d) = %v, %v after %v; want ok, non-decreasing, in [0, %v)", n, at, ok, prev, total)
		}
		prev = at
	}
	if _, ok := s.At(s.Hits()); ok {
		t.Fatalf("At(Hits()=%d) is ok", s.Hits())
	}
}

// TestScheduleEmpty: invalid rates and non-positive totals schedule nothing.
func TestScheduleEmpty(t *testing.T) {
	tests := []struct {
		name  string
		rate  Rate
		total time.Duration
	}{
		{"zero rps", Rate{RPS: 0}, time.Second},                                                          // nothing to send
		{"unknown shape", Rate{Shape: "square", RPS: 10}, time.Second},                                   // not a shape
		{"sine below zero", Rate{Shape: ShapeSine, Mean: 10, Amp: 20, Period: time.Second}, time.Second}, // invalid
		{"NaN", Rate{RPS: math.NaN()}, time.Second},                                                      // not a number
		{"no time", Rate{RPS: 10}, 0},                                                                    // total 0
		{"negative time", Rate{RPS: 10}, -time.Second},                                                   // total < 0
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.rate.Schedule(tt.total)
			if _, ok := s.At(0); ok || s.Hits() != 0 || s.RateAt(0) != 0 {
				t.Errorf("want an empty schedule, got Hits %d", s.Hits())
			}
			if _, stop := NewPacer(s).Pace(0, 0); !stop {
				t.Errorf("pacer does not stop")
			}
		})
	}
}

// TestPacer: Pace waits exactly At(hits) - elapsed, 0 when behind, and stops after the last hit.
func TestPacer(t *testing.T) {
	p := NewPacer(Rate{RPS: 100}.Schedule(time.Second)) // hits at 0, 10ms, …, 990ms
	tests := []struct {
		elapsed time.Duration
		hits    uint64
		wait    time.Duration
		stop    bool
	}{
		{0, 0, 0, false},                // the first hit is due at once
		{0, 1, 10 * ms, false},          // the second 10ms in
		{3 * ms, 1, 7 * ms, false},      // part of the gap already gone
		{10 * ms, 1, 0, false},          // exactly on time
		{25 * ms, 1, 0, false},          // behind: send now, never skip
		{500 * ms, 80, 300 * ms, false}, // ahead of schedule: wait for hit 80 at 800ms
		{990 * ms, 99, 0, false},        // the last hit
		{995 * ms, 100, 0, true},        // past it: stop
		{2 * time.Second, 150, 0, true}, // long past: stop
		{2 * time.Second, 99, 0, false}, // late last hit still goes
	}
	for _, tt := range tests {
		wait, stop := p.Pace(tt.elapsed, tt.hits)
		if wait != tt.wait || stop != tt.stop {
			t.Errorf("Pace(%v, %d) = %v, %v; want %v, %v", tt.elapsed, tt.hits, wait, stop, tt.wait, tt.stop)
		}
	}
	if r := p.Rate(500 * ms); r != 100 {
		t.Errorf("Rate = %g, want 100", r)
	}
	if r := p.Rate(time.Second); r != 0 {
		t.Errorf("Rate after the end = %g, want 0", r)
	}
	if s := fmt.Sprint(p); s != "constant 100 rps" {
		t.Errorf("String = %q", s)
	}

	// Against At on a sine schedule, for every hit.
	s := Rate{Shape: ShapeSine, Mean: 50, Amp: 25, Period: time.Second}.Schedule(2 * time.Second)
	sp := NewPacer(s)
	for n := uint64(0); n < s.Hits(); n++ {
		at, _ := s.At(n)
		for _, el := range []time.Duration{0, at - 1, at, at + ms} {
			wait, stop := sp.Pace(el, n)
			if stop || wait != max(at-el, 0) {
				t.Fatalf("Pace(%v, %d) = %v, %v; want %v", el, n, wait, stop, max(at-el, 0))
			}
		}
	}
}

// TestPacerVegeta drives a real vegeta attack with the pacer against an httptest server:
// the pacer alone ends the attack after exactly Hits requests.
func TestPacerVegeta(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer srv.Close()
	s := Rate{Shape: ShapeSteps, Steps: []Step{{100, 200 * ms}, {0, 100 * ms}, {50, 0}}}.Schedule(500 * ms)
	if s.Hits() != 30 { // 20 + 0 + 10
		t.Fatalf("Hits = %d, want 30", s.Hits())
	}
	atk := vegeta.NewAttacker()
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: srv.URL})
	n := 0
	for res := range atk.Attack(tr, NewPacer(s), 0, "test") {
		if res.Error != "" {
			t.Errorf("result error: %s", res.Error)
		}
		n++
	}
	if n != 30 || got.Load() != 30 {
		t.Errorf("%d results, %d requests; want 30", n, got.Load())
	}
}

// TestPinServer checks how requests are spread over instances.
func TestPinServer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pin   Pin
		seq   uint64
		write bool
		n     int
		want  int
	}{
		{"one instance", Pin{}, 7, false, 1, 0},
		{"no instances given counts as one", Pin{}, 7, true, 0, 0},
		{"round-robin by request", Pin{}, 7, false, 3, 1},
		{"round-robin ignores the kind", Pin{}, 8, true, 3, 2},
		{"pinned write", Pin{Writes: 1, Reads: 2}, 9, true, 2, 0},
		{"pinned read", Pin{Writes: 1, Reads: 2}, 10, false, 2, 1},
		{"only writes pinned: reads round-robin", Pin{Writes: 2}, 5, false, 3, 2},
	} {
		if got := tc.pin.Server(tc.seq, tc.write, tc.n); got != tc.want {
			t.Errorf("%s: Server(%d, %v, %d) = %d, want %d", tc.name, tc.seq, tc.write, tc.n, got, tc.want)
		}
	}
}
