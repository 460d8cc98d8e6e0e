package metrics

import (
	"fmt"
	"math"
	"sync"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// Shards tallies the X-Cache outcome of every measured cacheable read per Redis Cluster
// shard and per second: the harness knows each user's hash slot (all of a user's keys
// share it) and the slot ranges. Add is safe for concurrent use.
type Shards struct {
	names   []string // "shard-1", …
	slots   []string // "0-5460", …
	shardOf func(userID string) int

	mu   sync.Mutex
	secs [][]shardTally // [second][shard]
}

// shardTally counts lookups by outcome.
type shardTally struct{ hits, misses, bypasses int64 }

func (t shardTally) lookups() int64 { return t.hits + t.misses + t.bypasses }

// NewShards tallies n shards; shardOf maps a user ID to its 1-based shard and slots[i]
// describes shard i+1's slot range for the summary.
func NewShards(slots []string, shardOf func(userID string) int) *Shards {
	s := &Shards{slots: slots, shardOf: shardOf}
	for i := range slots {
		s.names = append(s.names, fmt.Sprintf("shard-%d", i+1))
	}
	return s
}

// Add counts one verdict: a measured GET of the scenario's mix whose answer carries
// X-Cache HIT, MISS or BYPASS.
func (s *Shards) Add(v check.Verdict) {
	if v.Warmup || v.Req == nil || v.Req.Attack != "" || v.Req.Write || v.Res == nil || v.Error != "" {
		return
	}
	var field func(*shardTally) *int64
	switch v.Res.Headers.Get("X-Cache") {
	case "HIT":
		field = func(t *shardTally) *int64 { return &t.hits }
	case "MISS":
		field = func(t *shardTally) *int64 { return &t.misses }
	case "BYPASS":
		field = func(t *shardTally) *int64 { return &t.bypasses }
	default:
		return
	}
	shard := s.shardOf(v.Req.UserID) - 1
	sec := int(v.Intended.Seconds())
	if shard < 0 || shard >= len(s.names) || sec < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.secs) <= sec {
		s.secs = append(s.secs, make([]shardTally, len(s.names)))
	}
	*field(&s.secs[sec][shard])++
}

// Finish returns the shards' figures over the whole window, the per-second hit rate of
// each shard (-1: no lookups that second) and, into every fault phase of phases, each
// shard's figures over the phase with its recovery time. duration is the measured window
// in seconds.
func (s *Shards) Finish(duration float64, phases []summary.Phase) ([]summary.RedisShard, map[string][]float64) {
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
	whole := make([]summary.RedisShard, len(s.names))
	for i := range s.names {
		whole[i] = s.figures(i, 0, duration)
	}
	// Steady level of each shard: the steady phase's hit rate.
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
	for pi := range phases {
		p := &phases[pi]
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
		p.Shards = nil
		for i, name := range s.names {
			f := s.figures(i, p.StartS, p.EndS)
			f.BackAfterS = shardRecovery(series[name], steady[i], p.StartS, until)
			p.Shards = append(p.Shards, f)
		}
	}
	return whole, series
}

// figures sums shard i's tallies over the seconds whose start falls in [start, end).
func (s *Shards) figures(i int, start, end float64) summary.RedisShard {
	var t shardTally
	for sec := max(int(math.Ceil(start)), 0); sec < len(s.secs) && float64(sec) < end; sec++ {
		x := s.secs[sec][i]
		t.hits, t.misses, t.bypasses = t.hits+x.hits, t.misses+x.misses, t.bypasses+x.bypasses
	}
	f := summary.RedisShard{Name: s.names[i], Slots: s.slots[i], Lookups: t.lookups()}
	if n := t.lookups(); n > 0 {
		f.HitRate = float64(t.hits) / float64(n)
		f.BypassShare = float64(t.bypasses) / float64(n)
	}
	return f
}

// shardRecovery is the time from start until the first whole second (by until) whose
// hit rate hr is back at RecoveryShare of steady after having fallen below it: 0 when it
// never fell, nil when it was not back by until or there is no steady level. Seconds
// without lookups (-1) do not count either way.
func shardRecovery(hr []float64, steady, start, until float64) *float64 {
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
