package compare

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// standing is one configuration's headline figures, for the recommendation.
type standing struct {
	i                    int
	name                 string
	hit, dbq, p99        float64
	hasHit, hasDB, hasLt bool
	errors, iso, stale   float64
	cache                *summary.CacheConfig
	wins                 int
	p99Same              bool // the table finds its p99 not significantly different from the first config's
}

// Margins within which two configurations count as equally good on a figure.
const (
	hitMargin = 0.005 // half a point of tier hit rate
	dbqMargin = 0.01  // 1% of DB queries per request
	p99Margin = 0.02  // 2% of p99 latency
	// p99Noticed is the smallest p99 change the recommendation mentions, and only when the
	// table does not mark it as not significant: latency is noisy.
	p99Noticed = 0.05
)

// recommend derives a one-line recommendation from the table: the configuration that is best
// on most of tier hit rate, DB queries per request and p99 (among those without isolation
// violations or stale reads), what it gains and costs against the first configuration, and
// what each other configuration costs. No configuration name is assumed.
func recommend(runs []Run, t *Table) string {
	if len(runs) < 2 {
		return fmt.Sprintf("only %s ran: nothing to compare", runs[0].Config)
	}
	st := make([]*standing, len(runs))
	for i, r := range runs {
		s := &standing{i: i, name: r.Config, cache: cacheOf(r)}
		s.hit, s.hasHit = t.Value(r.Config, "hit_rate.tier")
		s.dbq, s.hasDB = t.Value(r.Config, "db_queries.per_request")
		s.p99, s.hasLt = t.Value(r.Config, "latency.p99")
		s.errors, _ = t.Value(r.Config, "errors")
		s.iso, _ = t.Value(r.Config, "isolation_violations")
		s.stale, _ = t.Value(r.Config, "stale_reads")
		st[i] = s
	}
	for _, s := range st[1:] {
		if c, ok := t.cell(s.name, "latency.p99"); ok && c.Mark == MarkNotSignificant {
			s.p99Same = true
		}
	}
	safe := slices.DeleteFunc(slices.Clone(st), func(s *standing) bool { return s.iso > 0 || s.stale > 0 })
	var unsafe []string
	for _, s := range st {
		if s.iso > 0 || s.stale > 0 {
			unsafe = append(unsafe, s.name+": "+correctness(s))
		}
	}
	if len(safe) == 0 {
		return "no config is safe to use: " + strings.Join(unsafe, "; ")
	}
	ref := st[0]
	if same := noneDiffers(t, st); same && len(unsafe) == 0 {
		// Every difference to the first config is within noise: no config is better.
		return fmt.Sprintf("no recommendation: the %d configs' tier hit rate, DB queries per request and p99 latency do not differ significantly from %s's (every difference is ~)",
			len(st), ref.name)
	}
	best := pickBest(safe)

	var parts []string
	if best == ref {
		parts = append(parts, fmt.Sprintf("%s: the best figures of the %d configs (%s)", ref.name, len(st), headline(ref)))
	} else {
		parts = append(parts, tradeoff(best, ref))
	}
	for _, s := range st {
		if s == best || s == ref && best != ref {
			continue
		}
		parts = append(parts, others(s, ref, best))
	}
	return strings.Join(parts, "; ")
}

// pickBest ranks the candidates by how many of the three figures they are best at (within
// the margins), then by fewer DB queries, a higher hit rate, and column order.
func pickBest(cands []*standing) *standing {
	maxHit, minDB, minLt := -1.0, -1.0, -1.0
	for _, s := range cands {
		if s.hasHit && (maxHit < 0 || s.hit > maxHit) {
			maxHit = s.hit
		}
		if s.hasDB && (minDB < 0 || s.dbq < minDB) {
			minDB = s.dbq
		}
		if s.hasLt && (minLt < 0 || s.p99 < minLt) {
			minLt = s.p99
		}
	}
	for _, s := range cands {
		s.wins = 0
		if s.hasHit && s.hit >= maxHit-hitMargin {
			s.wins++
		}
		if s.hasDB && s.dbq <= minDB*(1+dbqMargin) {
			s.wins++
		}
		if s.hasLt && s.p99 <= minLt*(1+p99Margin) {
			s.wins++
		}
	}
	sorted := slices.Clone(cands)
	slices.SortStableFunc(sorted, func(a, b *standing) int {
		return cmp.Or(cmp.Compare(b.wins, a.wins), cmp.Compare(a.dbq, b.dbq), cmp.Compare(b.hit, a.hit), cmp.Compare(a.i, b.i))
	})
	return sorted[0]
}

// tradeoff says what best gains and costs against ref.
func tradeoff(best, ref *standing) string {
	var gains, costs []string
	if best.hasHit && ref.hasHit {
		switch d := best.hit - ref.hit; {
		case d >= hitMargin:
			gains = append(gains, trim0(signed(100*d, 1))+" pts tier hit rate")
		case d <= -hitMargin:
			costs = append(costs, trim0(signed(100*d, 1))+" pts tier hit rate")
		}
	}
	if best.hasDB && ref.hasDB && ref.dbq > 0 {
		switch r := best.dbq / ref.dbq; {
		case r <= 1-dbqMargin:
			gains = append(gains, signed(100*(r-1), 0)+"% DB queries/request")
		case r >= 1+dbqMargin:
			costs = append(costs, signed(100*(r-1), 0)+"% DB queries/request")
		}
	}
	if best.hasLt && ref.hasLt && ref.p99 > 0 && !best.p99Same {
		switch r := best.p99 / ref.p99; {
		case r <= 1-p99Noticed:
			gains = append(gains, signed(100*(r-1), 0)+"% p99 latency")
		case r >= 1+p99Noticed:
			costs = append(costs, signed(100*(r-1), 0)+"% p99 latency")
		}
	}
	if best.errors > ref.errors {
		costs = append(costs, fmt.Sprintf("%s more errors", strconv.FormatFloat(best.errors-ref.errors, 'f', -1, 64)))
	}
	if lo, hi, ok := ttlRatio(best.cache, ref.cache); ok {
		switch {
		case lo >= 1.05:
			costs = append(costs, "longer staleness windows (TTLs "+factorRange(lo, hi)+"× longer)")
		case hi <= 1/1.05:
			gains = append(gains, "shorter staleness windows (TTLs "+factorRange(1/hi, 1/lo)+"× shorter)")
		}
	}
	line := best.name + ": "
	if len(gains) == 0 {
		line += "as good as " + ref.name
	} else {
		line += strings.Join(gains, " and ") + " vs " + ref.name
	}
	if len(costs) == 0 {
		return line + ", with no measured cost"
	}
	return line + ", at the cost of " + strings.Join(costs, ", ")
}

// others says what choosing s instead of the recommendation costs, against ref.
func others(s, ref, best *standing) string {
	var parts []string
	if s.iso > 0 || s.stale > 0 {
		parts = append(parts, "unsafe: "+correctness(s))
	}
	if s.hasHit {
		parts = append(parts, shortPct(s.hit)+" tier hit rate")
	}
	cmpTo := ref
	if s == ref {
		cmpTo = best
	}
	if s.hasDB && cmpTo.hasDB && cmpTo.dbq > 0 {
		switch r := s.dbq / cmpTo.dbq; {
		case r >= 1.1:
			parts = append(parts, sig2(r)+"× the DB queries/request of "+cmpTo.name)
		case r <= 0.9:
			parts = append(parts, signed(100*(r-1), 0)+"% DB queries/request vs "+cmpTo.name)
		}
	}
	if s.hasLt && cmpTo.hasLt && cmpTo.p99 > 0 && !(s.p99Same && cmpTo == ref) {
		if r := s.p99 / cmpTo.p99; r >= 1+2*p99Noticed {
			parts = append(parts, signed(100*(r-1), 0)+"% p99 latency vs "+cmpTo.name)
		}
	}
	if len(parts) == 0 {
		return s.name + ": no better on any figure"
	}
	return s.name + ": " + strings.Join(parts, ", ")
}

// headline is a configuration's three figures.
func headline(s *standing) string {
	var parts []string
	if s.hasHit {
		parts = append(parts, shortPct(s.hit)+" tier hit rate")
	}
	if s.hasDB {
		parts = append(parts, sig3(s.dbq)+" DB queries/request")
	}
	if s.hasLt {
		parts = append(parts, "p99 "+formatValue("latency.p99", s.p99))
	}
	return strings.Join(parts, ", ")
}

func correctness(s *standing) string {
	var parts []string
	if s.iso > 0 {
		parts = append(parts, strconv.FormatFloat(s.iso, 'f', -1, 64)+" isolation violations")
	}
	if s.stale > 0 {
		parts = append(parts, strconv.FormatFloat(s.stale, 'f', -1, 64)+" stale reads")
	}
	return strings.Join(parts, " and ")
}

// shortPct writes a ratio as a percentage without a needless ".0": 0 → "0%", 0.821 → "82.1%".
func shortPct(v float64) string {
	return strings.Replace(pct(v), ".0%", "%", 1)
}

// cacheOf returns the run's effective cache config as its summary recorded it, or nil.
func cacheOf(r Run) *summary.CacheConfig { return r.Summary.CacheConfig }

// ttlRatio is the range of a's TTLs over b's, over every tier and class both cache.
func ttlRatio(a, b *summary.CacheConfig) (lo, hi float64, ok bool) {
	if a == nil || b == nil || !a.Enabled || !b.Enabled {
		return 0, 0, false
	}
	for tier, classes := range a.TTLSeconds {
		for class, ta := range classes {
			tb := b.TTLSeconds[tier][class]
			if ta <= 0 || tb <= 0 {
				continue
			}
			r := float64(ta) / float64(tb)
			if !ok {
				lo, hi, ok = r, r, true
				continue
			}
			lo, hi = min(lo, r), max(hi, r)
		}
	}
	return lo, hi, ok
}

// factorRange writes a range of factors: "3", "3–4", "1.5–2".
func factorRange(lo, hi float64) string {
	a, b := sig2(lo), sig2(hi)
	if a == b {
		return a
	}
	return a + "–" + b
}

// headlineMetrics are the figures the recommendation weighs.
func headlineMetrics() []string {
	return []string{"hit_rate.tier", "db_queries.per_request", "latency.p99"}
}

// noneDiffers reports whether every other config's headline figures are marked not
// significantly different (~) from the first config's: then the table gives no ground to
// call any config the best.
func noneDiffers(t *Table, st []*standing) bool {
	for _, s := range st[1:] {
		for _, m := range headlineMetrics() {
			if c, ok := t.cell(s.name, m); ok && c.Mark != MarkNotSignificant {
				return false
			}
		}
	}
	return true
}
