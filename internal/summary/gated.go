package summary

import "math"

// Metric is a gated metric: a figure bench run keeps per repeat (Summary.Samples), bench gate
// compares with a baseline's and bench compare tabulates. Path is its Samples key and
// threshold path ("latency.p99"); the no-cache figures of a both-mode run are gated too,
// under "nocache." + Path, except the hit rates.
type Metric struct {
	Path  string
	Label string // for tables: "p99 latency"
	// Key marks the key figures: the rows of bench compare's table.
	Key bool
	// CacheOnly marks the figures of the cache's hits (hit rates, the server's time of its
	// hits): a no-cache run makes no lookups, its zero hit rates are not figures.
	CacheOnly bool
	// Effect marks what the cache bought against no cache (both modes only): it has no
	// "nocache." twin.
	Effect bool

	figure func(f *Figures) float64
	effect func(reduction *float64, sp *Speedup) float64
}

// GatedMetrics lists the gated metrics in a fixed order: hit rates, latency, DB queries and
// the cache's effect, throughput, then the strict counts.
func GatedMetrics() []Metric {
	fig := func(path, label string, key bool, v func(f *Figures) float64) Metric {
		return Metric{Path: path, Label: label, Key: key, figure: v}
	}
	// hitOpt is a figure of the cache's hits that a run may lack (ok false): it has no
	// sample then, and a no-cache run never has one.
	hitOpt := func(path, label string, v func(f *Figures) (float64, bool)) Metric {
		return Metric{Path: path, Label: label, CacheOnly: true, figure: func(f *Figures) float64 {
			if x, ok := v(f); ok {
				return x
			}
			return math.NaN()
		}}
	}
	hit := func(class string) Metric {
		return Metric{Path: "hit_rate." + class, Label: class + " hit rate", Key: true, CacheOnly: true,
			figure: func(f *Figures) float64 { v, _ := f.HitRate.Of(class); return v }}
	}
	eff := func(path, label string, key bool, v func(red *float64, sp *Speedup) float64) Metric {
		return Metric{Path: path, Label: label, Key: key, Effect: true, effect: v}
	}
	var out []Metric
	for _, class := range HitRateClasses() {
		out = append(out, hit(class))
	}
	return append(out,
		fig("latency.mean", "mean latency", false, func(f *Figures) float64 { return f.Latency.Mean }),
		fig("latency.p50", "p50 latency", true, func(f *Figures) float64 { return f.Latency.P50 }),
		fig("latency.p90", "p90 latency", false, func(f *Figures) float64 { return f.Latency.P90 }),
		fig("latency.p99", "p99 latency", true, func(f *Figures) float64 { return f.Latency.P99 }),
		fig("service_time.p50", "p50 service time", false, func(f *Figures) float64 { return f.ServiceTime.P50 }),
		fig("service_time.p99", "p99 service time", false, func(f *Figures) float64 { return f.ServiceTime.P99 }),
		hitOpt("server_latency.hit_p50", "server p50 of cache hits", func(f *Figures) (float64, bool) {
			if f.ServerLatency == nil || f.ServerLatency.HitRequests == 0 {
				return 0, false
			}
			return f.ServerLatency.HitP50, true
		}),
		fig("db_queries.per_request", "DB queries/request", true, func(f *Figures) float64 { return f.DBQueries.PerRequest }),
		eff("db_query_reduction", "DB-query reduction vs no cache", true, func(red *float64, _ *Speedup) float64 { return *red }),
		eff("speedup.p50", "p50 speed-up vs no cache", true, func(_ *float64, sp *Speedup) float64 { return sp.P50 }),
		eff("speedup.mean", "mean speed-up vs no cache", false, func(_ *float64, sp *Speedup) float64 { return sp.Mean }),
		fig("rate.achieved", "achieved rate", false, func(f *Figures) float64 { return f.Rate.Achieved }),
		fig("success_ratio", "success ratio", false, func(f *Figures) float64 { return f.SuccessRatio }),
		fig("errors", "errors", true, func(f *Figures) float64 { return float64(f.Errors) }),
		fig("isolation_violations", "isolation violations", true, func(f *Figures) float64 { return float64(f.IsolationViolations) }),
		fig("stale_reads", "stale reads", true, func(f *Figures) float64 { return float64(f.StaleReads) }),
	)
}

// GatedPaths lists every Samples key a run can have, in GatedMetrics order: each metric's
// Path, then the "nocache." twins.
func GatedPaths() []string {
	var out, twins []string
	for _, m := range GatedMetrics() {
		out = append(out, m.Path)
		if !m.Effect && !m.CacheOnly {
			twins = append(twins, "nocache."+m.Path)
		}
	}
	return append(out, twins...)
}

// GatedValues returns one repeat's value of every gated metric, keyed by Samples key: top's
// figures, and with under (the no-cache figures of a both-mode repeat) the "nocache." twins
// and, when the no-cache run made DB queries, the cache's effect. A no-cache top has no
// hit rates.
func GatedValues(top, under *Figures) map[string]float64 {
	out := map[string]float64{}
	var red *float64
	var sp *Speedup
	if under != nil {
		red, sp = Effect(top, under)
	}
	for _, m := range GatedMetrics() {
		switch {
		case m.Effect:
			if red != nil { // both modes, and the no-cache run made DB queries
				out[m.Path] = m.effect(red, sp)
			}
		case m.CacheOnly:
			if top.Mode != ModeNoCache {
				set(out, m.Path, m.figure(top))
			}
		default:
			set(out, m.Path, m.figure(top))
			if under != nil {
				set(out, "nocache."+m.Path, m.figure(under))
			}
		}
	}
	return out
}

// set keeps a figure the run has (NaN: it lacks it).
func set(out map[string]float64, path string, v float64) {
	if !math.IsNaN(v) {
		out[path] = v
	}
}

// Effect is what the cache bought against no cache on the same seeded requests: the
// reduction of DB queries per request (nil when the no-cache run made none) and the
// latency speed-up (0 where the cache's latency is 0).
func Effect(c, nc *Figures) (*float64, *Speedup) {
	var red *float64
	if nc.DBQueries.PerRequest > 0 {
		r := 1 - c.DBQueries.PerRequest/nc.DBQueries.PerRequest
		red = &r
	}
	ratio := func(a, b float64) float64 {
		if b <= 0 {
			return 0
		}
		return a / b
	}
	return red, &Speedup{
		P50:  ratio(nc.Latency.P50, c.Latency.P50),
		P99:  ratio(nc.Latency.P99, c.Latency.P99),
		Mean: ratio(nc.Latency.Mean, c.Latency.Mean),
	}
}
