package gate

import (
	"cmp"
	"slices"
	"strings"

	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

// Direction is which way a metric gets better.
type Direction int

// The directions.
const (
	Neutral      Direction = iota // neither: a change is reported, never judged
	LowerBetter                   // latency, DB queries, errors
	HigherBetter                  // hit rates, success ratio, DB-query reduction, speed-up, achieved rate
)

// String implements fmt.Stringer.
func (d Direction) String() string {
	switch d {
	case LowerBetter:
		return "lower is better"
	case HigherBetter:
		return "higher is better"
	}
	return "neutral"
}

// kind is what the gate knows about a metric from its path.
type kind struct {
	family        string         // latency, hit_rate, db_queries, errors, …
	dir           Direction      //
	unit          threshold.Unit // for printing
	strict        bool           // judged on the worst repeat, no test
	deterministic bool           // judged on the value when samples are too few for a test
	absolute      bool           // tolerance and delta in the metric's own units, not relative
}

// classify reads a metric's kind from its path (a Samples key such as "latency.p99",
// "nocache.db_queries.per_request" or `phases["redis-down"].errors`).
func classify(metric string) kind {
	var fields []string
	var unit threshold.Unit
	if p, err := threshold.ParsePath(metric); err == nil {
		fields, unit = p.Fields(), p.Unit()
	} else {
		for _, f := range strings.Split(metric, ".") {
			if name, _, _ := strings.Cut(f, "["); name != "" {
				fields = append(fields, name)
			}
		}
	}
	if len(fields) > 0 && fields[0] == "nocache" {
		fields = fields[1:]
	}
	if len(fields) > 1 && (fields[0] == "by_endpoint" || fields[0] == "phases") {
		fields = fields[1:]
	}
	if len(fields) == 0 {
		return kind{family: metric}
	}
	k := kind{family: fields[0], unit: unit}
	last := fields[len(fields)-1]
	switch {
	case strings.HasPrefix(k.family, "hit_rate"):
		k.family, k.dir, k.deterministic = "hit_rate", HigherBetter, true
	case k.family == "success_ratio" || k.family == "db_query_reduction":
		k.dir, k.deterministic = HigherBetter, true
	case k.family == "speedup":
		k.dir = HigherBetter
	case k.family == "rate":
		if last == "achieved" {
			k.dir = HigherBetter
		}
	case k.family == "latency" || k.family == "service_time" || unit == threshold.UnitMS:
		k.dir = LowerBetter
	case k.family == "db_queries":
		k.dir, k.deterministic = LowerBetter, true
	case k.family == "errors" || k.family == "isolation_violations" || k.family == "stale_reads":
		k.dir, k.strict = LowerBetter, true
	case k.family == "recovery_s":
		k.dir = LowerBetter
	}
	k.absolute = k.strict || unit == threshold.UnitRatio || k.family == "hit_rate" ||
		k.family == "success_ratio" || k.family == "db_query_reduction"
	if k.unit == "" && k.absolute && !k.strict {
		k.unit = threshold.UnitRatio
	}
	return k
}

// familyOrder and fieldOrder sort the table: what a cache is for first, then latency, then
// the strict counts; no-cache figures after the cache's.
func familyOrder() []string {
	return []string{"hit_rate", "db_queries", "db_query_reduction", "latency", "service_time",
		"server_latency", "speedup", "rate", "success_ratio", "errors", "isolation_violations", "stale_reads"}
}

func fieldOrder() []string {
	return append(summary.HitRateClasses(),
		"per_request", "total", "mean", "p50", "p90", "p95", "p99", "p999", "max", "achieved")
}

func rank(list []string, s string) int {
	if i := slices.Index(list, s); i >= 0 {
		return i
	}
	return len(list)
}

// sortMetrics orders metric paths for the table.
func sortMetrics(ms []string) {
	type key struct {
		nocache, family, field int
		name                   string
	}
	families, fields := familyOrder(), fieldOrder()
	keyOf := func(m string) key {
		k := classify(m)
		last := m[strings.LastIndexAny(m, ".]")+1:]
		nc := 0
		if strings.HasPrefix(m, "nocache.") {
			nc = 1
		}
		return key{nc, rank(families, k.family), rank(fields, last), m}
	}
	slices.SortFunc(ms, func(a, b string) int {
		ka, kb := keyOf(a), keyOf(b)
		return cmp.Or(cmp.Compare(ka.nocache, kb.nocache), cmp.Compare(ka.family, kb.family),
			cmp.Compare(ka.field, kb.field), cmp.Compare(ka.name, kb.name))
	})
}

// fallbackMetrics are compared when neither summary has Samples: the gated metrics, read
// once from each summary.
func fallbackMetrics() []string { return summary.GatedPaths() }
