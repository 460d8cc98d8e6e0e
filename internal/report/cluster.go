package report

import (
	"cmp"
	"image/color"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// The Redis Cluster charts' file names: drawn only when the run's Redis is a cluster.
const (
	chartSlotRangeHitRate = "hit-rate-slot-ranges.png"
	chartNodeKeys         = "keys-per-node.png"
)

// ClusterCharts returns the file names of the charts Render draws only for a run on a
// Redis Cluster (summary redis.topology.kind "cluster"), in report order.
func ClusterCharts() []string {
	return []string{chartSlotRangeHitRate, chartNodeKeys}
}

// isCluster reports whether the run's Redis was a Redis Cluster.
func isCluster(s *summary.Summary) bool {
	return s.Redis != nil && s.Redis.Topology.Kind == summary.TopologyCluster
}

// slotRangeHitRateFigure: each slot range's hit rate per second
// (series.hit_rate_by_slot_range), 0–100%, seconds without lookups left out, fault windows
// shaded: a node's fault should dent only its own slot range's line.
func slotRangeHitRateFigure(s *summary.Summary) (*figure, string) {
	if s.Series == nil || len(s.Series.HitRateBySlotRange) == 0 {
		return nil, "the summary has no per-slot-range hit-rate series"
	}
	f := newFigure("time since warm-up (s)", "hit rate (%)")
	f.faults(faultMarks(s))
	names := make([]string, 0, len(s.Series.HitRateBySlotRange))
	for name := range s.Series.HitRateBySlotRange {
		names = append(names, name)
	}
	slices.SortFunc(names, compareSlotRanges)
	for i, name := range names {
		f.series(name, s.Series.HitRateBySlotRange[name], nonNegative, 100, solid(render.Cycle(i), 1.75))
	}
	if f.points == 0 {
		return nil, "no second of the run had a cache lookup"
	}
	f.timeAxis()
	p := f.plot
	p.Y.Min, p.Y.Max = -2, 102
	p.Y.Tick.Marker = plot.ConstantTicks(render.PercentTicks())
	f.addHeadroom()
	return f, ""
}

// compareSlotRanges orders "slots-2" before "slots-10" (a v1 summary's "shard-2" before
// "shard-10"), anything else by name after them.
func compareSlotRanges(a, b string) int {
	number := func(name string) (int, error) {
		if n, ok := strings.CutPrefix(name, "slots-"); ok {
			return strconv.Atoi(n)
		}
		return strconv.Atoi(strings.TrimPrefix(name, "shard-"))
	}
	na, errA := number(a)
	nb, errB := number(b)
	switch {
	case errA == nil && errB == nil:
		return cmp.Compare(na, nb)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// nodeKeysFigure: the keys each node holds at the end of the run (redis.nodes[]), one bar
// per node coloured by its role then (a node that was down: grey), labelled with its keys
// and used memory.
func nodeKeysFigure(s *summary.Summary) (*figure, string) {
	if s.Redis == nil || len(s.Redis.Nodes) == 0 {
		return nil, "the summary has no Redis nodes"
	}
	nodes := s.Redis.Nodes
	f := newFigure("node (role at the end of the run)", "keys")
	p := f.plot
	groups := make([]string, len(nodes))
	for i, n := range nodes {
		groups[i] = n.Name + " (" + n.Role + ")"
		if !n.Up {
			groups[i] = n.Name + " (down)"
		}
		f.yMax = max(f.yMax, float64(n.Keys))
	}
	p.NominalX(groups...)
	p.X.Min, p.X.Max = -0.5, float64(len(nodes))-0.5
	barW := vg.Points(min(60, 0.6*float64(estimatedDataWidth(true))/float64(len(nodes))))
	kinds := []struct {
		label string
		c     color.Color
		is    func(summary.RedisNode) bool
	}{
		{"master", render.Blue, func(n summary.RedisNode) bool { return n.Up && n.Role == "master" }},
		{"replica", render.Sky, func(n summary.RedisNode) bool { return n.Up && n.Role != "master" }},
		{"down", render.LightGrey, func(n summary.RedisNode) bool { return !n.Up }},
	}
	for _, k := range kinds {
		vals := make(plotter.Values, len(nodes))
		some := false
		for i, n := range nodes {
			if k.is(n) {
				vals[i], some = float64(n.Keys), true
			}
		}
		if !some {
			continue
		}
		bc, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return nil, "drawing failed: " + err.Error()
		}
		bc.Color, bc.LineStyle.Width = k.c, 0
		p.Add(bc)
		f.legend = append(f.legend, legendEntry{k.label, bc})
	}
	style := render.ValueLabelStyle()
	keys := make([]float64, len(nodes))
	labels := make([]string, len(nodes))
	for i, n := range nodes {
		keys[i] = float64(n.Keys)
		labels[i] = count(n.Keys) + " · " + sig(float64(n.UsedMemory)/mib, 3) + " MiB"
	}
	p.Add(&render.ValueLabels{Values: keys, Labels: labels, Style: style})
	f.points = len(nodes)
	top := max(f.yMax, 1) * 1.15 // room for the labels above the tallest bar
	p.Y.Min, p.Y.Max = 0, top
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	p.X.Tick.Label.Font = render.Font(9)
	return f, ""
}
