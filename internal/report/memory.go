package report

import (
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// chartRedisMemory is the Redis-memory-over-time chart's file name.
const chartRedisMemory = "redis-memory.png"

const mib = 1 << 20

// redisMemoryFigure: the run's Redis used memory over time (MiB, sampled every few
// seconds, warm-up included at negative times), its maxmemory as a dashed line, faults
// shaded. Memory that levels off is what a cache with no garbage looks like; memory that
// climbs with writes is not.
func redisMemoryFigure(s *summary.Summary) (*figure, string) {
	m := s.RedisMemory
	if m == nil || len(m.Series) == 0 {
		if s.Figures.Mode == summary.ModeNoCache {
			return nil, "a no-cache run has no Redis"
		}
		return nil, "the summary has no Redis memory samples"
	}
	f := newFigure("time since warm-up (s)", "Redis used memory (MiB)")
	f.faults(faultMarks(s))
	var used plotter.XYs
	for _, p := range m.Series {
		used = append(used, plotter.XY{X: p.T, Y: float64(p.UsedBytes) / mib})
		f.xMin, f.xMax = min(f.xMin, p.T), max(f.xMax, p.T)
	}
	f.addRuns("used memory", splitAtGaps(used), solid(render.Blue, 1.5))
	if m.MaxMemoryBytes > 0 {
		// The limit as a line only when the data comes near it; far below, a line at the
		// limit would flatten the curve that matters, so the limit is named in the legend.
		limit := float64(m.MaxMemoryBytes) / mib
		label := "maxmemory " + sig(limit, 3) + " MiB"
		if m.Policy != "" {
			label += ", " + m.Policy
		}
		if f.yMax >= limit/4 {
			f.addRuns(label, []plotter.XYs{{{X: f.xMin, Y: limit}, {X: f.xMax, Y: limit}}}, dashed(render.Grey, 1.5))
		} else {
			f.legend[len(f.legend)-1].label = "used memory (" + label + ")"
		}
	}
	if f.points == 0 {
		return nil, "the summary has no Redis memory samples"
	}
	f.plot.X.Min, f.plot.X.Max = min(f.xMin, 0), max(f.xMax, 1)
	f.plot.X.Tick.Marker = plot.TickerFunc(niceTicks)
	f.valueAxis(false)
	return f, ""
}

// splitAtGaps breaks samples taken at a steady interval into runs wherever one or more
// samples are missing (Redis down during a fault answers no INFO): a line drawn across the
// gap would show figures nothing measured. A gap is a step of more than 1.5 times the
// median step.
func splitAtGaps(pts plotter.XYs) []plotter.XYs {
	if len(pts) < 3 {
		return []plotter.XYs{pts}
	}
	steps := make([]float64, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		steps = append(steps, pts[i].X-pts[i-1].X)
	}
	slices.Sort(steps)
	limit := 1.5 * steps[len(steps)/2]
	var runs []plotter.XYs
	start := 0
	for i := 1; i < len(pts); i++ {
		if pts[i].X-pts[i-1].X > limit {
			runs, start = append(runs, pts[start:i]), i
		}
	}
	return append(runs, pts[start:])
}
