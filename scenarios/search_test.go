package scenarios

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// runSearch drives a SearchState with a fake step runner: a step holds when its rate is at
// most capacity. It returns the rates tried, in order, and the state.
func runSearch(t *testing.T, r Rate, capacity float64) ([]float64, *SearchState) {
	t.Helper()
	s := NewSearchState(r)
	var tried []float64
	for {
		rps, ok := s.Next()
		if !ok {
			return tried, s
		}
		if len(tried) > 100 {
			t.Fatalf("the search did not stop: %v", tried)
		}
		tried = append(tried, rps)
		s.Record(rps, rps <= capacity)
	}
}

func TestSearchState(t *testing.T) {
	search := func(from, to, factor, res float64) Rate {
		return Rate{Shape: ShapeSearch, From: from, To: to, Search: Search{SLO: "latency.p99 <= 50ms", Factor: factor, Resolution: res}}
	}
	tests := []struct {
		name     string
		rate     Rate
		capacity float64
		tried    []float64
		held     float64
		why      string
	}{
		// climbs 50, 100, 200, 400 (fails), then bisects 300 (held), 350 (fails), 325 (held):
		// 350/325 − 1 = 7.7% <= 10%.
		{"knee inside the range", search(50, 1000, 2, 0.1), 330, []float64{50, 100, 200, 400, 300, 350, 325}, 325, "narrowed"},
		// the climb is capped at to, which holds: the capacity is at least to.
		{"held to the top", search(50, 300, 2, 0.1), 1e9, []float64{50, 100, 200, 300}, 300, "held up to"},
		// the very first step fails: nothing held.
		{"below from", search(50, 300, 2, 0.1), 10, []float64{50}, 0, "first step"},
		// the default factor and resolution (2 and 10%).
		{"defaults", search(100, 10000, 0, 0), 1000, []float64{100, 200, 400, 800, 1600, 1200, 1000, 1100}, 1000, "narrowed"},
		// a finer resolution takes more bisection steps, and still brackets the capacity.
		{"fine resolution", search(10, 1000, 3, 0.02), 100, []float64{10, 30, 90, 270, 180, 135, 112.5, 101.25, 95.625, 98.4375, 99.84375}, 99.84375, "narrowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := (&Scenario{Name: "x", Duration: time.Minute, Rate: tc.rate, Population: Population{Users: 1, Tiers: atlas.DefaultTierMix(), Conversations: 1, Messages: 1},
				Mix: []MixEntry{{Method: "GET", Path: "/api/me", Weight: 1}}}).Validate(); err != nil {
				t.Fatalf("rate does not validate: %v", err)
			}
			tried, s := runSearch(t, tc.rate, tc.capacity)
			if !equalRates(tried, tc.tried) {
				t.Errorf("tried %v, want %v", tried, tc.tried)
			}
			if s.Held() != tc.held {
				t.Errorf("held %g, want %g", s.Held(), tc.held)
			}
			if !strings.Contains(s.Why(), tc.why) {
				t.Errorf("why %q, want it to say %q", s.Why(), tc.why)
			}
			if s.Held() > tc.capacity {
				t.Errorf("held %g above the capacity %g", s.Held(), tc.capacity)
			}
			if m := s.Missed(); m != 0 && s.Held() > 0 && (m-s.Held())/s.Held() > tc.rate.Search.Effective().Resolution+1e-9 && !strings.Contains(s.Why(), "first") {
				t.Errorf("stopped with held %g and missed %g: wider than the resolution", s.Held(), m)
			}
		})
	}
}

// TestSearchStateBracketsEveryCapacity sweeps capacities over the range: the answer is
// always at most the capacity and within the resolution of it.
func TestSearchStateBracketsEveryCapacity(t *testing.T) {
	r := Rate{Shape: ShapeSearch, From: 20, To: 5000, Search: Search{SLO: "latency.p99 <= 50ms", Factor: 1.7, Resolution: 0.05}}
	for c := 20.0; c < 5000; c *= 1.13 {
		_, s := runSearch(t, r, c)
		if s.Held() > c || s.Held() < c/(1.05+1e-9) {
			t.Errorf("capacity %g: held %g, want within 5%% below", c, s.Held())
		}
	}
}

func TestParseSLO(t *testing.T) {
	good := []struct {
		in  string
		q   float64
		max time.Duration
	}{{"latency.p99 <= 50ms", 0.99, 50 * time.Millisecond}, {" latency.p50<1s ", 0.5, time.Second}, {"latency.p99.9 <= 200ms", 0.999, 200 * time.Millisecond}}
	for _, g := range good {
		s, err := ParseSLO(g.in)
		if err != nil || math.Abs(s.Quantile-g.q) > 1e-12 || s.Max != g.max {
			t.Errorf("ParseSLO(%q) = %+v, %v; want q %g max %s", g.in, s, err, g.q, g.max)
		}
	}
	for _, bad := range []string{"", "p99 <= 50ms", "latency.p99 >= 50ms", "latency.p0 <= 5ms", "latency.p99 <= 50", "latency.p99 <= -5ms", "errors == 0"} {
		if _, err := ParseSLO(bad); err == nil {
			t.Errorf("ParseSLO(%q): no error", bad)
		}
	}
}

func TestParseSearch(t *testing.T) {
	sc, err := Parse("s.yaml", []byte(`duration: 60s
rate: {shape: search, slo: "latency.p99 <= 20ms", from: 50, to: 800, factor: 1.5, resolution: 0.05, step_duration: 3s, settle: 500ms}
mix: [{req: "GET /api/me", weight: 1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Search{SLO: "latency.p99 <= 20ms", Factor: 1.5, Resolution: 0.05, StepDuration: 3 * time.Second, Settle: 500 * time.Millisecond}
	if !sc.Rate.Searching() || sc.Rate.From != 50 || sc.Rate.To != 800 || sc.Rate.Search != want {
		t.Errorf("rate = %+v", sc.Rate)
	}
	if sc.Schedule().Hits() != 0 {
		t.Errorf("a search has a schedule of %d hits, want none (decided while it runs)", sc.Schedule().Hits())
	}

	_, err = Parse("s.yaml", []byte(`duration: 2s
rate: {shape: search, slo: "p99 < 20", from: 5, to: 5, factor: 1, resolution: 2, step_duration: 2s, workers: 3}
mix: [{req: "GET /api/me", weight: 1}]
faults: [{at: 1s, do: kill-redis}]
`))
	wantErr := `s.yaml:2: rate.workers: not a field of shape search (it takes slo, from, to, factor, resolution, step_duration, settle)
s.yaml:1: duration: 2s is shorter than one step of the search (settle 1s + step_duration 2s): the duration caps the search
s.yaml:2: rate.slo: "p99 < 20" is not of the form "latency.p99 <= 50ms"
s.yaml:2: rate.to: must be > from (5) and <= ` + fmt.Sprintf("%g", MaxRPS) + `, got 5
s.yaml:2: rate.factor: must be > 1 and <= 10 (the climb's ratio from one step to the next), got 1
s.yaml:2: rate.resolution: must be > 0 and < 1 (e.g. 0.1: narrow down to within 10%), got 2
s.yaml:2: rate.step_duration: 2s at from: 5 rps is 10 requests: a step needs at least 20 to judge
s.yaml:4: faults: a capacity search (rate.shape search) runs no faults: its steps must be comparable`
	if err == nil || !sameLines(err.Error(), wantErr) {
		t.Errorf("errors:\n%v\nwant (any order):\n%s", err, wantErr)
	}
}

func equalRates(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}

// sameLines compares two multi-line texts as sets of lines.
func sameLines(a, b string) bool {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) {
		return false
	}
	seen := map[string]int{}
	for _, l := range la {
		seen[l]++
	}
	for _, l := range lb {
		if seen[l] == 0 {
			return false
		}
		seen[l]--
	}
	return true
}
