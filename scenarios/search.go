package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"
)

// Search is a capacity search (rate shape search): the offered rate rises in steps from
// Rate.From, each step long enough to settle, until a step misses the SLO; then it narrows
// down between the last step that held and the first that did not, to Resolution, and
// stops. Zero values mean the defaults below.
type Search struct {
	SLO          string        // e.g. "latency.p99 <= 50ms"; a step also needs no error and its rate achieved
	Factor       float64       // the climb multiplies the rate by Factor each step; default DefaultSearchFactor
	Resolution   float64       // stop once (fail − pass) / pass <= Resolution; default DefaultSearchResolution
	StepDuration time.Duration // the judged part of a step; default DefaultSearchStep
	Settle       time.Duration // the start of each step not judged (queues fill or drain); default DefaultSearchSettle
}

// Defaults of a capacity search.
const (
	DefaultSearchFactor     = 2.0
	DefaultSearchResolution = 0.1
	DefaultSearchStep       = 4 * time.Second
	DefaultSearchSettle     = time.Second
)

// Effective returns s with its defaults filled in.
func (s Search) Effective() Search {
	if s.Factor == 0 {
		s.Factor = DefaultSearchFactor
	}
	if s.Resolution == 0 {
		s.Resolution = DefaultSearchResolution
	}
	if s.StepDuration == 0 {
		s.StepDuration = DefaultSearchStep
	}
	if s.Settle == 0 {
		s.Settle = DefaultSearchSettle
	}
	return s
}

// SLO is what a step of a capacity search must hold: its latency quantile Quantile at most
// Max. (No error and the offered rate achieved are always required besides.)
type SLO struct {
	Text     string        // as written, e.g. "latency.p99 <= 50ms"
	Quantile float64       // in (0, 1), e.g. 0.99
	Max      time.Duration // inclusive
}

var sloPattern = regexp.MustCompile(`^\s*latency\.p(\d{1,2}(?:\.\d+)?)\s*(<=|<)\s*(\S+)\s*$`)

// ParseSLO reads an SLO of the form "latency.pNN <= DURATION" (NN from 1 to 99.9…; "<" is
// read as "<=").
func ParseSLO(text string) (SLO, error) {
	m := sloPattern.FindStringSubmatch(text)
	if m == nil {
		return SLO{}, fmt.Errorf("%q is not of the form \"latency.p99 <= 50ms\"", text)
	}
	q, err := strconv.ParseFloat(m[1], 64)
	if err != nil || q <= 0 || q >= 100 {
		return SLO{}, fmt.Errorf("%q: the quantile p%s must be between p1 and p99.9…", text, m[1])
	}
	d, err := time.ParseDuration(m[3])
	if err != nil || d <= 0 {
		return SLO{}, fmt.Errorf("%q: %q is not a duration > 0 (e.g. 50ms)", text, m[3])
	}
	return SLO{Text: text, Quantile: q / 100, Max: d}, nil
}

// SearchState is where a capacity search stands: the state machine alone, fed the verdict of
// each step by whoever measured it. Use NewSearchState, then Next and Record in turn.
type SearchState struct {
	from, to, factor, resolution float64
	next                         float64 // the rate of the next step; 0 when done
	pass, fail                   float64 // highest rate that held, lowest that failed (0: none yet)
	bisecting                    bool
	why                          string
}

// NewSearchState starts a search over r (a search rate; see Rate.Search for the defaults).
func NewSearchState(r Rate) *SearchState {
	s := r.Search.Effective()
	return &SearchState{from: r.From, to: r.To, factor: s.Factor, resolution: s.Resolution, next: r.From}
}

// Next is the rate of the next step; false when the search is over.
func (s *SearchState) Next() (float64, bool) { return s.next, s.next > 0 }

// Record takes the verdict of the step at rps (the rate Next gave) and decides the next.
func (s *SearchState) Record(rps float64, held bool) {
	if s.next <= 0 {
		return
	}
	if held {
		s.pass = max(s.pass, rps)
	} else if s.fail == 0 || rps < s.fail {
		s.fail = rps
	}
	switch {
	case !s.bisecting && held && rps >= s.to:
		s.stop(fmt.Sprintf("held up to the search's top rate (to: %g)", s.to))
	case !s.bisecting && held:
		s.next = math.Min(rps*s.factor, s.to)
	case s.pass == 0:
		s.stop(fmt.Sprintf("the first step (from: %g) already missed the SLO", s.from))
	default:
		// Every rate tried lies between the bounds (the climb's passes are below its first
		// failure, a bisection's step between pass and fail), so pass < fail.
		s.bisecting = true
		if (s.fail-s.pass)/s.pass <= s.resolution {
			s.stop(fmt.Sprintf("narrowed to within %g%% (held at %g, missed at %g)", s.resolution*100, s.pass, s.fail))
			return
		}
		s.next = s.pass + (s.fail-s.pass)/2
	}
}

func (s *SearchState) stop(why string) { s.next, s.why = 0, why }

// Held is the highest rate a step held the SLO at; 0 when none did.
func (s *SearchState) Held() float64 { return s.pass }

// Missed is the lowest rate a step missed the SLO at; 0 when none did.
func (s *SearchState) Missed() float64 { return s.fail }

// Why says why the search stopped ("" while it runs).
func (s *SearchState) Why() string { return s.why }
