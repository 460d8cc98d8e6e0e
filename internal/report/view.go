package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

// view is the report's content, built once and written both as Markdown and as HTML.
// Every string in it is plain text; each writer escapes for its own format.
type view struct {
	Title    string
	Subtitle string
	Notes    []string // loud caveats, shown first
	Pass     bool
	// Verdict is "PASS", "FAIL", "INCONCLUSIVE" (nothing failed, but the latency verdicts
	// were not judged: a saturated generator) or "INTERRUPTED" (no verdict: the run was stopped).
	Verdict  string
	Class    string // the verdict's CSS class: pass, fail, inconclusive or interrupted
	Detail   string // "4 of 6 thresholds passed; failed: errors == 0, …"
	Effect   string // what the cache did against no cache, in one line; empty with one mode
	Sections []section
	Charts   []chart
	Env      string
}

// section is a titled part of the report: lines, an optional table, and notes after it.
type section struct {
	Title string
	Lines []line
	Table *table
	Foot  []string
}

// line is a paragraph; a loud one reports a problem.
type line struct {
	Text string
	Loud bool
}

// table is a plain-text table. Align has one letter per column: l left, r right,
// c centre, m monospace (code, left).
type table struct {
	Head  []string
	Align string
	Rows  [][]string
}

// maxExamples bounds the checker findings listed per mode.
const maxExamples = 10

// maxCell bounds a request, expected or got value in the examples table (runes).
const maxCell = 160

func newView(s *summary.Summary, charts []chart) *view {
	v := &view{
		Title:    "atlasbench: " + s.Scenario,
		Subtitle: subtitle(s),
		Notes:    slices.Concat(healthNotes(s), crossCheckNotes(s), notes(s)),
		Pass:     s.Pass,
		Verdict:  "FAIL",
		Detail:   verdictDetail(s.Thresholds),
		Effect:   effect(s),
		Charts:   charts,
		Env:      s.Env.String(),
	}
	v.Class = "fail"
	switch {
	case s.Interrupted:
		v.Verdict, v.Class, v.Detail = verdictInterrupted, "interrupted", interruptedDetail(s)
	case s.Aborted == "" && threshold.OnlyInconclusive(s.Thresholds):
		v.Verdict, v.Class, v.Detail = verdictInconclusive, "inconclusive", s.Inconclusive+"; "+v.Detail
	case s.Pass:
		v.Verdict, v.Class = "PASS", "pass"
	}
	if s.Aborted != "" && !s.Interrupted {
		v.Detail += "; the run was aborted: " + s.Aborted
	}
	v.Sections = append(v.Sections,
		thresholdSection(s.Thresholds),
		section{Title: "Key figures", Table: figuresTable(s), Foot: append(repeatNote(s),
			"Latency is measured from each request's intended send time, so time spent queued behind slow "+
				"responses counts (no coordinated omission); service time is from the actual send.",
		)},
	)
	for _, sec := range append(searchSections(s), crossCheckSection(s), witnessSection(s), endpointSection(s), phaseSection(&s.Figures), serverSection(s), restartSection(&s.Figures), capacitySection(s, &s.Figures), warmingSection(&s.Figures), clientCacheSection(s), checkSection(s), healthSection(s), processSection(s)) {
		if sec != nil {
			v.Sections = append(v.Sections, *sec)
		}
	}
	return v
}

// repeatNote says, for a run of several repeats, which repeat the figures are and what the
// gate uses; nothing for a single repeat.
func repeatNote(s *summary.Summary) []string {
	if s.Count <= 1 {
		return nil
	}
	var which []string
	for _, f := range modes(s) {
		if f.Repeat > 0 {
			which = append(which, fmt.Sprintf("%s: repeat %d", modeLabel(f), f.Repeat))
		}
	}
	if len(which) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%d repeats: each mode's figures are those of its repeat with the median p50 latency (%s); "+
		"bench gate tests every repeat's samples against a baseline.", s.Count, strings.Join(which, ", "))}
}

func subtitle(s *summary.Summary) string {
	parts := []string{"scenario " + s.Scenario}
	if s.Config != "" {
		parts = append(parts, "config "+s.Config)
	}
	if s.Mode != "" {
		parts = append(parts, "mode "+string(s.Mode))
	}
	if !s.Started.IsZero() {
		parts = append(parts, "started "+s.Started.UTC().Format(time.DateTime)+" UTC")
	}
	switch {
	case s.Shards > 0:
		parts = append(parts, fmt.Sprintf("%d shards merged", s.Shards))
	case s.Shard != nil:
		parts = append(parts, fmt.Sprintf("shard %d/%d", s.Shard.Index, s.Shard.Count))
	}
	return strings.Join(parts, " · ")
}

// notes are the summary's caveats plus the ones a reader must not miss even when the run
// forgot to write them: embedded Redis, an interrupted run, a load generator behind schedule.
func notes(s *summary.Summary) []string {
	ns := summary.NoteStrings(s.Notes)
	redisNoted := slices.ContainsFunc(s.Notes, func(n summary.Note) bool { return n.Kind == summary.NoteRedis })
	if s.Env.RedisBackend == "embedded" && !redisNoted {
		ns = append(ns, "Redis was embedded (miniredis): latencies are not representative of a real Redis.")
	}
	if s.Interrupted {
		ns = append(ns, "The run was interrupted before its end: the figures cover only what was measured.")
	}
	for _, f := range modes(s) {
		if n := f.Rate.ClosedLoopWorkers; n > 0 {
			note := fmt.Sprintf("Rate max: a closed loop of %d workers sent each request as soon as the one before answered, "+
				"so latency is the service time (a closed loop has no intended send time) and the rate is what the server sustained.", n)
			if !slices.Contains(ns, note) {
				ns = append(ns, note)
			}
		}
		if f.Rate.CutOff {
			ns = append(ns, fmt.Sprintf("Cut off (%s): the load generator fell more than the -max-lag bound behind its schedule (%s s late at worst) and stopped sending; the figures cover the window up to the cut, %s scheduled requests were dropped.",
				modeLabel(f), seconds(f.Rate.MaxLagS), count(f.Rate.Dropped)))
		} else if !f.Rate.Kept && f.Rate.Target > 0 && f.Requests > 0 {
			ns = append(ns, fmt.Sprintf("The load generator fell behind schedule (%s): %s of %s rps achieved.",
				modeLabel(f), rps(f.Rate.Achieved), rps(f.Rate.Target)))
		}
	}
	return ns
}

// interruptedDetail says what an interrupted run measured; its thresholds were not judged.
func interruptedDetail(s *summary.Summary) string {
	var measured []string
	for _, f := range modes(s) {
		measured = append(measured, fmt.Sprintf("%s requests (%s)", count(f.Requests), modeLabel(f)))
	}
	what := "nothing"
	if len(measured) > 0 {
		what = strings.Join(measured, ", ")
	}
	return "stopped before its end after measuring " + what + "; thresholds not judged"
}

func verdictDetail(ts []summary.Threshold) string {
	if len(ts) == 0 {
		return "no thresholds were set"
	}
	var failed, inconclusive []string
	na := 0
	for _, t := range ts {
		switch {
		case t.NotApplicable != "":
			na++
		case t.Inconclusive != "":
			inconclusive = append(inconclusive, t.Expr)
		case !t.Pass:
			failed = append(failed, t.Expr)
		}
	}
	tail := ""
	if na > 0 {
		tail = fmt.Sprintf(" (%d not applicable to this mode)", na)
	}
	inc := ""
	if len(inconclusive) > 0 {
		inc = fmt.Sprintf("; %d INCONCLUSIVE: %s", len(inconclusive), strings.Join(inconclusive, ", "))
	}
	if len(failed) == 0 {
		return fmt.Sprintf("%d of %d thresholds passed%s%s", len(ts)-na-len(inconclusive), len(ts)-na, tail, inc)
	}
	return fmt.Sprintf("%d of %d thresholds failed%s: %s%s", len(failed), len(ts)-na, tail, strings.Join(failed, ", "), inc)
}

// effect is the one line a PR reader wants: what the cache changed against no cache.
func effect(s *summary.Summary) string {
	var parts []string
	if r := s.DBQueryReduction; r != nil {
		parts = append(parts, reduction(*r)+" DB queries per request")
	}
	if sp := s.Speedup; sp != nil {
		parts = append(parts, faster(sp.P50)+" at p50", faster(sp.Mean)+" on average", faster(sp.P99)+" at p99")
	}
	if len(parts) == 0 {
		return ""
	}
	return "Cache against no cache: " + strings.Join(parts, ", ") + "."
}

// faster says a speed-up factor in words: 3.42 → "3.42× faster", 0.8 → "1.25× slower".
func faster(x float64) string {
	switch {
	case x >= 1:
		return times(x) + " faster"
	case x > 0:
		return times(1/x) + " slower"
	default:
		return dash
	}
}

// reduction says a DB query reduction in words: 0.412 → "41.2% fewer", -0.1 → "10.0% more".
func reduction(r float64) string {
	if r >= 0 {
		return pct(r) + " fewer"
	}
	return pct(-r) + " more"
}

// modes are the figures of each mode that ran, the main one first.
func modes(s *summary.Summary) []*summary.Figures {
	fs := []*summary.Figures{&s.Figures}
	if s.NoCache != nil {
		fs = append(fs, s.NoCache)
	}
	return fs
}

// modeLabel names a mode for people: "cache" or "no cache".
func modeLabel(f *summary.Figures) string {
	if f.Mode == summary.ModeNoCache {
		return "no cache"
	}
	return "cache"
}

func thresholdSection(ts []summary.Threshold) section {
	sec := section{Title: "Thresholds"}
	if len(ts) == 0 {
		sec.Lines = []line{{Text: "No thresholds were set."}}
		return sec
	}
	t := &table{Head: []string{"threshold", "value", "verdict"}, Align: "mrc"}
	// Errors and reasons go below the table, numbered, so that a long one cannot widen it.
	note := func(text string) string {
		sec.Foot = append(sec.Foot, fmt.Sprintf("[%d] %s", len(sec.Foot)+1, text))
		return fmt.Sprintf("[%d]", len(sec.Foot))
	}
	for _, th := range ts {
		value, verdict := thresholdValue(th.Expr, th.Value), verdictPass
		switch {
		case th.Inconclusive != "":
			value, verdict = value+" "+note("INCONCLUSIVE: "+th.Inconclusive), verdictInconclusive
		case th.NotJudged != "":
			value, verdict = value+" "+note("not judged: "+th.NotJudged), verdictNotJudged
		case th.NotApplicable != "":
			value, verdict = "not applicable "+note("not applicable: "+th.NotApplicable), verdictNA
		case th.Error != "":
			value, verdict = "error "+note(th.Error), verdictFail
		case !th.Pass:
			verdict = verdictFail
		}
		t.Rows = append(t.Rows, []string{th.Expr, value, verdict})
	}
	sec.Table = t
	return sec
}

// The verdicts of a threshold row: plain words (every font has them), coloured in HTML.
const (
	verdictPass = "PASS"
	verdictFail = "FAIL"
	verdictNA   = "n/a"
	// verdictNotJudged is a threshold of an interrupted run: measured, neither passed nor failed.
	verdictNotJudged = "not judged"
	// verdictInconclusive is a latency threshold of a run whose load generator was
	// saturated, and heads the report when nothing else failed.
	verdictInconclusive = "INCONCLUSIVE"
	// verdictInterrupted heads the report of an interrupted run in place of PASS or FAIL.
	verdictInterrupted = "INTERRUPTED"
)

func figuresTable(s *summary.Summary) *table {
	fs := modes(s)
	both := len(fs) > 1
	t := &table{Head: []string{"figure"}, Align: "l"}
	for _, f := range fs {
		t.Head = append(t.Head, modeLabel(f))
		t.Align += "r"
	}
	if both {
		t.Head = append(t.Head, "cache vs no cache")
		t.Align += "r"
	}
	add := func(label string, cell func(*summary.Figures) string, compare string) {
		row := []string{label}
		for _, f := range fs {
			row = append(row, cell(f))
		}
		if both {
			row = append(row, compare)
		}
		t.Rows = append(t.Rows, row)
	}
	speedup := func(pick func(*summary.Speedup) float64) string {
		if s.Speedup == nil {
			return ""
		}
		return faster(pick(s.Speedup))
	}
	lat := func(label string, pick func(summary.Latency) float64, compare string) {
		add(label, func(f *summary.Figures) string { return ms(pick(f.Latency)) }, compare)
	}
	hit := func(label string, pick func(summary.HitRate) float64) {
		add("hit rate "+label, func(f *summary.Figures) string {
			if f.Mode == summary.ModeNoCache {
				return dash // no lookups at all
			}
			if st, ok := f.CacheStats[label]; ok && st.Hits+st.Misses+st.Bypasses == 0 {
				return dash // the scenario never asked for this class
			}
			cell := pct(pick(f.HitRate))
			if f.HitRateIdeal != nil && f.CacheEfficiency != nil {
				// The bound beside what was reached: a low hit rate is the workload's when
				// the ideal is low too, the cache's when the efficiency is.
				cell += " (ideal " + pct(pick(*f.HitRateIdeal)) + ", efficiency " + efficiency(pick(*f.CacheEfficiency))
				if st := f.CacheEfficiencySteady; st != nil && hasFaultPhase(f) {
					cell += ", steady " + efficiency(pick(*st))
				}
				cell += ")"
			}
			return cell
		}, "")
	}

	add("requests", func(f *summary.Figures) string { return count(f.Requests) }, "")
	add("rate achieved / target (rps)", func(f *summary.Figures) string {
		r := rps(f.Rate.Achieved) + " / " + rps(f.Rate.Target)
		if n := f.Rate.ClosedLoopWorkers; n > 0 {
			r = rps(f.Rate.Achieved) + fmt.Sprintf(" / max (closed loop, %d workers)", n)
		}
		if f.Rate.CutOff {
			r += " ⚠ cut off, " + count(f.Rate.Dropped) + " dropped"
		} else if !f.Rate.Kept && f.Rate.Target > 0 && f.Requests > 0 {
			r += " ⚠ behind"
		}
		return r
	}, "")
	add("success ratio", func(f *summary.Figures) string { return pct(f.SuccessRatio) }, "")
	add("errors", errorsCell, "")
	lat("latency mean (ms)", func(l summary.Latency) float64 { return l.Mean }, speedup(func(sp *summary.Speedup) float64 { return sp.Mean }))
	lat("latency p50 (ms)", func(l summary.Latency) float64 { return l.P50 }, speedup(func(sp *summary.Speedup) float64 { return sp.P50 }))
	lat("latency p90 (ms)", func(l summary.Latency) float64 { return l.P90 }, "")
	lat("latency p99 (ms)", func(l summary.Latency) float64 { return l.P99 }, speedup(func(sp *summary.Speedup) float64 { return sp.P99 }))
	lat("latency p99.9 (ms)", func(l summary.Latency) float64 { return l.P999 }, "")
	lat("latency max (ms)", func(l summary.Latency) float64 { return l.Max }, "")
	add("service time p50 (ms)", func(f *summary.Figures) string { return ms(f.ServiceTime.P50) }, "")
	add("service time p99 (ms)", func(f *summary.Figures) string { return ms(f.ServiceTime.P99) }, "")
	for _, class := range summary.HitRateClasses() {
		hit(class, func(h summary.HitRate) float64 { v, _ := h.Of(class); return v })
	}
	add("DB queries", func(f *summary.Figures) string { return count(f.DBQueries.Total) }, "")
	dbCompare := ""
	if s.DBQueryReduction != nil {
		dbCompare = reduction(*s.DBQueryReduction)
	}
	add("DB queries per request", func(f *summary.Figures) string { return sig(f.DBQueries.PerRequest, 3) }, dbCompare)
	if slices.ContainsFunc(fs, func(f *summary.Figures) bool { return f.RedisMemory != nil }) {
		mem := func(label string, cell func(m *summary.RedisMemory) string) {
			add(label, func(f *summary.Figures) string {
				if f.RedisMemory == nil {
					return dash
				}
				return cell(f.RedisMemory)
			}, "")
		}
		mem("Redis used memory end / peak (MiB)", func(m *summary.RedisMemory) string {
			cell := sig(float64(m.UsedBytes)/(1<<20), 3) + " / " + sig(float64(m.PeakBytes)/(1<<20), 3)
			if m.MaxMemoryBytes > 0 {
				cell += " of " + sig(float64(m.MaxMemoryBytes)/(1<<20), 3) + " " + m.Policy
			}
			return cell
		})
		mem("Redis evicted keys", func(m *summary.RedisMemory) string { return count(m.EvictedKeys) })
		mem("entries on dead generations (sampled)", func(m *summary.RedisMemory) string {
			if m.SampledEntries == 0 {
				return dash
			}
			return pct(m.DeadShare) + " of " + count(m.SampledEntries)
		})
	}
	add("isolation violations", func(f *summary.Figures) string { return count(f.IsolationViolations) }, "")
	add("stale reads", func(f *summary.Figures) string { return count(f.StaleReads) }, "")
	return t
}

// errorsCell is the error count with its kinds, largest first: "3 (5xx 2, transport 1)".
func errorsCell(f *summary.Figures) string {
	c := count(f.Errors)
	if len(f.ErrorsByKind) == 0 {
		return c
	}
	kinds := slices.SortedFunc(maps.Keys(f.ErrorsByKind), func(a, b string) int {
		return cmp.Or(cmp.Compare(f.ErrorsByKind[b], f.ErrorsByKind[a]), cmp.Compare(a, b))
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = k + " " + count(f.ErrorsByKind[k])
	}
	return c + " (" + strings.Join(parts, ", ") + ")"
}

func endpointSection(s *summary.Summary) *section {
	eps := s.ByEndpoint
	if len(eps) == 0 {
		return nil
	}
	names := slices.SortedFunc(maps.Keys(eps), func(a, b string) int {
		return cmp.Or(cmp.Compare(eps[b].Requests, eps[a].Requests), cmp.Compare(a, b))
	})
	t := &table{
		Head:  []string{"endpoint", "requests", "errors", "p50 (ms)", "p99 (ms)", "max (ms)", "X-Cache HIT"},
		Align: "mrrrrrr",
	}
	var nc map[string]summary.Endpoint
	if s.NoCache != nil && len(s.NoCache.ByEndpoint) > 0 {
		nc = s.NoCache.ByEndpoint
		t.Head = append(t.Head, "p99 no cache (ms)")
		t.Align += "r"
	}
	for _, name := range names {
		e := eps[name]
		row := []string{name, count(e.Requests), count(e.Errors), ms(e.Latency.P50), ms(e.Latency.P99), ms(e.Latency.Max), pct(e.HitRate)}
		if s.Figures.Mode == summary.ModeNoCache {
			row[6] = dash
		}
		if nc != nil {
			cell := dash
			if n, ok := nc[name]; ok {
				cell = ms(n.Latency.P99)
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return &section{Title: "By endpoint (" + modeLabel(&s.Figures) + ")", Table: t}
}

func phaseSection(f *summary.Figures) *section {
	if len(f.Phases) == 0 {
		return nil
	}
	t := &table{
		Head:  []string{"phase", "fault", "window (s)", "requests", "errors", "p99 (ms)", "hit rate", "recovery"},
		Align: "lmrrrrrr",
	}
	peaks := slices.ContainsFunc(f.Phases, func(p summary.Phase) bool { return p.DBQPSPeak > 0 })
	if peaks {
		t.Head = append(t.Head, "peak DB qps")
		t.Align += "r"
	}
	for i, p := range f.Phases {
		recovery := phaseRecovery(f.Phases, i)
		fault, hit := p.Fault, pct(p.HitRate.Overall)
		if fault == "" {
			fault = dash
		}
		if f.Mode == summary.ModeNoCache {
			hit = dash
		}
		row := []string{p.Name, fault, seconds(p.StartS) + "–" + seconds(p.EndS), count(p.Requests), count(p.Errors),
			ms(p.Latency.P99), hit, recovery}
		if peaks {
			row = append(row, num(p.DBQPSPeak))
		}
		t.Rows = append(t.Rows, row)
	}
	return &section{
		Title: "Phases (" + modeLabel(f) + ")",
		Table: t,
		Foot:  []string{"Recovery: time from the end of a fault until the overall hit rate is back within 10% of its level before it."},
	}
}

// phaseRecovery is the recovery cell of phase i. A fault's recovery_s is shown on the row
// where the recovery happens: the recovery phase that follows a fault ended by start-redis
// or heal-redis (the fault's own row then shows a dash), or the fault's row for a fault
// that ends by itself (flush-redis) or never ends.
func phaseRecovery(ps []summary.Phase, i int) string {
	show := func(p summary.Phase) string {
		if p.RecoveryS != nil {
			return seconds(*p.RecoveryS) + " s"
		}
		return "not recovered"
	}
	p := ps[i]
	switch {
	case p.Name == "recovery" && i > 0 && ps[i-1].Fault != "" && ps[i-1].Name != "recovery":
		return show(ps[i-1])
	case p.Name == "recovery" || p.Fault == "":
		return dash
	case i+1 < len(ps) && ps[i+1].Name == "recovery":
		return dash
	}
	return show(p)
}

// checkSection reports isolation violations and stale reads, with the first examples.
func checkSection(s *summary.Summary) *section {
	sec := &section{Title: "Isolation and staleness"}
	var examples [][]string
	for _, f := range modes(s) {
		iso := "isolation violations " + count(f.IsolationViolations)
		if f.IsolationNA != "" {
			iso = "isolation not applicable (" + f.IsolationNA + ")"
		}
		sec.Lines = append(sec.Lines, line{
			Text: fmt.Sprintf("%s: %s, stale reads %s.", modeLabel(f), iso, count(f.StaleReads)),
			Loud: f.IsolationViolations > 0 || f.StaleReads > 0,
		})
		for _, e := range f.Examples[:min(len(f.Examples), maxExamples)] {
			examples = append(examples, []string{modeLabel(f), e.Kind, seconds(e.AtS),
				clip(e.Request), clip(e.Expected), clip(e.Got)})
		}
	}
	if len(examples) > 0 {
		sec.Table = &table{
			Head:  []string{"mode", "kind", "at (s)", "request", "expected", "got"},
			Align: "llrmmm",
			Rows:  examples,
		}
		sec.Foot = []string{fmt.Sprintf("The first findings, at most %d per mode.", maxExamples)}
	}
	return sec
}

// clip shortens s to maxCell runes and puts it on one line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxCell {
		return string(r[:maxCell-1]) + "…"
	}
	return s
}

// hasFaultPhase reports whether the mode had a fault phase (its steady phase is then not the
// whole window).
func hasFaultPhase(f *summary.Figures) bool {
	for _, p := range f.Phases {
		if p.Fault != "" {
			return true
		}
	}
	return false
}

// processSection is the routine figures of the run's processes, mode by mode: resident
// memory and GC pauses (not a caveat: a section of their own, near the end); nil without any.
func processSection(s *summary.Summary) *section {
	sec := &section{Title: "Processes"}
	for _, f := range modes(s) {
		if text := processLine(f); text != "" {
			sec.Lines = append(sec.Lines, line{Text: text})
		}
	}
	if len(sec.Lines) == 0 {
		return nil
	}
	return sec
}

// processLine summarises the processes of a mode: peak RSS (and the last sample, which shows
// growth) of each, and the GC pause totals.
func processLine(f *summary.Figures) string {
	if len(f.Processes) == 0 && len(f.GC) == 0 {
		return ""
	}
	var parts []string
	for _, p := range f.Processes {
		last := 0.0
		if n := len(p.RSSMiB); n > 0 {
			last = p.RSSMiB[n-1]
		}
		parts = append(parts, fmt.Sprintf("%s %.0f MiB peak (%.0f at the end)", p.Name, p.PeakMiB, last))
	}
	var gcs []string
	for _, g := range f.GC {
		gcs = append(gcs, fmt.Sprintf("%s %d collections, %.1f ms paused", g.Process, g.Count, g.PauseMS))
	}
	line := fmt.Sprintf("Processes (%s): resident memory %s", modeLabel(f), strings.Join(parts, ", "))
	if len(gcs) > 0 {
		line += "; Go GC " + strings.Join(gcs, ", ")
	}
	return line + "."
}
