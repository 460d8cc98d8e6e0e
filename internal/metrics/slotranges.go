package metrics

import (
	"fmt"
	"math"
	"sync"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// SlotRanges tallies the X-Cache outcome of every measured cacheable read per Redis
// Cluster slot range (a master and its replicas: what Redis calls a shard) and per second:
// the harness knows each user's hash slot (all of a user's keys share it) and the slot
// ranges. Add is safe for concurrent use.
type SlotRanges struct {
	names   []string // "slots-1", …
	slots   []string // "0-5460", …
	rangeOf func(userID string) int

	mu   sync.Mutex
	secs [][]rangeTally // [second][slot range]
}

// rangeTally counts lookups by outcome.
type rangeTally struct{ hits, misses, bypasses int64 }

func (t rangeTally) lookups() int64 { return t.hits + t.misses + t.bypasses }

// NewSlotRanges tallies len(slots) slot ranges; rangeOf maps a user ID to its 1-based slot
// range and slots[i] describes slot range i+1 for the summary ("0-5460").
func NewSlotRanges(slots []string, rangeOf func(userID string) int) *SlotRanges {
	s := &SlotRanges{slots: slots, rangeOf: rangeOf}
	for i := range slots {
		s.names = append(s.names, fmt.Sprintf("slots-%d", i+1))
	}
	return s
}

// Add counts one verdict: a measured GET of the scenario's mix whose answer carries
// X-Cache HIT, MISS or BYPASS.
func (s *SlotRanges) Add(v check.Verdict) {
	if v.Warmup || v.Req == nil || v.Req.Attack != "" || v.Req.Write || v.Res == nil || v.Error != "" {
		return
	}
	var field func(*rangeTally) *int64
	switch v.Res.Headers.Get("X-Cache") {
	case "HIT":
		field = func(t *rangeTally) *int64 { return &t.hits }
	case "MISS":
		field = func(t *rangeTally) *int64 { return &t.misses }
	case "BYPASS":
		field = func(t *rangeTally) *int64 { return &t.bypasses }
	default:
		return
	}
	rng := s.rangeOf(v.Req.UserID) - 1
	sec := int(v.Intended.Seconds())
	if rng < 0 || rng >= len(s.names) || sec < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.secs) <= sec {
		s.secs = append(s.secs, make([]rangeTally, len(s.names)))
	}
	*field(&s.secs[sec][rng])++
}

// SlotRangeFigures are the slot ranges' figures over a measured window.
type SlotRangeFigures struct {
	// Whole is each slot range's figures over the whole window.
	Whole []summary.SlotRange
	// Series is the per-second hit rate of each slot range (-1: no lookups that second).
	Series map[string][]float64
	// ByPhase is, index for index with the phases given to Finish, each slot range's
	// figures over a fault phase with its recovery time (nil for other phases).
	ByPhase [][]summary.SlotRange
}

// Finish returns the slot ranges' figures over the window of duration seconds and over
// each fault phase of phases (which it does not change).
func (s *SlotRanges) Finish(duration float64, phases []summary.Phase) SlotRangeFigures {
	s.mu.Lock()
	defer s.mu.Unlock()
	nsec := int(math.Ceil(duration))
	series := map[string][]float64{}
	for i, name := range s.names {
		hr := make([]float64, nsec)
		for sec := range hr {
			hr[sec] = -1
			if sec < len(s.secs) {
				if t := s.secs[sec][i]; t.lookups() > 0 {
					hr[sec] = float64(t.hits) / float64(t.lookups())
				}
			}
		}
		series[name] = hr
	}
	whole := make([]summary.SlotRange, len(s.names))
	for i := range s.names {
		whole[i] = s.figures(i, 0, duration)
	}
	// Steady level of each slot range: the steady phase's hit rate.
	steady := make([]float64, len(s.names))
	for i := range steady {
		steady[i] = math.NaN()
	}
	for _, p := range phases {
		if p.Name == summary.PhaseSteady {
			for i := range s.names {
				steady[i] = s.figures(i, p.StartS, p.EndS).HitRate
			}
		}
	}
	byPhase := make([][]summary.SlotRange, len(phases))
	for pi := range phases {
		p := phases[pi]
		if p.Fault == "" || p.Name == summary.PhaseRecovery {
			continue
		}
		// Recovery is looked for until the next fault phase (not a recovery) or the end.
		until := duration
		for _, q := range phases[pi+1:] {
			if q.Fault != "" && q.Name != summary.PhaseRecovery {
				until = q.StartS
				break
			}
		}
		for i, name := range s.names {
			f := s.figures(i, p.StartS, p.EndS)
			f.BackAfterS = rangeRecovery(series[name], steady[i], p.StartS, until)
			byPhase[pi] = append(byPhase[pi], f)
		}
	}
	return SlotRangeFigures{Whole: whole, Series: series, ByPhase: byPhase}
}

// figures sums slot range i's tallies over the seconds whose start falls in [start, end).
func (s *SlotRanges) figures(i int, start, end float64) summary.SlotRange {
	var t rangeTally
	for sec := max(int(math.Ceil(start)), 0); sec < len(s.secs) && float64(sec) < end; sec++ {
		x := s.secs[sec][i]
		t.hits, t.misses, t.bypasses = t.hits+x.hits, t.misses+x.misses, t.bypasses+x.bypasses
	}
	f := summary.SlotRange{Name: s.names[i], Slots: s.slots[i], Lookups: t.lookups()}
	if n := t.lookups(); n > 0 {
		f.HitRate = float64(t.hits) / float64(n)
		f.BypassShare = float64(t.bypasses) / float64(n)
	}
	return f
}

// rangeRecovery is the time from start until the first whole second (by until) whose
// hit rate hr is back at RecoveryShare of steady after having fallen below it: 0 when it
// never fell, nil when it was not back by until or there is no steady level. Seconds
// without lookups (-1) do not count either way.
func rangeRecovery(hr []float64, steady, start, until float64) *float64 {
	if !(steady > 0) {
		return nil
	}
	const eps = 1e-9
	level := RecoveryShare*steady - eps
	fell := false
	for i := max(int(math.Floor(start)), 0); i < len(hr) && float64(i)+1 <= until+eps; i++ {
		switch {
		case hr[i] < 0:
		case hr[i] < level:
			fell = true
		case fell:
			r := math.Round(math.Max(float64(i)-start, 0)*1000) / 1000
			return &r
		}
	}
	if !fell {
		r := 0.0
		return &r
	}
	return nil
}
