package threshold

import (
	"bytes"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestLatencyClassification: which thresholds a saturated generator makes INCONCLUSIVE.
func TestLatencyClassification(t *testing.T) {
	for path, want := range map[string]bool{
		"latency.p99":                         true,
		"nocache.latency.p50":                 true,
		"service_time.p99":                    true,
		"latency_hits.mean":                   true,
		`by_endpoint["GET /api/me"].p99`:      true,
		`phases["redis-down"].latency.max`:    true,
		`phases["redis-down"].p99`:            true,
		"server_latency.p99":                  true,
		"speedup.p50":                         true,  // a ratio of latencies
		"rate.achieved":                       true,  // the generator's own pace
		"generator_health.aggregates.lag_p99": false, // what saturation is judged from
		"errors":                              false,
		"isolation_violations":                false,
		"stale_reads":                         false,
		"hit_rate.tier":                       false,
		"db_queries.per_request":              false,
		"db_query_reduction":                  false,
		`phases["recovery"].recovery_s`:       false, // timed from the server's counters
		"stale_max_s":                         false,
		"success_ratio":                       false,
	} {
		p, err := ParsePath(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if p.Latency() != want {
			t.Errorf("%s: Latency() = %v, want %v", path, p.Latency(), want)
		}
	}
}

// TestInconclusive: a saturated run's latency thresholds are neither passed nor failed,
// its counts are judged as always, and the verdict is INCONCLUSIVE only when nothing failed.
func TestInconclusive(t *testing.T) {
	s := &summary.Summary{Mode: summary.ModeCache, Figures: summary.Figures{
		Latency: summary.Latency{P99: 500}, Errors: 0, StaleReads: 3}}
	ts := EvalAll([]string{"latency.p99 <= 50ms", "errors == 0", "speedup.p50 >= 2"}, s)
	if n := Inconclusive(ts, "the generator was saturated"); n != 1 {
		t.Fatalf("marked %d, want 1 (speedup is not applicable to one mode): %+v", n, ts)
	}
	if ts[0].Inconclusive == "" || ts[0].Pass || ts[0].Value != 500 || !ts[1].Pass || ts[1].Inconclusive != "" || ts[2].NotApplicable == "" {
		t.Fatalf("%+v", ts)
	}
	if Failed(ts) != 0 || !OnlyInconclusive(ts) || Passed(ts) {
		t.Errorf("failed %d, only inconclusive %v, passed %v", Failed(ts), OnlyInconclusive(ts), Passed(ts))
	}
	// A count that fails still fails: the verdict is FAIL, not INCONCLUSIVE.
	ts = EvalAll([]string{"latency.p99 <= 50ms", "stale_reads == 0"}, s)
	Inconclusive(ts, "saturated")
	if Failed(ts) != 1 || OnlyInconclusive(ts) {
		t.Errorf("failed %d, only inconclusive %v; want 1, false: %+v", Failed(ts), OnlyInconclusive(ts), ts)
	}
	var table, junit bytes.Buffer
	if err := WriteTable(&table, ts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "INCONCLUSIVE  latency.p99 <= 50ms  500ms (inconclusive: saturated)") ||
		!strings.Contains(table.String(), "1 of 2 thresholds failed, 1 INCONCLUSIVE") {
		t.Errorf("table:\n%s", table.String())
	}
	if err := JUnit(&junit, "smoke", ts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junit.String(), `<skipped message="INCONCLUSIVE: measured 500ms: saturated">`) ||
		!strings.Contains(junit.String(), `failures="1"`) {
		t.Errorf("junit:\n%s", junit.String())
	}
}
