package report

import (
	"fmt"
	"maps"
	"slices"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// serverSection is the per-instance table of a run with several server instances, with
// the population, its seeding time and the harness's memory.
func serverSection(s *summary.Summary) *section {
	f := &s.Figures
	if len(f.Servers) == 0 && s.Population == nil {
		return nil
	}
	sec := &section{Title: "Server instances and population (" + modeLabel(f) + ")"}
	if p := s.Population; p != nil {
		sec.Lines = append(sec.Lines, line{Text: fmt.Sprintf(
			"%s users (%d conversations of %d messages each), seeded in %.1f s; harness peak RSS %.0f MiB.",
			count(p.Users), p.Conversations, p.Messages, p.SeedingS, f.HarnessRSSMiB)})
	}
	if len(f.Servers) > 0 {
		t := &table{Head: []string{"instance", "requests", "errors", "p99 (ms)", "hit rate (headers)", "peak RSS (MiB)"}, Align: "rrrrrr"}
		for _, sv := range f.Servers {
			hr := dash
			if sv.HitRate >= 0 {
				hr = pct(sv.HitRate)
			}
			t.Rows = append(t.Rows, []string{fmt.Sprint(sv.Server), count(sv.Requests), count(sv.Errors), ms(sv.P99), hr, fmt.Sprintf("%.0f", sv.RSSMiB)})
		}
		sec.Table = t
	}
	return sec
}

// capacitySection states the Redis memory the cache used and what it extrapolates to: the
// line a capacity planner takes away.
func capacitySection(s *summary.Summary, f *summary.Figures) *section {
	c := f.Capacity
	if c == nil || c.CachedUsers == 0 {
		return nil
	}
	mib := func(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
	sec := &section{Title: "Redis capacity (" + modeLabel(f) + ")"}
	sec.Lines = append(sec.Lines,
		line{Text: fmt.Sprintf("%s keys for %s cached users (%.1f keys per user); Redis used %s, %s above an empty server: %.0f bytes per cached user.",
			count(c.Keys), count(c.CachedUsers), c.KeysPerUser, mib(float64(c.UsedMemoryBytes)),
			mib(float64(c.UsedMemoryBytes-c.BaselineBytes)), c.BytesPerUser)},
		line{Text: fmt.Sprintf("At the measured overall hit rate of %s, with the same share of users cached (%s of %s): about %s for 1M users and %s for 10M users; "+
			"every user cached at once would take about %s and %s.",
			pct(c.HitRate), count(c.CachedUsers), count(int64(users(s))), mib(float64(c.Extrapolated["1M"])), mib(float64(c.Extrapolated["10M"])),
			mib(float64(c.BaselineBytes)+c.BytesPerUser*1e6), mib(float64(c.BaselineBytes)+c.BytesPerUser*1e7))},
	)
	t := &table{Head: []string{"key class", "mean MEMORY USAGE (bytes)"}, Align: "mr"}
	for _, class := range slices.Sorted(maps.Keys(c.BytesPerKeyClass)) {
		t.Rows = append(t.Rows, []string{class, fmt.Sprintf("%.0f", c.BytesPerKeyClass[class])})
	}
	sec.Table = t
	sec.Foot = []string{fmt.Sprintf("MEMORY USAGE of %d sampled keys (up to 200 per class); used memory from INFO memory at the end of the window. "+
		"The share of users cached depends on the run's length, key distribution and TTLs.", c.SampledKeys)}
	return sec
}

// users is the seeded population of the run; 0 when unknown.
func users(s *summary.Summary) int {
	if s.Population == nil {
		return 0
	}
	return s.Population.Users
}

// warmingSection says what warming at start loaded and how the requests fared while it ran
// and after: tier hit rate and efficiency before and after it ended, and the worst
// per-second p99 of each part.
func warmingSection(f *summary.Figures) *section {
	w := f.Warming
	if w == nil {
		return nil
	}
	sec := &section{Title: "Warming at start (" + modeLabel(f) + ")"}
	when := "was still running at the end of the window"
	if w.DoneS != nil {
		when = fmt.Sprintf("ended %.1f s into the measured window", *w.DoneS)
		if *w.DoneS < 0 {
			when = fmt.Sprintf("ended %.1f s before the measured window (during the warm-up)", -*w.DoneS)
		}
	}
	sec.Lines = append(sec.Lines, line{Text: fmt.Sprintf(
		"%s of %s active users warmed (%s entries, about %.1f MiB, %d instance(s)) in %.1f s at %.0f Redis commands/s (held to %d/s each); stopped: %s; it %s.",
		count(int64(w.Users)), count(int64(w.Active)), count(int64(w.Keys)), float64(w.Bytes)/(1<<20), w.Instances, w.TookS, w.OpsPerS, w.OpsPerSLimit, w.Stopped, when)})
	t := &table{Head: []string{"window", "seconds", "tier hit rate", "ideal", "efficiency", "overall hit rate", "worst 1 s p99 (ms)"}, Align: "lrrrrrr"}
	for _, r := range []struct {
		name string
		w    *summary.WarmingWindow
	}{{"while warming", w.During}, {"after warming", w.After}} {
		if r.w == nil {
			continue
		}
		t.Rows = append(t.Rows, []string{r.name, fmt.Sprintf("%.0f–%.0f", r.w.StartS, r.w.EndS), pct(r.w.HitRate.Tier), pct(r.w.HitRateIdeal.Tier),
			fmt.Sprintf("%.2f", r.w.Efficiency.Tier), pct(r.w.HitRate.Overall), ms(r.w.LatencyP99MaxMS)})
	}
	if len(t.Rows) > 0 {
		sec.Table = t
	}
	sec.Foot = []string{"Hit rates from the servers' counters over whole seconds of the window; the ideal cache preloads the users warming had loaded by each user's first request."}
	return sec
}
