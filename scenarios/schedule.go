package scenarios

import (
	"fmt"
	"math"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Schedule is when each hit of an attack is meant to be sent: the cumulative hit count
// N(t) = ∫rate is inverted so that hit n (0-based) is due at the t where N(t) = n. The
// latency of a hit is measured from At(n), so a load generator that falls behind cannot
// hide it (no coordinated omission).
type Schedule interface {
	At(n uint64) (time.Duration, bool) // offset of the n-th hit (0-based) from attack start; false once past total
	Hits() uint64                      // how many hits fit in total: At(n) is ok exactly for n < Hits()
	RateAt(t time.Duration) float64    // target rps at offset t; 0 outside [0, total)
}

// Schedule returns the send schedule of an attack lasting total with this rate. Pass the
// whole attack, Warmup + Duration (Scenario.Schedule does). A linear rate ramps over all of
// total; a steps rate's last step holds to the end. An invalid rate (see Validate) or a
// total <= 0 gives an empty schedule, and so does the max shape, which has no schedule (the
// driver runs it as a closed loop until total).
//
// At is exact up to the nanosecond rounding for constant, linear and steps (closed forms)
// and within 1µs for sine (bisection on the closed-form N(t), which is monotone).
func (r Rate) Schedule(total time.Duration) Schedule {
	sc := &schedule{total: total}
	var check problems
	check.checkRate(r)
	if total <= 0 || len(check.list) > 0 || r.ClosedLoop() || r.Searching() {
		sc.desc = "empty"
		return sc
	}
	T := total.Seconds()
	var count func(t float64) float64 // N(t), hits due in [0, t)
	switch r.Shape {
	case ShapeConstant, "":
		rps := r.RPS
		sc.desc = fmt.Sprintf("constant %g rps", rps)
		sc.rate = func(float64) float64 { return rps }
		count = func(t float64) float64 { return rps * t }
		sc.inv = func(n float64) float64 { return n / rps }
	case ShapeLinear:
		from, a := r.From, (r.To-r.From)/T // a: slope, rps per second
		sc.desc = fmt.Sprintf("linear %g→%g rps over %s", r.From, r.To, total)
		sc.rate = func(t float64) float64 { return from + a*t }
		count = func(t float64) float64 { return from*t + a*t*t/2 }
		sc.inv = func(n float64) float64 {
			if n == 0 {
				return 0
			}
			// a/2·t² + from·t − n = 0, in the form that is stable for a → 0.
			disc := from*from + 2*a*n
			den := from + math.Sqrt(disc)
			if disc < 0 || den <= 0 {
				return math.Inf(1)
			}
			return 2 * n / den
		}
	case ShapeSine:
		mean, amp, w := r.Mean, r.Amp, 2*math.Pi/r.Period.Seconds()
		sc.desc = fmt.Sprintf("sine %g±%g rps / %s", r.Mean, r.Amp, r.Period)
		sc.rate = func(t float64) float64 { return mean + amp*math.Sin(w*t) }
		count = func(t float64) float64 { return mean*t + amp/w*(1-math.Cos(w*t)) }
		sc.inv = func(n float64) float64 {
			// mean·t <= N(t) <= mean·t + 2·amp/w brackets the root.
			lo, hi := math.Max(0, (n-2*amp/w)/mean), n/mean
			for hi-lo > 1e-11 {
				mid := lo + (hi-lo)/2
				if mid <= lo || mid >= hi {
					break
				}
				if count(mid) < n {
					lo = mid
				} else {
					hi = mid
				}
			}
			return lo + (hi-lo)/2
		}
	case ShapeSteps:
		steps := newStepTable(r.Steps)
		var parts []string
		for i, st := range r.Steps {
			if i < len(r.Steps)-1 {
				parts = append(parts, fmt.Sprintf("%g rps for %s", st.RPS, st.For))
			} else {
				parts = append(parts, fmt.Sprintf("%g rps", st.RPS))
			}
		}
		sc.desc = "steps " + strings.Join(parts, ", ")
		sc.rate = steps.rate
		count = steps.count
		sc.inv = steps.inv
	}
	sc.hits = sc.countHits(count(T))
	return sc
}

// schedule is a Schedule over the closed forms of one rate shape. Its zero value is empty.
type schedule struct {
	total time.Duration
	hits  uint64
	rate  func(t float64) float64 // rps at t seconds
	inv   func(n float64) float64 // seconds from the start to hit n; +Inf when never
	desc  string
}

// At returns the offset of hit n, or false when it is not due before total.
func (s *schedule) At(n uint64) (time.Duration, bool) {
	if n >= s.hits {
		return s.total, false
	}
	return s.offset(n), true
}

// Hits returns how many hits are due before total.
func (s *schedule) Hits() uint64 { return s.hits }

// RateAt returns the target rate at offset t.
func (s *schedule) RateAt(t time.Duration) float64 {
	if s.rate == nil || t >= s.total {
		return 0
	}
	return s.rate(max(t, 0).Seconds())
}

// String describes the schedule, e.g. "constant 200 rps".
func (s *schedule) String() string { return s.desc }

// offset is hit n's due time, rounded to the nanosecond.
func (s *schedule) offset(n uint64) time.Duration {
	sec := s.inv(float64(n))
	if !(sec < float64(math.MaxInt64)/1e9) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(math.Round(sec * 1e9))
}

// countHits turns N(total), the expected count, into the exact number of n with
// offset(n) < total (the smallest n with offset(n) >= total), so that At and Hits agree to
// the nanosecond. A binary search, as offset is monotone: no walk however far off est is.
func (s *schedule) countHits(est float64) uint64 {
	if !(est > 0) {
		return 0
	}
	const limit = 1 << 62
	hi := uint64(math.Min(math.Ceil(est), limit)) + 1
	for hi < limit && s.offset(hi) < s.total {
		hi *= 2
	}
	lo := uint64(0)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if s.offset(mid) < s.total {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// stepTable is a steps rate as segments starting at start[i] seconds (the last one open).
type stepTable struct {
	start []float64 // seconds
	dur   []float64 // seconds; +Inf for the last step
	rps   []float64
}

func newStepTable(steps []Step) stepTable {
	var t stepTable
	at := 0.0
	for i, st := range steps {
		d := st.For.Seconds()
		if i == len(steps)-1 {
			d = math.Inf(1)
		}
		t.start = append(t.start, at)
		t.dur = append(t.dur, d)
		t.rps = append(t.rps, st.RPS)
		at += d
	}
	return t
}

func (t stepTable) rate(sec float64) float64 {
	for i := len(t.start) - 1; i >= 0; i-- {
		if sec >= t.start[i] {
			return t.rps[i]
		}
	}
	return 0
}

func (t stepTable) count(sec float64) float64 {
	c := 0.0
	for i := range t.start {
		if sec <= t.start[i] {
			break
		}
		c += t.rps[i] * math.Min(sec-t.start[i], t.dur[i])
	}
	return c
}

// inv finds the step in which the cumulative count passes n. A hit that would fall on the
// boundary into a step with rate 0 is due at the start of the next step that sends.
func (t stepTable) inv(n float64) float64 {
	c := 0.0
	for i := range t.start {
		if t.rps[i] > 0 {
			if n < c+t.rps[i]*t.dur[i] {
				return t.start[i] + (n-c)/t.rps[i]
			}
			c += t.rps[i] * t.dur[i]
		}
	}
	return math.Inf(1)
}

// NewPacer returns a vegeta.Pacer that sends hit n at s.At(n) after the attack's start and
// stops the attack after the last hit. When the attacker is behind it sends at once
// (wait 0), so hits are never skipped, only late — and their latency counts from At(n).
func NewPacer(s Schedule) vegeta.Pacer { return pacer{s} }

// pacer adapts a Schedule to vegeta.Pacer.
type pacer struct{ s Schedule }

// Pace returns how long to wait before hit number hits (0-based), or stop after the last.
func (p pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	at, ok := p.s.At(hits)
	if !ok {
		return 0, true
	}
	if at <= elapsed {
		return 0, false
	}
	return at - elapsed, false
}

// Rate returns the target rate at elapsed.
func (p pacer) Rate(elapsed time.Duration) float64 { return p.s.RateAt(elapsed) }

// String describes the schedule the pacer follows.
func (p pacer) String() string { return fmt.Sprint(p.s) }
