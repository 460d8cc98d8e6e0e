package metrics

import (
	"math"
	"slices"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// counters are the server's cumulative counters, flattened: "cache/<class>/hits" (and
// misses, errors, bypasses), "db/total", "db/<class>", "requests".
type counters map[string]float64

func flatten(s atlas.Stats) counters {
	c := counters{"requests": float64(s.Requests), "db/total": float64(s.DB.Total)}
	for cl, cs := range s.Cache {
		class := string(cl)
		c["cache/"+class+"/hits"] = float64(cs.Hits)
		c["cache/"+class+"/misses"] = float64(cs.Misses)
		c["cache/"+class+"/errors"] = float64(cs.Errors)
		c["cache/"+class+"/bypasses"] = float64(cs.Bypasses)
	}
	for class, n := range s.DB.ByClass {
		c["db/"+class] = float64(n)
	}
	return c
}

// lookups is hits + misses + bypasses of a class: the cache counts exactly one of them per
// lookup (its errors are failed Redis calls, already counted as bypasses).
func (c counters) lookups(class string) (hits, lookups float64) {
	h := c["cache/"+class+"/hits"]
	return h, h + c["cache/"+class+"/misses"] + c["cache/"+class+"/bypasses"]
}

// hitRate of a class, or of the four classes together for "overall"; -1 without lookups.
func (c counters) hitRate(class string) float64 {
	var h, n float64
	if class == summary.Overall {
		for _, cl := range summary.CacheClasses() {
			a, b := c.lookups(cl)
			h, n = h+a, n+b
		}
	} else {
		h, n = c.lookups(class)
	}
	if n <= 0 {
		return -1
	}
	return h / n
}

// hitRates is the summary form (0 for a class without lookups).
func (c counters) hitRates() summary.HitRate {
	z := func(x float64) float64 { return max(x, 0) }
	return summary.NewHitRate(func(class string) float64 { return z(c.hitRate(class)) })
}

// counterSeries is the counters over time, adjusted for server restarts (a counter that
// goes down restarted from 0), so that they can be read at any offset by interpolation.
type counterSeries struct {
	t []float64 // seconds from the origin, increasing
	v []counters
}

// newCounterSeries builds the series of snaps (in time order) with offsets from origin.
func newCounterSeries(snaps []Snapshot, origin time.Time) *counterSeries {
	cs := &counterSeries{}
	prevRaw, adj := counters{}, counters{}
	for _, s := range snaps {
		raw := flatten(s.Stats)
		next := counters{}
		keys := map[string]bool{}
		for k := range raw {
			keys[k] = true
		}
		for k := range adj {
			keys[k] = true
		}
		for k := range keys {
			r, p := raw[k], prevRaw[k]
			if r >= p {
				next[k] = adj[k] + (r - p)
			} else {
				next[k] = adj[k] + r // restarted from 0
			}
		}
		t := s.At.Sub(origin).Seconds()
		if n := len(cs.t); n > 0 && t <= cs.t[n-1] {
			cs.v[n-1] = next // same instant: keep the later reading
		} else {
			cs.t = append(cs.t, t)
			cs.v = append(cs.v, next)
		}
		prevRaw, adj = raw, next
	}
	return cs
}

// at interpolates the counters at offset t; false outside the polled span.
func (cs *counterSeries) at(t float64) (counters, bool) {
	n := len(cs.t)
	if n == 0 || t < cs.t[0] || t > cs.t[n-1] {
		return nil, false
	}
	i, found := slices.BinarySearch(cs.t, t)
	if found {
		return cs.v[i], true
	}
	a, b := cs.v[i-1], cs.v[i]
	f := (t - cs.t[i-1]) / (cs.t[i] - cs.t[i-1])
	out := counters{}
	for k, vb := range b {
		out[k] = a[k] + (vb-a[k])*f
	}
	return out, true
}

// delta is the counters' growth over [from, to], clipped to the polled span, and the length
// of the part covered; false when none of it is.
func (cs *counterSeries) delta(from, to float64) (counters, float64, bool) {
	n := len(cs.t)
	if n < 2 {
		return nil, 0, false
	}
	from, to = math.Max(from, cs.t[0]), math.Min(to, cs.t[n-1])
	if to <= from {
		return nil, 0, false
	}
	a, _ := cs.at(from)
	b, _ := cs.at(to)
	d := counters{}
	for k, vb := range b {
		d[k] = vb - a[k]
	}
	return d, to - from, true
}

// HitRateWithin is the servers' counters' hit rate per class over [from, to) seconds from
// origin (the start of the measured window), from the polled snapshots; false without
// polls spanning part of it.
func HitRateWithin(snaps []Snapshot, origin time.Time, from, to float64) (summary.HitRate, bool) {
	d, _, ok := newCounterSeries(snaps, origin).delta(from, to)
	if !ok {
		return summary.HitRate{}, false
	}
	return d.hitRates(), true
}
