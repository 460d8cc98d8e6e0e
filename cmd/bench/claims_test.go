package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/atlasbench/atlasbench/internal/claims"
)

// readScorecard reads out/latest-claims/claims.json and checks it against its schema.
func readScorecard(t *testing.T, out string) *claims.Scorecard {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(out, "latest-claims", claims.FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	v, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(claims.SchemaJSON), gojsonschema.NewBytesLoader(raw))
	if err != nil || !v.Valid() {
		t.Fatalf("claims.json against its schema: %v %v", err, v.Errors())
	}
	var sc claims.Scorecard
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatal(err)
	}
	return &sc
}

func verdicts(sc *claims.Scorecard) map[string]claims.Row {
	out := map[string]claims.Row{}
	for _, r := range sc.Rows {
		out[r.ID] = r
	}
	return out
}

// quickClaims are the claims TestClaimsQuick measures: a swept one (the calibration, the
// world and the sweep, the chart), the correctness claims whose verdicts are counts that do
// not follow the machine's speed, the TTL safety net (lost invalidations leave stale reads
// whatever the speed), the devices' caches and the rolling deploy.
var quickClaims = []string{"db-reduction", "tier-isolation", "no-poisoning", "ttl-safety-net", "frontend-caching", "graceful-shutdown"}

// TestClaimsQuick runs part of the scorecard seconds-long, on the safe cache layer, and checks
// its structure: every selected claim gets a verdict computed from checks with its evidence
// on disk, claims.json is valid, the JUnit file and the exit code follow the verdicts. Of the
// verdicts it asserts only those that are counts independent of the machine's speed.
func TestClaimsQuick(t *testing.T) {
	out := t.TempDir()
	junit := filepath.Join(out, "claims-junit.xml")
	stdout, stderr, code := runBench(t, context.Background(), nil, "claims", "-quick", "-redis", "process", "-out", out, "-quiet",
		"-junit", junit, "-claims", strings.Join(quickClaims, ","), "-parallel", "5")
	if code != exitOK && code != exitFail {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	sc := readScorecard(t, out)
	rows := verdicts(sc)
	if len(sc.Rows) != len(quickClaims) {
		t.Fatalf("%d rows, want %d", len(sc.Rows), len(quickClaims))
	}
	for _, id := range quickClaims {
		r, ok := rows[id]
		switch {
		case !ok:
			t.Errorf("%s: no row", id)
			continue
		case len(r.Checks) == 0 || len(r.Evidence) == 0:
			t.Errorf("%s: %d checks, %d pieces of evidence", id, len(r.Checks), len(r.Evidence))
		}
		failing := 0
		for _, cr := range r.Checks {
			if !cr.Pass && cr.Error == "" {
				failing++
			}
		}
		if (r.Verdict == claims.Fails) != (failing > 0) {
			t.Errorf("%s: %s with %d failing checks (%s)", id, r.Verdict, failing, r.Reason)
		}
		for _, e := range r.Evidence {
			if _, err := os.Stat(e.Summary); err != nil {
				t.Errorf("%s: evidence %s: %v", id, e.Summary, err)
			}
		}
	}
	if n := len(sc.RunFailed()); n > 0 {
		t.Errorf("claims not measured because a run failed: %v", sc.RunFailed())
	}
	for _, id := range []string{"tier-isolation", "no-poisoning", "frontend-caching"} {
		if r := rows[id]; r.Verdict != claims.Holds {
			t.Errorf("%s: %s (%s), want HOLDS on the safe layer; measured %s", id, r.Verdict, r.Reason, r.Measured)
		}
	}
	if r := rows["ttl-safety-net"]; r.Verdict != claims.Fails {
		t.Errorf("ttl-safety-net: %s, want FAILS: naive cache-aside under a partition serves stale reads until the TTL (%s)", r.Verdict, r.Measured)
	}
	// The deploy's restarts happened, whatever their verdict on this machine.
	if r := rows["graceful-shutdown"]; len(r.Checks) == 0 || !r.Checks[0].Pass || r.Checks[0].Value != 3 {
		t.Errorf("graceful-shutdown: restarts %+v, want 3", r.Checks)
	}
	if sc.Calibration == nil || sc.Calibration.LatencyMS <= 0 || sc.Calibration.WorldP50MS <= 0 {
		t.Errorf("calibration %+v", sc.Calibration)
	}
	if want := map[bool]int{true: exitFail, false: exitOK}[sc.Fails > 0]; code != want {
		t.Errorf("exit %d with %d failing claims, want %d", code, sc.Fails, want)
	}
	if r := rows["db-reduction"]; r.Sweep == nil || len(r.Sweep.Points) < 2 {
		t.Errorf("db-reduction: sweep %+v, want 2 points", r.Sweep)
	}
	html, _ := os.ReadFile(filepath.Join(out, "latest-claims", claims.FileHTML))
	if !strings.Contains(string(html), "data:image/png;base64,") {
		t.Error("claims.html embeds no chart")
	}
	if !strings.Contains(stdout, "Where they hold:") || !strings.Contains(stdout, "FAILS") {
		t.Errorf("stdout lacks the table:\n%s", stdout)
	}
	var suites struct {
		Failures int `xml:"failures,attr"`
		Tests    int `xml:"tests,attr"`
	}
	data, err := os.ReadFile(junit)
	if err != nil || xml.Unmarshal(data, &suites) != nil || suites.Tests == 0 || (suites.Failures > 0) != (sc.Fails > 0) {
		t.Errorf("junit: %v %+v with %d failing claims", err, suites, sc.Fails)
	}
}

// TestClaimsFlip runs the layer-judging claims on the default layer and on the weakened
// layers that exist, side by side: the row each weakened layer must break fails there, and
// the failure is the layer's, not the machine's: the failing figure is one the default
// layer, measured in the same test, does not show (or shows far less of).
func TestClaimsFlip(t *testing.T) {
	ids := []string{"tier-invalidation", "fallback"}
	measure := func(t *testing.T, config string, ids ...string) map[string]claims.Row {
		out := t.TempDir()
		stdout, stderr, code := runBench(t, context.Background(), nil, "claims", "-quick", "-redis", "process", "-quiet",
			"-config", config, "-claims", strings.Join(ids, ","), "-out", out)
		if code != exitOK && code != exitFail {
			t.Fatalf("%s: exit %d\n%s\n%s", config, code, stdout, stderr)
		}
		rows := verdicts(readScorecard(t, out))
		for _, id := range ids {
			if r := rows[id]; r.Verdict == claims.NotMeasured {
				t.Fatalf("%s on %s: not measured: %s", id, config, r.Reason)
			}
		}
		return rows
	}
	var def, weakInv, weakClient map[string]claims.Row
	t.Run("layers", func(t *testing.T) {
		for _, l := range []struct {
			config string
			ids    []string
			rows   *map[string]claims.Row
		}{
			{"default", ids, &def},
			// Naive cache-aside: invalidations that fail while Redis is unreachable are dropped.
			{filepath.Join("testdata", "weak-invalidation.yaml"), ids[:1], &weakInv},
			// go-redis's own seconds-long timeouts: a partitioned Redis holds requests for seconds.
			{filepath.Join("testdata", "weak-client.yaml"), ids[1:], &weakClient},
		} {
			t.Run(filepath.Base(l.config), func(t *testing.T) {
				t.Parallel()
				*l.rows = measure(t, l.config, l.ids...)
			})
		}
	})
	if t.Failed() {
		return
	}
	// Lost invalidations are stale reads; the default layer keeps the user pending instead, so
	// it has none at any speed.
	staleOn := func(r claims.Row) float64 {
		total := 0.0
		for _, cr := range r.Checks {
			if strings.HasPrefix(cr.Expr, "stale_reads") {
				total += cr.Value
			}
		}
		return total
	}
	if r := weakInv["tier-invalidation"]; r.Verdict != claims.Fails || staleOn(r) == 0 {
		t.Errorf("tier-invalidation on weak-invalidation: %s (%s), want FAILS with stale reads; measured %s", r.Verdict, r.Reason, r.Measured)
	}
	if r := def["tier-invalidation"]; staleOn(r) != 0 {
		t.Errorf("tier-invalidation on the default layer: %s, stale reads; measured %s", r.Verdict, r.Measured)
	}
	// A stalled Redis holds requests for go-redis's seconds-long timeouts: the worst latency of a
	// fault phase beyond the budget, and beyond the default layer's in the same test.
	worst := func(r claims.Row) float64 {
		m := 0.0
		for _, cr := range r.Checks {
			if strings.Contains(cr.Expr, "latency.max") {
				m = max(m, cr.Value)
			}
		}
		return m
	}
	wc, dc := weakClient["fallback"], def["fallback"]
	if wc.Verdict != claims.Fails || !strings.Contains(wc.Reason, "latency.max") {
		t.Errorf("fallback on weak-client: %s (%s), want FAILS on a fault phase's worst latency; measured %s", wc.Verdict, wc.Reason, wc.Measured)
	}
	if worst(wc) <= worst(dc) {
		t.Errorf("fallback: worst fault-phase latency %.0f ms on weak-client, %.0f ms on the default layer: the flip is not the layer's", worst(wc), worst(dc))
	}
	t.Logf("tier-invalidation: default %s (%s), weak-invalidation %s (%s)", def["tier-invalidation"].Verdict, def["tier-invalidation"].Measured,
		weakInv["tier-invalidation"].Verdict, weakInv["tier-invalidation"].Measured)
	t.Logf("fallback: default %s (worst %.0f ms), weak-client %s (worst %.0f ms)", dc.Verdict, worst(dc), wc.Verdict, worst(wc))
}

// TestClaimsUsage: bad flags are usage errors that start nothing.
func TestClaimsUsage(t *testing.T) {
	out := t.TempDir()
	for _, args := range [][]string{
		{"-claims", "nope"},
		{"-config", "no-such-config.yaml"},
		{"-parallel", "-1"},
		{"extra"},
	} {
		_, stderr, code := runBench(t, context.Background(), nil, append([]string{"claims", "-out", out}, args...)...)
		if code != exitUsage {
			t.Errorf("claims %v: exit %d, want %d\n%s", args, code, exitUsage, stderr)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		t.Errorf("usage errors left %v behind", entries)
	}
}
