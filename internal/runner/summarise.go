package runner

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/loadhealth"
	"github.com/atlasbench/atlasbench/internal/report"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
	"github.com/atlasbench/atlasbench/internal/witness"
)

// How a run is summarised: newRun starts the summary with what is known before anything
// runs, add takes each mode's figures into it, and Summarise — the one builder of a run's
// summary, which bench merge calls too — picks the headline figures, gathers the
// cross-checks and evaluates the thresholds; Write stores it with its report.

// run is one config's run directory, its summary so far and its figures by mode (one per
// repeat).
type run struct {
	dir  string
	s    *summary.Summary
	figs map[summary.Mode][]summary.Figures
	// cache is the config's cache settings, loaded once; nil when they cannot be loaded.
	cache *cache.Config
}

// newRun creates config's run directory and starts its summary: what is known before
// anything runs.
func (e *engine) newRun(config, dir string) (*run, error) {
	sc := e.Scenario
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &EnvError{fmt.Errorf("runner: %w", err)}
	}
	s := &summary.Summary{
		Schema: summary.Schema, Scenario: sc.Name, Config: config, Mode: e.Mode, Started: time.Now().UTC(),
		Env:   summary.Env{Go: runtime.Version(), CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, DB: dbKind(e.DB), Git: gitDescribe()},
		Count: e.Count, Samples: map[string][]float64{},
	}
	var cc *cache.Config
	if c, err := cache.LoadConfig(config); err == nil {
		cc = &c
		if e.Target == "" {
			en, ttl := c.Effective()
			s.CacheConfig = &summary.CacheConfig{Enabled: en, TTLSeconds: ttl}
		}
	}
	if e.Shard.Sharded() {
		s.Shard = &summary.Shard{Index: e.Shard.Index, Count: e.Shard.Count, Seed: sc.Seed, StartAt: e.StartAt.UTC()}
	}
	if e.Target != "" {
		s.Env.Target, s.Env.RedisBackend, s.Mode = e.Target, stack.BackendExternal, summary.ModeTarget
		if len(sc.Faults) > 0 {
			s.Notes = append(s.Notes, summary.Note{Kind: summary.NoteTarget, Text: "faults skipped: -target gives the harness no control over the server's Redis"})
		}
	}
	s.Notes = append(s.Notes, readOnlyNote(sc)...)
	return &run{dir: dir, s: s, figs: map[summary.Mode][]summary.Figures{}, cache: cc}, nil
}

// add takes one mode's result and notes into its run.
func (e *engine) add(r *run, res *modeResult, notes []summary.Note) {
	sc := e.Scenario
	r.s.Notes = appendNew(r.s.Notes, notes...)
	f := res.figures
	r.figs[f.Mode] = append(r.figs[f.Mode], f)
	if e.Target == "" {
		if r.s.Population == nil {
			r.s.Population = &summary.Population{Users: sc.Population.Users,
				Conversations: sc.Population.Conversations, Messages: sc.Population.Messages}
		}
		r.s.Population.SeedingS = max(r.s.Population.SeedingS, math.Round(res.seeding.Seconds()*1000)/1000)
	} else {
		r.s.Env.TargetMode = f.Mode
	}
	if r.s.Shard != nil {
		r.s.Shard.LateS = max(r.s.Shard.LateS, res.late.Seconds())
	}
}

// finishRun completes a run's summary and writes it with its report.
func (e *engine) finishRun(r *run, interrupted bool, runErr error) error {
	s := r.s
	s.Interrupted = interrupted
	if runErr != nil {
		s.Notes = append(s.Notes, summary.Note{Kind: summary.NoteStopped, Text: "the run stopped early: " + runErr.Error()})
	}
	Summarise(s, r.figs, e.Scenario.Thresholds)
	if runErr != nil {
		s.Pass = false
	}
	return Write(r.dir, s)
}

// Summarise completes s from every mode's figures (one per repeat): the headline figures
// and the cache's effect (Assemble), the cross-checks of every mode and repeat, the
// thresholds (exprs) and the verdict, which an interrupted run never passes. It is the
// one builder of a run's summary, for bench run and bench merge alike.
func Summarise(s *summary.Summary, figs map[summary.Mode][]summary.Figures, exprs []string) {
	Assemble(s, figs)
	s.CrossChecks = gatherCrossChecks(s, figs)
	s.Thresholds = threshold.EvalAll(exprs, s)
	s.Inconclusive = saturation(figs)
	if s.Interrupted {
		threshold.NotJudged(s.Thresholds, "the run was interrupted before its end")
	} else if s.Inconclusive != "" {
		threshold.Inconclusive(s.Thresholds, s.Inconclusive)
	}
	s.Pass = threshold.Passed(s.Thresholds) && !s.Interrupted && s.Aborted == ""
}

// saturation says why the run's latency verdicts are INCONCLUSIVE: the generator-health
// finding of the first mode and repeat whose generator was saturated (with which, when the
// run had several); "" when none was.
func saturation(figs map[summary.Mode][]summary.Figures) string {
	many := len(figs[summary.ModeNoCache])+len(figs[summary.ModeCache]) > 1
	for _, mode := range []summary.Mode{summary.ModeNoCache, summary.ModeCache} {
		for i, f := range figs[mode] {
			why := loadhealth.Finding(f.GeneratorHealth)
			if why == "" {
				continue
			}
			if many {
				which := string(f.Mode)
				if len(figs[mode]) > 1 {
					which += fmt.Sprintf(" repeat %d", i+1)
				}
				why = strings.Replace(why, "the machine was saturated", "the machine was saturated in "+which, 1)
			}
			return why
		}
	}
	return ""
}

// Write stores a finished summary in dir with its report.
func Write(dir string, s *summary.Summary) error {
	if err := summary.Write(dir, s); err != nil {
		return &EnvError{err}
	}
	if err := report.Render(dir, s); err != nil {
		return &EnvError{err}
	}
	return nil
}

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
		s.CapacityRatio = summary.CapacityRatio(&s.Figures, s.NoCache)
	}
	if s.Samples == nil {
		s.Samples = map[string][]float64{}
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

// gatherCrossChecks collects every mode's and repeat's cross-checks (a disagreement in a
// repeat that is not the median one is kept), adds the DB-transaction reduction as
// PostgreSQL saw it beside the server's, and says whether all agree; nil when there are none.
func gatherCrossChecks(s *summary.Summary, figs map[summary.Mode][]summary.Figures) *summary.CrossChecks {
	cc := &summary.CrossChecks{}
	for _, mode := range []summary.Mode{summary.ModeNoCache, summary.ModeCache} {
		for i, f := range figs[mode] {
			for _, c := range f.CrossChecks {
				if len(figs[mode]) > 1 {
					c.Repeat = i + 1
				}
				cc.Checks = append(cc.Checks, c)
			}
		}
	}
	if s.NoCache != nil {
		if c, ok := witness.DBReduction(s.PGStats, s.NoCache.PGStats, s.DBQueryReduction); ok {
			cc.Checks = append(cc.Checks, c)
		}
	}
	if len(cc.Checks) == 0 {
		return nil
	}
	for _, c := range cc.Checks {
		if c.Verdict == summary.Disagree {
			cc.Disagreements++
		}
	}
	cc.AllAgree = cc.Disagreements == 0
	return cc
}

func appendNew[T comparable](list []T, more ...T) []T {
	for _, m := range more {
		if !slices.Contains(list, m) {
			list = append(list, m)
		}
	}
	return list
}

// gitDescribe names the commit the harness was built from, best effort.
func gitDescribe() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
