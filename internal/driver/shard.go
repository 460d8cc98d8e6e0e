package driver

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/scenarios"
)

// Shard is one share of a scenario's users, for a run split across load generators
// (bench run -shard 2/3). User u (1-based) belongs to shard ((u-1) mod Count)+1, so the
// hottest users of a skewed key distribution spread over the shards instead of all landing
// in the first. A user's whole life (tier, conversations, writes, the checks on them) stays
// in its shard. The zero Shard is the whole run.
type Shard struct {
	Index int // 1-based
	Count int // how many shards; 0 or 1 with Index 0: not sharded
}

// ParseShard reads "i/N" (1 <= i <= N).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("shard %q: want i/N with 1 <= i <= N, e.g. 2/3", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// Sharded reports whether s names a shard (1/1 included) rather than the whole run.
func (s Shard) Sharded() bool { return s.Count >= 1 && s.Index >= 1 }

// Owns reports whether user u (1-based) is in the shard.
func (s Shard) Owns(u int) bool {
	return !s.Sharded() || (u-1)%s.Count == s.Index-1
}

// String is "i/N", or "" for the whole run.
func (s Shard) String() string {
	if !s.Sharded() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// shardSchedule is the part of the whole run's schedule a shard sends: its n-th hit is the
// whole plan's idx[n]-th request, sent at that request's time. The shards together send
// every request of the unsharded run at the same instant, so their rates add up to the
// scenario's rate on the same shape.
type shardSchedule struct {
	whole scenarios.Schedule
	idx   []uint64
	share float64 // 1/Count, for RateAt
}

// newShardSchedule lists the requests of the whole plan that fall in shard s. Which user a
// request is for comes from the plan's users stream alone (one draw per request), so the
// list is computed without planning the requests themselves.
func newShardSchedule(sc *scenarios.Scenario, whole scenarios.Schedule, s Shard) *shardSchedule {
	users := sc.Keys.Sampler(sc.Population.Users, rand.New(rand.NewPCG(uint64(sc.Seed), streamUsers)))
	ss := &shardSchedule{whole: whole, share: 1 / float64(s.Count)}
	for n := range whole.Hits() {
		if s.Owns(users()) {
			ss.idx = append(ss.idx, n)
		}
	}
	return ss
}

// At is the time of the shard's n-th hit.
func (s *shardSchedule) At(n uint64) (time.Duration, bool) {
	if n >= uint64(len(s.idx)) {
		at, _ := s.whole.At(s.whole.Hits())
		return at, false
	}
	return s.whole.At(s.idx[n])
}

// Hits is how many requests the shard sends.
func (s *shardSchedule) Hits() uint64 { return uint64(len(s.idx)) }

// RateAt is the shard's expected share of the target rate.
func (s *shardSchedule) RateAt(t time.Duration) float64 { return s.whole.RateAt(t) * s.share }

// nextOwned plans requests until one is for a user of the shard: the whole plan's sequence
// is walked (so every random stream advances as in the unsharded run) and the others'
// requests dropped.
func (p *Plan) nextOwned(s Shard) (*Request, error) {
	for {
		r, err := p.Next()
		if err != nil || s.Owns(r.UserIndex) {
			return r, err
		}
	}
}
