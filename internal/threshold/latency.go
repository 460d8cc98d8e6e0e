package threshold

import "github.com/atlasbench/atlasbench/internal/summary"

// Latency reports whether p's figure is one a saturated load generator distorts, so that a
// verdict on it is INCONCLUSIVE when the generator was saturated (docs/SCENARIOS.md,
// "Latency-based thresholds"): every figure in milliseconds (latency, service time,
// latency_hits, the server's histogram, an endpoint's or a phase's percentiles, a server
// instance's p99, the client caches' p50s, drain times), the speed-up (a ratio of
// latencies) and the attack's own pace (rate.*). The generator's health itself is not:
// it is what saturation is judged from. Counts, hit rates, DB queries, ratios of counts,
// and the seconds of recovery_s, back_after_s and stale_max_s (timed from the server's
// counters and the fault times, a second apart) are judged as always.
func (p Path) Latency() bool {
	fields := p.fields
	if len(fields) > 0 && fields[0] == "nocache" {
		fields = fields[1:]
	}
	if len(fields) == 0 {
		return false
	}
	switch fields[0] {
	case "generator_health":
		return false
	case "speedup", "rate":
		return true
	}
	return p.unit == UnitMS
}

// Inconclusive marks the latency thresholds of ts (Path.Latency) as INCONCLUSIVE, for why
// (the generator was saturated): each keeps its measured value with neither a pass nor a
// fail (Pass false, Inconclusive set). Thresholds not applicable, not judged or in error
// stay so; every other threshold keeps its verdict. It returns how many it marked.
func Inconclusive(ts []summary.Threshold, why string) int {
	n := 0
	for i := range ts {
		t := &ts[i]
		if t.NotApplicable != "" || t.NotJudged != "" || t.Error != "" {
			continue
		}
		if e, err := Parse(t.Expr); err == nil && e.Path.Latency() {
			t.Pass, t.Inconclusive = false, why
			n++
		}
	}
	return n
}

// Failed counts the thresholds that failed or could not be evaluated; the inconclusive,
// the not judged and the not applicable are none of them.
func Failed(ts []summary.Threshold) int {
	n := 0
	for _, t := range ts {
		if !t.Pass && t.Inconclusive == "" && t.NotJudged == "" {
			n++
		}
	}
	return n
}

// OnlyInconclusive reports whether no threshold of ts failed and at least one is
// INCONCLUSIVE: the run's verdict is INCONCLUSIVE (bench run and bench gate exit 4).
func OnlyInconclusive(ts []summary.Threshold) bool {
	if Failed(ts) > 0 {
		return false
	}
	for _, t := range ts {
		if t.Inconclusive != "" {
			return true
		}
	}
	return false
}
