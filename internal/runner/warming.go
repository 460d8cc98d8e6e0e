package runner

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/ideal"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// warmedUsers is the set of users the ideal cache preloads (ideal.Model.WarmAtStart): the
// seeded users warming may have loaded by the time the user's first request completes.
// Warming takes the active population most recent first, which for a seeded database is
// u1, u2, … (seeding's last_active_at falls with the user number), so it is a prefix: as
// long as the servers' progress lines say, plus the batches in flight (stack.WarmedUsers). nil (every user) without a stack of the harness's or for a
// users file's population, whose warming the harness cannot follow.
func warmedUsers(st *stack.Stack, seeded bool) func(string) bool {
	if st == nil || !seeded {
		return nil
	}
	return func(u string) bool {
		i, ok := seededRank(u)
		if !ok {
			return false
		}
		return i <= st.WarmedUsers()
	}
}

// seededRank is i of a seeded user ID u<i>; false for another ID.
func seededRank(u string) (int, bool) {
	rest, ok := strings.CutPrefix(u, "u")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i > 0
}

// warmingFigures are what the instances' warming at start did and the measured window's
// figures before and after it ended; nil when no instance said anything of its warming.
// An instance still warming at the end of the window counts with its last running totals,
// and Stopped is then summary.WarmRunning.
func warmingFigures(st *stack.Stack, recorded summary.Figures, model *ideal.Model, snaps []metrics.Snapshot, measureStart time.Time, ran float64) *summary.Warming {
	if st == nil {
		return nil
	}
	w := &summary.Warming{}
	var last time.Time
	var ops, said int
	for _, s := range st.Servers {
		r, at, ended, ok := s.Warming()
		if !ok {
			continue
		}
		said++
		w.Active, w.Users = max(w.Active, r.Active), max(w.Users, r.Users)
		w.Keys += r.Keys
		w.Bytes += r.Bytes
		w.TookS = max(w.TookS, r.Took.Seconds())
		w.OpsPerSLimit = r.OpsPerSec
		ops += r.Ops
		if !ended {
			continue
		}
		w.Instances++
		if at.After(last) {
			last, w.Stopped = at, r.Stopped
		}
	}
	if said == 0 {
		return nil
	}
	if w.Instances < len(st.Servers) {
		w.Stopped = summary.WarmRunning
	}
	w.TookS = math.Round(w.TookS*1000) / 1000
	if w.TookS > 0 {
		w.OpsPerS = math.Round(float64(ops) / w.TookS)
	}
	split := ran // warming not over (by every instance) by the end: the whole window is during
	if w.Instances == len(st.Servers) {
		done := math.Round(last.Sub(measureStart).Seconds()*1000) / 1000
		w.DoneS = &done
		split = math.Min(math.Max(math.Ceil(done), 0), ran)
	}
	window := func(start, end float64) *summary.WarmingWindow {
		if end-start < 1 {
			return nil
		}
		ww := &summary.WarmingWindow{StartS: start, EndS: end}
		if hr, ok := metrics.HitRateWithin(snaps, measureStart, start, end); ok {
			ww.HitRate = hr
		}
		if model != nil {
			ww.HitRateIdeal = model.HitRateWithin(start, end)
			ww.Efficiency = ideal.Efficiency(ww.HitRate, ww.HitRateIdeal)
		}
		if ser := recorded.Series; ser != nil {
			for s := int(start); s < int(math.Ceil(end)) && s < len(ser.LatencyP99); s++ {
				ww.LatencyP99MaxMS = math.Max(ww.LatencyP99MaxMS, ser.LatencyP99[s])
			}
		}
		return ww
	}
	w.During = window(0, split)
	w.After = window(split, ran)
	return w
}
