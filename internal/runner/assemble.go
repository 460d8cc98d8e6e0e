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
func Assemble(s *summary.Summary, figs map[summary.Mode][]summary.Figures) {
	cache, nocache := figs[summary.ModeCache], figs[summary.ModeNoCache]
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
		s.DBQueryReduction, s.Speedup = summary.Effect(&s.Figures, s.NoCache)
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
		if top == nil {
			continue
		}
		for k, v := range summary.GatedValues(top, under) {
			s.Samples[k] = append(s.Samples[k], v)
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
