package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// The capacity search's part of the report: the capacity line per mode (the rate held,
// the first resource to saturate, the bytes per cached user), what the cache multiplies
// capacity by, the step table of each mode, and the knee charts.

// The knee charts' file names (a run with a capacity search only).
const (
	chartKneeLatency    = "capacity-latency.png"
	chartKneeThroughput = "capacity-throughput.png"
)

// searchModes are the run's figures that hold a capacity search, cache first.
func searchModes(s *summary.Summary) []*summary.Figures {
	var out []*summary.Figures
	for _, f := range []*summary.Figures{&s.Figures, s.NoCache} {
		if f != nil && f.CapacitySearch != nil {
			out = append(out, f)
		}
	}
	return out
}

// capacityLines are the capacity search's headline: one line per mode, and the cache's
// multiple of capacity with both modes.
func capacityLines(s *summary.Summary) []string {
	var lines []string
	for _, f := range searchModes(s) {
		lines = append(lines, capacityLine(s, f))
	}
	if r := s.CapacityRatio; r != nil && s.NoCache != nil {
		c, nc := s.CapacitySearch, s.NoCache.CapacitySearch
		// A mode that held the search's top rate (no step missed) has a capacity of at least
		// that: the multiple is then a bound, or not known when both held it.
		bound, why := "", ""
		switch {
		case c.RPSMissed == 0 && nc.RPSMissed == 0:
			lines = append(lines, fmt.Sprintf("What the cache multiplies capacity by is not known: both modes held the search's top rate (%s rps); raise its to.",
				render.Sig(c.RPSHeld, 3)))
			return lines
		case c.RPSMissed == 0:
			bound, why = "at least ", "; with the cache it held the search's top rate"
		case nc.RPSMissed == 0:
			bound, why = "at most ", "; without the cache it held the search's top rate"
		}
		lines = append(lines, fmt.Sprintf("The cache multiplies capacity by %s%s (%s rps held with it, %s without%s).",
			bound, render.Sig(*r, 3), render.Sig(c.RPSHeld, 3), render.Sig(nc.RPSHeld, 3), why))
	} else if len(searchModes(s)) == 2 {
		c, nc := s.CapacitySearch.RPSHeld, s.NoCache.CapacitySearch.RPSHeld
		switch {
		case c > 0 && nc == 0:
			lines = append(lines, fmt.Sprintf("The cache multiplies capacity by more than %s: without it not even the first step (%s rps) held.",
				render.Sig(c/s.NoCache.CapacitySearch.RPSMissed, 3), render.Sig(s.NoCache.CapacitySearch.RPSMissed, 3)))
		case c == 0:
			lines = append(lines, "What the cache multiplies capacity by is not known: no step held with the cache.")
		}
	}
	return lines
}

// capacityLine is the capacity planner's line for one mode: "at N users this setup held R
// rps within the SLO; the first resource to saturate was …; bytes per cached user …".
func capacityLine(s *summary.Summary, f *summary.Figures) string {
	cs := f.CapacitySearch
	var b strings.Builder
	who := "This setup"
	if n := users(s); n > 0 {
		who = fmt.Sprintf("At %s users this setup", count(n))
	}
	mode := modeLabel(f)
	if cs.RPSHeld > 0 {
		fmt.Fprintf(&b, "%s (%s) held %s rps within the SLO (%s, no errors, the offered rate achieved)", who, mode, render.Sig(cs.RPSHeld, 3), cs.SLO)
		if cs.RPSMissed > 0 {
			fmt.Fprintf(&b, " and missed it at %s rps", render.Sig(cs.RPSMissed, 3))
		}
	} else {
		fmt.Fprintf(&b, "%s (%s) held no step within the SLO (%s): it missed at the first, %s rps", who, mode, cs.SLO, render.Sig(cs.RPSMissed, 3))
	}
	if bn := cs.Bottleneck; bn != nil {
		if bn.Resource == "none" {
			b.WriteString("; no resource reached its saturation mark")
		} else {
			fmt.Fprintf(&b, "; the first resource to saturate was %s (at %s rps)", bn.Resource, render.Sig(bn.AtRPS, 3))
		}
	}
	if c := f.Capacity; c != nil && c.CachedUsers > 0 {
		fmt.Fprintf(&b, "; %.0f bytes per cached user, extrapolated to %.0f MiB for 1M users and %.0f MiB for 10M",
			c.BytesPerUser, float64(c.Extrapolated["1M"])/(1<<20), float64(c.Extrapolated["10M"])/(1<<20))
	}
	b.WriteString(".")
	return b.String()
}

// searchSections are the capacity search's sections: the headline with each mode's
// bottleneck and its evidence, then each mode's step table.
func searchSections(s *summary.Summary) []*section {
	modes := searchModes(s)
	if len(modes) == 0 {
		return nil
	}
	head := &section{Title: "Capacity"}
	for _, l := range capacityLines(s) {
		head.Lines = append(head.Lines, line{Text: l})
	}
	rule := ""
	for _, f := range modes {
		cs := f.CapacitySearch
		head.Lines = append(head.Lines, line{Text: fmt.Sprintf("%s: the search stopped: %s.", modeLabel(f), cs.Stopped)})
		if bn := cs.Bottleneck; bn != nil {
			head.Lines = append(head.Lines, line{Text: fmt.Sprintf("Bottleneck (%s): %s — %s", modeLabel(f), bn.Resource, strings.Join(bn.Evidence, "; ")),
				Loud: bn.Resource == "generator"})
			rule = bn.Rule
		}
	}
	head.Foot = []string{"Each step offers a constant rate; its first part settles and is not judged. A step holds when its latency meets the SLO, " +
		"no answer is an error and the rate achieved is at least 95% of the offered one. The search climbs by its factor until a step misses, " +
		"then halves the interval between the last step that held and the first that missed down to its resolution."}
	if rule != "" {
		head.Foot = append(head.Foot, "Bottleneck rule: "+rule+".")
	}
	out := []*section{head}
	for _, f := range modes {
		out = append(out, searchStepSection(f))
	}
	return out
}

// searchStepSection is one mode's step table, in the order the steps ran.
func searchStepSection(f *summary.Figures) *section {
	cs := f.CapacitySearch
	sec := &section{Title: "Capacity search steps (" + modeLabel(f) + ")"}
	procs := searchProcesses(cs)
	head := []string{"offered rps", "achieved rps", "p50 (ms)", "p99 (ms)", "errors", "send lag p99 (ms)", "harness cores"}
	align := "rrrrrrr"
	for _, p := range procs {
		if p != "harness" {
			head, align = append(head, p+" cores"), align+"r"
		}
	}
	pg := slices.ContainsFunc(cs.Steps, func(st summary.SearchStep) bool { return st.Resources != nil && st.Resources.PGCPU != nil })
	if pg {
		head, align = append(head, "PostgreSQL cores", "DB ms/query"), align+"rr"
	}
	head, align = append(head, "machine busy", "Redis ops/s", "pool waits/req (Redis, DB)", "held"), align+"rrrl"
	t := &table{Head: head, Align: align}
	for _, st := range cs.Steps {
		row := []string{render.Sig(st.OfferedRPS, 4), render.Sig(st.AchievedRPS, 4), ms(st.P50MS), ms(st.P99MS), count(st.Errors),
			ms(st.LagP99MS), render.Sig(st.HarnessCPU, 2)}
		r := st.Resources
		for _, p := range procs {
			if p == "harness" {
				continue
			}
			cell := dash
			if r != nil {
				if v, ok := r.CPU[p]; ok {
					cell = render.Sig(v, 2)
				}
			}
			row = append(row, cell)
		}
		if pg {
			cores, per := dash, dash
			if r != nil && r.PGCPU != nil {
				cores = render.Sig(*r.PGCPU, 2)
			}
			if r != nil && r.DBMSPerQuery != nil {
				per = render.Sig(*r.DBMSPerQuery, 2)
			}
			row = append(row, cores, per)
		}
		machine, ops, waits := dash, dash, dash
		if r != nil {
			machine = pct(r.MachineBusy)
			if r.RedisOpsPerS != nil {
				ops = render.Sig(*r.RedisOpsPerS, 3)
			}
			if r.RedisPoolWaitsPerRequest != nil && r.DBPoolWaitsPerRequest != nil {
				waits = render.Sig(*r.RedisPoolWaitsPerRequest, 2) + ", " + render.Sig(*r.DBPoolWaitsPerRequest, 2)
			}
		}
		held := "held"
		if !st.Held {
			held = "missed: " + st.Why
		}
		t.Rows = append(t.Rows, append(row, machine, ops, waits, held))
	}
	sec.Table = t
	sec.Foot = []string{fmt.Sprintf("Cores: CPU seconds per wall second over the step's judged part (1 = one core; the machine has %d). "+
		"The send lag is how late the generator sent against its schedule: a high one means the generator, not the server, set the pace.", cs.Cores)}
	return sec
}

// searchProcesses are the processes the steps sampled, harness first.
func searchProcesses(cs *summary.CapacitySearch) []string {
	seen := map[string]bool{}
	for _, st := range cs.Steps {
		if st.Resources != nil {
			for p := range st.Resources.CPU {
				seen[p] = true
			}
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b string) int {
		if (a == "harness") != (b == "harness") {
			if a == "harness" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

// searchPoints are a mode's steps as (offered, y) points sorted by offered rate.
func searchPoints(cs *summary.CapacitySearch, y func(summary.SearchStep) float64) plotter.XYs {
	var xy plotter.XYs
	for _, st := range cs.Steps {
		if v := y(st); positive(v) {
			xy = append(xy, plotter.XY{X: st.OfferedRPS, Y: v})
		}
	}
	slices.SortStableFunc(xy, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
	return xy
}

// kneeLatencyFigure: p50 and p99 of each step against its offered rate, per mode, with the
// SLO's bound drawn across and each mode's held rate marked.
func kneeLatencyFigure(s *summary.Summary) (*figure, string) {
	modes := searchModes(s)
	if len(modes) == 0 {
		return nil, "the run had no capacity search"
	}
	f := newFigure("offered rate (rps)", "latency (ms)")
	for i, m := range modes {
		cs, label := m.CapacitySearch, modeLabel(m)
		p50, p99 := solid(render.Blue, 1.5), solid(render.Vermillion, 1.5)
		if i > 0 {
			p50, p99 = dashed(render.Sky, 1.5), dashed(render.Grey, 1.5)
		}
		f.steps("p50 "+label, searchPoints(cs, func(st summary.SearchStep) float64 { return st.P50MS }), p50)
		f.steps("p99 "+label, searchPoints(cs, func(st summary.SearchStep) float64 { return st.P99MS }), p99)
		for _, st := range cs.Steps {
			f.xMin, f.xMax = min(f.xMin, st.OfferedRPS), max(f.xMax, st.OfferedRPS)
		}
	}
	if f.points == 0 {
		return nil, "no step of the capacity search answered"
	}
	if bound := modes[0].CapacitySearch.SLOMS; bound > 0 {
		f.addRuns("SLO "+modes[0].CapacitySearch.SLO, []plotter.XYs{{{X: 0, Y: bound}, {X: f.xMax * 1.05, Y: bound}}}, dashed(render.Black, 1))
	}
	f.plot.X.Min, f.plot.X.Max = 0, f.xMax*1.05
	f.plot.X.Tick.Marker = plot.TickerFunc(niceTicks)
	f.valueAxis(true)
	return f, ""
}

// kneeThroughputFigure: each step's achieved rate against its offered rate, per mode, with
// the line where they are equal.
func kneeThroughputFigure(s *summary.Summary) (*figure, string) {
	modes := searchModes(s)
	if len(modes) == 0 {
		return nil, "the run had no capacity search"
	}
	f := newFigure("offered rate (rps)", "achieved rate (rps)")
	top := 0.0
	for i, m := range modes {
		sty := solid(render.Blue, 1.5)
		if i > 0 {
			sty = dashed(render.Grey, 1.5)
		}
		xy := searchPoints(m.CapacitySearch, func(st summary.SearchStep) float64 { return st.AchievedRPS })
		f.steps("achieved "+modeLabel(m), xy, sty)
		for _, st := range m.CapacitySearch.Steps {
			top = max(top, st.OfferedRPS)
		}
	}
	if f.points == 0 {
		return nil, "no step of the capacity search answered"
	}
	f.addRuns("achieved = offered", []plotter.XYs{{{X: 0, Y: 0}, {X: top, Y: top}}}, dashed(render.Black, 1))
	f.plot.X.Min, f.plot.X.Max = 0, top*1.05
	f.plot.X.Tick.Marker = plot.TickerFunc(niceTicks)
	f.valueAxis(false)
	return f, ""
}

// SearchCharts returns the file names of the charts Render draws only for a run with a
// capacity search (rate shape search), in report order.
func SearchCharts() []string {
	return []string{chartKneeLatency, chartKneeThroughput}
}

// steps adds a mode's steps as a line through a dot per step (the steps are discrete).
func (f *figure) steps(label string, xy plotter.XYs, sty draw.LineStyle) {
	if len(xy) == 0 {
		return
	}
	f.addRuns(label, []plotter.XYs{xy}, sty)
	if len(xy) > 1 {
		sc, _ := plotter.NewScatter(xy)
		sc.GlyphStyle = draw.GlyphStyle{Color: sty.Color, Radius: sty.Width * 1.5, Shape: draw.CircleGlyph{}}
		f.plot.Add(sc)
	}
}
