package runner

import (
	"testing"

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
