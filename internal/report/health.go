package report

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot/plotter"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

// healthNotes is the generator-health finding a report opens with when the load generator
// or its machine was saturated (why the latency verdicts are INCONCLUSIVE), unless the
// verdict line, INCONCLUSIVE, already says it.
func healthNotes(s *summary.Summary) []string {
	if s.Inconclusive == "" || !s.Interrupted && s.Aborted == "" && threshold.OnlyInconclusive(s.Thresholds) {
		return nil
	}
	return []string{s.Inconclusive}
}

// healthSection is the generator's health mode by mode: the aggregates and the rule's
// verdict, and for a saturated mode a compact timeline (a sample a second, grouped to at
// most maxHealthRows rows; the chart draws every mode's); nil when no mode was sampled.
func healthSection(s *summary.Summary) *section {
	sec := &section{Title: "Generator health"}
	t := &table{Head: []string{"mode", "from s", "to s", "lag p99", "PSI cpu some", "steal", "load 1m", "harness CPU", "GC pause", "sched p99", "saturated"},
		Align: "lrrrrrrrrrc"}
	for _, f := range modes(s) {
		h := f.GeneratorHealth
		if h == nil {
			continue
		}
		a := h.Aggregates
		verdict := "not saturated"
		if h.Rule.Off {
			verdict = "not judged (-saturation off)"
		} else if h.Saturated {
			verdict = "SATURATED: " + strings.Join(h.Reasons, "; ")
		}
		label := modeLabel(f)
		if h.Shard != "" {
			label += " (shard " + h.Shard + ", the most saturated of the merged shards)"
		}
		sec.Lines = append(sec.Lines, line{Loud: h.Saturated, Text: fmt.Sprintf(
			"%s: %s. Scheduling lag p50 %s, p99 %s, max %s; PSI cpu some %s on average (worst second %s); steal %s; load %s on %d CPUs (worst %s); harness CPU %s cores; harness GC paused %s in all; Go scheduler latency p99 %s.",
			label, verdict, msText(a.LagP50MS), msText(a.LagP99MS), msText(a.LagMaxMS), shareText(a.PSISomeMean), shareText(a.PSISomeMax),
			shareText(a.StealMean), render.Sig(a.Load1Mean, 3), h.CPUs, render.Sig(a.Load1Max, 3), render.Sig(a.HarnessCPUMean, 2),
			msText(a.GCPauseTotalMS), msText(a.SchedP99MS))})
		if !h.Saturated {
			continue // the chart has the timeline; the table is for where the rule fired
		}
		for _, g := range groupHealth(h.Timeline, maxHealthRows) {
			sat := ""
			if g.Saturated {
				sat = "yes"
			}
			t.Rows = append(t.Rows, []string{modeLabel(f), render.Sig(g.from, 3), render.Sig(g.T, 3), msText(g.LagP99MS), shareText(g.PSISome),
				shareText(g.Steal), render.Sig(g.Load1, 3), render.Sig(g.HarnessCPU, 2), msText(g.GCPauseMS), msText(g.SchedP99MS), sat})
		}
	}
	if len(sec.Lines) == 0 {
		return nil
	}
	if len(t.Rows) > 0 {
		sec.Table = t
	}
	r := s.Figures.GeneratorHealth
	if r == nil && s.NoCache != nil {
		r = s.NoCache.GeneratorHealth
	}
	if r != nil && !r.Rule.Off && sec.Table != nil {
		sec.Foot = append(sec.Foot, fmt.Sprintf("A second is saturated when the scheduling lag p99 exceeds %s, the harness's Go scheduler latency p99 %s, PSI cpu some %s or steal %s (a limit of 0 is not checked); a window is saturated when more than %s of its seconds are (bench run -saturation). Each row is the worst of its seconds.",
			msText(r.Rule.LagP99MS), msText(r.Rule.SchedP99MS), shareText(r.Rule.PSISome), shareText(r.Rule.Steal), render.Percent(r.Rule.Share)))
	}
	return sec
}

// maxHealthRows bounds the timeline rows per mode: a long run's seconds are grouped.
const maxHealthRows = 12

// healthGroup is consecutive samples taken together: the worst of each figure.
type healthGroup struct {
	summary.HealthPoint
	from float64
}

// groupHealth groups a timeline into at most n rows, each the worst of its samples (the
// mean load average).
func groupHealth(points []summary.HealthPoint, n int) []healthGroup {
	if len(points) == 0 {
		return nil
	}
	per := (len(points) + n - 1) / n
	var out []healthGroup
	from := 0.0
	for i := 0; i < len(points); i += per {
		part := points[i:min(i+per, len(points))]
		g := healthGroup{HealthPoint: part[0], from: from}
		load := 0.0
		for _, p := range part {
			g.T, g.LagP99MS, g.PSISome, g.Steal = p.T, max(g.LagP99MS, p.LagP99MS), max(g.PSISome, p.PSISome), max(g.Steal, p.Steal)
			g.HarnessCPU, g.GCPauseMS, g.SchedP99MS = max(g.HarnessCPU, p.HarnessCPU), max(g.GCPauseMS, p.GCPauseMS), max(g.SchedP99MS, p.SchedP99MS)
			g.Saturated = g.Saturated || p.Saturated
			load += p.Load1
		}
		g.Load1 = load / float64(len(part))
		from = g.T
		out = append(out, g)
	}
	return out
}

// msText is a duration in milliseconds for people: "180 ms", "0.42 ms".
func msText(v float64) string { return render.Sig(v, 3) + " ms" }

// shareText is a share as a percent, or a dash when unknown (-1).
func shareText(v float64) string {
	if v < 0 {
		return dash
	}
	return render.Percent(v)
}

// chartHealth is the generator-health chart's file name.
const chartHealth = "generator-health.png"

// healthFigure draws, mode by mode, the attack's scheduling lag p99 and the harness's Go
// scheduler latency p99 a second, and the saturation rule's lag limit: where the generator
// itself fell behind. The machine's PSI and steal are in the report's table.
func healthFigure(s *summary.Summary) (*figure, string) {
	f := newFigure("time since warm-up (s)", "p99 per second (ms)")
	f.faults(faultMarks(s))
	var rule *summary.SaturationRule
	for i, m := range modes(s) {
		h := m.GeneratorHealth
		if h == nil {
			continue
		}
		rule = &h.Rule
		var lag, sched plotter.XYs
		for _, p := range h.Timeline {
			// 0 (no request in that second, a closed loop) has no place on a log axis: a gap.
			if p.LagP99MS > 0 {
				lag = append(lag, plotter.XY{X: p.T, Y: p.LagP99MS})
			}
			if p.SchedP99MS > 0 {
				sched = append(sched, plotter.XY{X: p.T, Y: p.SchedP99MS})
			}
			f.xMin, f.xMax = min(f.xMin, p.T), max(f.xMax, p.T)
		}
		colour := render.Blue
		if i > 0 {
			colour = render.Grey
		}
		f.addRuns(modeLabel(m)+": scheduling lag", splitAtGaps(lag), solid(colour, 1.5))
		f.addRuns(modeLabel(m)+": harness scheduler latency", splitAtGaps(sched), dashed(colour, 1.2))
	}
	if f.points == 0 {
		return nil, "the summary has no generator-health samples"
	}
	if rule != nil && !rule.Off && rule.LagP99MS > 0 {
		f.addRuns("saturation limit "+msText(rule.LagP99MS), []plotter.XYs{{{X: min(f.xMin, 0), Y: rule.LagP99MS}, {X: f.xMax, Y: rule.LagP99MS}}},
			dashed(render.Orange, 1))
	}
	f.timeAxis()
	f.valueAxis(true)
	return f, ""
}
