package runner

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// Assemble puts the modes' figures into the summary: the median repeat of each mode as its
// figures (cache on top, no-cache under NoCache), the cache's effect (DB-query reduction and
// speed-up) from those, and every repeat's gated metrics as Samples.
func Assemble(s *summary.Summary, figs map[string][]summary.Figures) {
	cache, nocache := figs["cache"], figs["nocache"]
	switch {
	case len(cache) > 0:
		s.Figures = median(cache)
		if len(nocache) > 0 {
			nc := median(nocache)
			s.NoCache = &nc
		}
	default:
		s.Figures = median(nocache)
	}
	if s.NoCache != nil {
		s.DBQueryReduction, s.Speedup = effect(&s.Figures, s.NoCache)
	}
	n := max(len(cache), len(nocache))
	for i := range n {
		var c, nc *summary.Figures
		if i < len(cache) {
			c = &cache[i]
		}
		if i < len(nocache) {
			nc = &nocache[i]
		}
		top, under := c, nc
		if top == nil {
			top, under = nc, nil
		}
		if top != nil {
			addSamples(s.Samples, "", top)
		}
		if under != nil {
			addSamples(s.Samples, "nocache.", under)
			if red, sp := effect(top, under); red != nil {
				s.Samples["db_query_reduction"] = append(s.Samples["db_query_reduction"], *red)
				s.Samples["speedup.p50"] = append(s.Samples["speedup.p50"], sp.P50)
				s.Samples["speedup.mean"] = append(s.Samples["speedup.mean"], sp.Mean)
			}
		}
	}
}

// median picks the repeat whose p50 latency is the median one (the lower middle for an even
// count) and, with several repeats, records which one it is in Repeat (1-based).
func median(fs []summary.Figures) summary.Figures {
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(fs[a].Latency.P50, fs[b].Latency.P50) })
	i := order[(len(order)-1)/2]
	f := fs[i]
	if len(fs) > 1 {
		f.Repeat = i + 1
	}
	return f
}

// effect is what the cache bought against no cache on the same seeded requests.
func effect(c, nc *summary.Figures) (*float64, *summary.Speedup) {
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
	return red, &summary.Speedup{
		P50:  ratio(nc.Latency.P50, c.Latency.P50),
		P99:  ratio(nc.Latency.P99, c.Latency.P99),
		Mean: ratio(nc.Latency.Mean, c.Latency.Mean),
	}
}

// addSamples appends one repeat's gated metrics under their threshold paths.
func addSamples(m map[string][]float64, prefix string, f *summary.Figures) {
	add := func(k string, v float64) { m[prefix+k] = append(m[prefix+k], v) }
	add("latency.mean", f.Latency.Mean)
	add("latency.p50", f.Latency.P50)
	add("latency.p90", f.Latency.P90)
	add("latency.p99", f.Latency.P99)
	add("service_time.p50", f.ServiceTime.P50)
	add("service_time.p99", f.ServiceTime.P99)
	add("rate.achieved", f.Rate.Achieved)
	add("success_ratio", f.SuccessRatio)
	add("errors", float64(f.Errors))
	add("isolation_violations", float64(f.IsolationViolations))
	add("stale_reads", float64(f.StaleReads))
	add("db_queries.per_request", f.DBQueries.PerRequest)
	if f.Mode == "nocache" {
		return // no cache lookups: hit rates say nothing
	}
	add("hit_rate.tier", f.HitRate.Tier)
	add("hit_rate.userProfile", f.HitRate.UserProfile)
	add("hit_rate.conversations", f.HitRate.Conversations)
	add("hit_rate.apiResponses", f.HitRate.APIResponses)
	add("hit_rate.overall", f.HitRate.Overall)
}

// reachable checks that a -target answers /healthz.
func reachable(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("runner: -target %q: %w", base, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("runner: -target %s unreachable: %w", base, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("runner: -target %s/healthz answered %s", base, res.Status)
	}
	return nil
}
