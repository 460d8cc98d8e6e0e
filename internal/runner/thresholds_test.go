package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/scenarios"
)

// A threshold that does not parse is refused before anything starts, naming the scenario
// file, the line and the thresholds[i] field; every bad one is reported.
func TestCheckThresholdsNamesFileAndLine(t *testing.T) {
	sc, err := scenarios.Parse("x.yaml", []byte(`name: t
duration: 10s
rate: {rps: 10}
mix: [{req: "GET /api/me", weight: 1}]
thresholds:
  - errors == 0
  - latency.p99 <= 5%
  - hit_rate.tier >= 120%
`))
	if err != nil {
		t.Fatal(err)
	}
	err = checkThresholds(sc)
	want := `x.yaml:7: thresholds[1]: threshold "latency.p99 <= 5%": col 16: % applies only to ratios (hit_rate…, success_ratio, db_query_reduction), not to latency.p99
x.yaml:8: thresholds[2]: threshold "hit_rate.tier >= 120%": col 18: hit_rate.tier is a ratio and cannot exceed 100%`
	if err == nil || err.Error() != want {
		t.Fatalf("checkThresholds:\n got %v\nwant %s", err, want)
	}
	good, err := scenarios.Load("smoke")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkThresholds(good); err != nil {
		t.Errorf("smoke's thresholds: %v", err)
	}
}

// TestAbortRules: only a count that grows (errors, isolation_violations, stale_reads) under
// ==, <= or < may abort a run; anything else is refused with its file, line and field.
func TestAbortRules(t *testing.T) {
	sc, err := scenarios.Parse("abort.yaml", []byte(`duration: 10s
rate: 10
mix: [{req: GET /api/me, weight: 1}]
thresholds:
  - {expr: "errors <= 3", abort: true, grace: 1s}
  - {expr: "latency.p99 <= 50ms", abort: true}
  - {expr: "stale_reads >= 1", abort: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := abortRules(sc)
	if len(rules) != 1 || rules[0].count != "errors" || rules[0].limit != 3 || rules[0].grace != time.Second {
		t.Errorf("rules = %+v, want errors <= 3 with 1s of grace", rules)
	}
	for _, want := range []string{`abort.yaml:6: thresholds[1].abort: "latency.p99 <= 50ms" cannot be lost for good`, `abort.yaml:7: thresholds[2].abort: "stale_reads >= 1"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
}
