package driver

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/scenarios"
)

// A capacity search (rate shape search) is one attack whose schedule is decided while it
// runs: each step is a constant rate for settle + step_duration; once every answer of a step
// is in, the step is judged against the SLO on its judged part (after the settle) and the
// search's state machine (scenarios.SearchState) picks the next rate, or stops the attack.
// The pacer waits at a step's end until then, so each step starts with nothing in flight.

// SearchOutcome is what a capacity search found: the steps in the order they ran.
type SearchOutcome struct {
	SLO    string  // as the scenario wrote it
	Held   float64 // the highest offered rate a step held the SLO at; 0 when none did
	Missed float64 // the lowest offered rate a step missed it at; 0 when none did
	Why    string  // why the search stopped
	Steps  []SearchStep
}

// SearchStep is one step of a capacity search, measured by the generator on its judged part
// (the requests planned after the settle).
type SearchStep struct {
	Offered float64 // rps the step was scheduled at
	// WindowStart and WindowEnd are when the judged part was due to start and end (wall
	// clock), for the figures other witnesses sample over the same window.
	WindowStart, WindowEnd time.Time
	Requests               int64 // answers to the judged part's requests
	Errors                 int64 // transport failures, 5xx, statuses the plan did not expect
	// Achieved is the step's answers that ended inside the judged window, per second of it:
	// what the server completed (the settle's late answers balance the window's own that
	// end after it, so a server that keeps up achieves the offered rate).
	Achieved      float64
	P50, P99, Max time.Duration // latency from the intended send time
	Quantile      time.Duration // at the SLO's quantile
	LagP99        time.Duration // how late the generator sent, p99: its own share of a miss
	Held          bool
	Why           string // why it missed ("" when it held)
}

// judge decides whether a step held slo: answers at all, none an error, the quantile within
// the bound and the offered rate achieved (KeptRatio).
func (st *SearchStep) judge(slo scenarios.SLO) {
	var why []string
	switch {
	case st.Requests == 0:
		why = append(why, "no answer")
	default:
		if st.Errors > 0 {
			why = append(why, fmt.Sprintf("%d errors", st.Errors))
		}
		if st.Quantile > slo.Max {
			why = append(why, fmt.Sprintf("p%g %s > %s", slo.Quantile*100, st.Quantile.Round(10*time.Microsecond), slo.Max))
		}
		if st.Achieved < KeptRatio*st.Offered {
			why = append(why, fmt.Sprintf("achieved %.4g of %.4g rps", st.Achieved, st.Offered))
		}
	}
	st.Held = len(why) == 0
	st.Why = strings.Join(why, "; ")
}

// searchSegment is a stretch of constant rate in the attack's schedule.
type searchSegment struct {
	start, dur  time.Duration // from the attack's start
	rps         float64
	first, hits uint64 // the hits (seqs) it holds
	judged      time.Duration
	step        int // index into steps; -1 for the warm-up
}

func (g searchSegment) at(n uint64) time.Duration {
	return g.start + time.Duration(math.Round(float64(n-g.first)/g.rps*1e9))
}

// search is the schedule of a capacity search and its judge: a scenarios.Schedule whose At
// waits at the end of what was decided until the next step is (or the search stopped).
type search struct {
	slo    scenarios.SLO
	state  *scenarios.SearchState
	settle time.Duration
	step   time.Duration
	limit  time.Duration // the attack may not run past it: warm-up + duration
	warmup time.Duration // Record times are from the end of the warm-up
	origin time.Time     // the attack's start, once known
	now    func() time.Duration

	mu      sync.Mutex
	segs    []searchSegment
	changed chan struct{} // closed and replaced at every decision
	done    bool
	haltWhy string // why it stopped when the state machine did not decide it

	// The consumer's side (one goroutine).
	got   []uint64  // answers in, per segment
	accs  []stepAcc // the judged answers, per segment
	steps []SearchStep
}

// stepAcc gathers one step's judged answers.
type stepAcc struct {
	lat, lag  []time.Duration
	errors    int64
	completed int64 // answers (of the whole step) that ended inside the judged window
}

// newSearch plans the warm-up (at the from rate) and the first step.
func newSearch(sc *scenarios.Scenario) (*search, error) {
	slo, err := scenarios.ParseSLO(sc.Rate.Search.SLO)
	if err != nil {
		return nil, fmt.Errorf("driver: scenario %q: rate.slo: %w", sc.Name, err)
	}
	eff := sc.Rate.Search.Effective()
	s := &search{slo: slo, state: scenarios.NewSearchState(sc.Rate), settle: eff.Settle, step: eff.StepDuration,
		limit: sc.Total(), warmup: sc.Warmup, changed: make(chan struct{})}
	s.now = func() time.Duration { return 0 }
	if sc.Warmup > 0 {
		s.add(sc.Rate.From, 0, sc.Warmup, -1)
	}
	rps, _ := s.state.Next()
	s.add(rps, sc.Warmup, s.settle+s.step, 0)
	return s, nil
}

// start sets the attack's start: later steps start no earlier than when they are decided.
func (s *search) start(origin time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.origin = origin
	s.now = func() time.Duration { return time.Since(origin) }
}

// add appends a segment of rps from start (or the end of the last one, if later), for dur.
func (s *search) add(rps float64, start, dur time.Duration, step int) {
	var first uint64
	if n := len(s.segs); n > 0 {
		last := s.segs[n-1]
		first = last.first + last.hits
		start = max(start, last.start+last.dur)
	}
	hits := uint64(max(math.Floor(rps*dur.Seconds()), 1))
	judged := time.Duration(0)
	if step >= 0 {
		judged = s.settle
	}
	s.segs = append(s.segs, searchSegment{start: start, dur: dur, rps: rps, first: first, hits: hits, judged: judged, step: step})
}

// At is the offset of hit n; at the end of what is decided it waits for the next decision.
func (s *search) At(n uint64) (time.Duration, bool) {
	for {
		s.mu.Lock()
		if i := s.find(n); i >= 0 {
			g := s.segs[i]
			s.mu.Unlock()
			return g.at(n), true
		}
		if s.done {
			end := s.end()
			s.mu.Unlock()
			return end, false
		}
		ch := s.changed
		s.mu.Unlock()
		<-ch
	}
}

// find is the index of the segment holding hit n, or -1. Called with mu held.
func (s *search) find(n uint64) int {
	i, _ := slices.BinarySearchFunc(s.segs, n, func(g searchSegment, n uint64) int {
		switch {
		case n < g.first:
			return 1
		case n >= g.first+g.hits:
			return -1
		}
		return 0
	})
	if i < len(s.segs) && n >= s.segs[i].first && n < s.segs[i].first+s.segs[i].hits {
		return i
	}
	return -1
}

// end is where the decided schedule ends. Called with mu held.
func (s *search) end() time.Duration {
	if len(s.segs) == 0 {
		return 0
	}
	g := s.segs[len(s.segs)-1]
	return g.start + g.dur
}

// Hits is how many hits the schedule holds (final once the search is done).
func (s *search) Hits() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 {
		return 0
	}
	g := s.segs[len(s.segs)-1]
	return g.first + g.hits
}

// RateAt is the offered rate at offset t.
func (s *search) RateAt(t time.Duration) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.segs {
		if t >= g.start && t < g.start+g.dur {
			return g.rps
		}
	}
	return 0
}

func (s *search) String() string { return "capacity search, " + s.slo.Text }

// halt stops the search where it is (an interrupt, a cut-off): nothing more is decided.
func (s *search) halt(why string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	if why != "" && s.state.Why() == "" {
		s.haltWhy = why
	}
	close(s.changed)
}

// Pace is the search's vegeta.Pacer: wait until hit n is due. At may have waited for a
// decision, so the wait is from now, not from the elapsed time vegeta measured before.
func (s *search) Pace(_ time.Duration, hits uint64) (time.Duration, bool) {
	at, ok := s.At(hits)
	if !ok {
		return 0, true
	}
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	return max(at-now, 0), false
}

// Rate is the offered rate at elapsed.
func (s *search) Rate(elapsed time.Duration) float64 { return s.RateAt(elapsed) }

// take takes one result (from the consumer), by the segment its hit belongs to (the
// warm-up's last answers may come after the first step's first ones); once a segment's last
// answer is in, its step is judged and the next one decided.
func (s *search) take(rec Record, unexpected bool) {
	s.mu.Lock()
	i := s.find(rec.Res.Seq)
	if i < 0 {
		s.mu.Unlock()
		return
	}
	g := s.segs[i]
	s.mu.Unlock()
	for len(s.got) <= i {
		s.got, s.accs = append(s.got, 0), append(s.accs, stepAcc{})
	}
	s.got[i]++
	a := &s.accs[i]
	if end := rec.End() + s.warmup; g.step >= 0 && end >= g.start+g.judged && end < g.start+g.dur {
		a.completed++ // the settle's answers too: what the server completed in the window
	}
	if g.step >= 0 && g.at(rec.Res.Seq) >= g.start+g.judged {
		a.lat = append(a.lat, rec.Latency)
		a.lag = append(a.lag, rec.Sent-rec.Intended)
		if unexpected {
			a.errors++
		}
	}
	if s.got[i] != g.hits || g.step < 0 {
		return
	}
	done := *a
	s.accs[i] = stepAcc{} // its answers are judged: free them
	s.judge(g, done)
}

// judge closes segment g's step and decides the next.
func (s *search) judge(g searchSegment, a stepAcc) {
	st := SearchStep{Offered: g.rps, Requests: int64(len(a.lat)), Errors: a.errors}
	s.mu.Lock()
	st.WindowStart, st.WindowEnd = s.origin.Add(g.start+g.judged), s.origin.Add(g.start+g.dur)
	s.mu.Unlock()
	slices.Sort(a.lat)
	slices.Sort(a.lag)
	st.P50, st.P99, st.Quantile = quantile(a.lat, 0.5), quantile(a.lat, 0.99), quantile(a.lat, s.slo.Quantile)
	if len(a.lat) > 0 {
		st.Max = a.lat[len(a.lat)-1]
	}
	st.LagP99 = max(quantile(a.lag, 0.99), 0)
	if w := (g.dur - g.judged).Seconds(); w > 0 {
		st.Achieved = float64(a.completed) / w
	}
	st.judge(s.slo)
	s.steps = append(s.steps, st)
	s.state.Record(g.rps, st.Held)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	next, ok := s.state.Next()
	if ok && s.now()+s.settle+s.step > s.limit {
		ok, s.haltWhy = false, fmt.Sprintf("stopped at the duration cap (%s) before the next step at %.4g rps", s.limit, next)
	}
	if ok {
		s.add(next, s.now(), s.settle+s.step, len(s.steps))
	} else {
		s.done = true
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// outcome is what the search found (after the attack).
func (s *search) outcome() *SearchOutcome {
	why := s.state.Why()
	if why == "" {
		why = s.haltWhy
	}
	return &SearchOutcome{SLO: s.slo.Text, Held: s.state.Held(), Missed: s.state.Missed(), Why: why, Steps: s.steps}
}

// quantile of sorted values (nearest rank); 0 when empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// endOffset is where the decided schedule ends, from the attack's start.
func (s *search) endOffset() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end()
}
