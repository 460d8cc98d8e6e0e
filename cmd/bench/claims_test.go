package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/atlasbench/atlasbench/internal/claims"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// readScorecard reads out/latest-claims/claims.json and checks it against its schema.
func readScorecard(t *testing.T, out string) *claims.Scorecard {
	t.Helper()
	sc, err := loadScorecard(out)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// loadScorecard is readScorecard returning its error (for goroutines, which must not t.Fatal).
func loadScorecard(out string) (*claims.Scorecard, error) {
	raw, err := os.ReadFile(filepath.Join(out, "latest-claims", claims.FileJSON))
	if err != nil {
		return nil, err
	}
	v, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(claims.SchemaJSON), gojsonschema.NewBytesLoader(raw))
	if err != nil {
		return nil, fmt.Errorf("claims.json against its schema: %w", err)
	}
	if !v.Valid() {
		return nil, fmt.Errorf("claims.json against its schema: %v", v.Errors())
	}
	var sc claims.Scorecard
	if err := json.Unmarshal(raw, &sc); err != nil {
		return nil, err
	}
	return &sc, nil
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
// not follow the machine's speed, the devices' caches and the rolling deploy. The TTL safety
// net is left out: its stale reads need a cache that answers, which a starved CPU turns into
// one that bypasses Redis (TestClaimsFlip proves lost invalidations caught instead).
var quickClaims = []string{"db-reduction", "tier-isolation", "no-poisoning", "frontend-caching", "graceful-shutdown"}

// TestClaimsQuick runs part of the scorecard seconds-long, on the safe cache layer, and checks
// its structure: every selected claim gets a verdict computed from checks with its evidence
// on disk, claims.json is valid, the JUnit file and the exit code follow the verdicts. Of the
// verdicts it asserts only those that are counts independent of the machine's speed.
func TestClaimsQuick(t *testing.T) {
	out := t.TempDir()
	junit := filepath.Join(out, "claims-junit.xml")
	// -saturation off: this machine is shared and busy; the verdicts asserted are counts,
	// and TestStarvedGenerator covers the saturation rule.
	stdout, stderr, code := runBench(t, context.Background(), nil, "claims", "-quick", "-redis", "process", "-out", out, "-quiet",
		"-saturation", "off", "-junit", junit, "-claims", strings.Join(quickClaims, ","), "-parallel", "5")
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
	if !strings.Contains(stdout, "Where they hold:") || !strings.Contains(stdout, string(rows["tier-isolation"].Verdict)+" ") {
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

// checkValue is the measured value of the row's first check whose expression starts with
// prefix (0 when none has).
func checkValue(r claims.Row, prefix string) float64 {
	for _, cr := range r.Checks {
		if strings.HasPrefix(cr.Expr, prefix) {
			return cr.Value
		}
	}
	return 0
}

// TestClaimsFlip runs the layer-judging claims on the default layer and on the weakened
// layers that exist, side by side: the row each weakened layer must break fails there, and
// the failure is the layer's, not the machine's: the failing figure is one the default
// layer, measured in the same test, does not show (or shows far less of).
func TestClaimsFlip(t *testing.T) {
	type layer struct {
		config string
		ids    []string
		rows   map[string]claims.Row
		err    error
		// filled is the hit rate of the faults run's phase just before the partition: the
		// share of lookups the cache answered while entries that could go stale were cached.
		filled float64
	}
	layers := []layer{
		{config: "default", ids: []string{"tier-invalidation", "fallback", "graceful-shutdown"}},
		// Naive cache-aside: invalidations that fail while Redis is unreachable are dropped.
		{config: filepath.Join("testdata", "weak-invalidation.yaml"), ids: []string{"tier-invalidation"}},
		// go-redis's own seconds-long timeouts: a partitioned Redis holds requests for seconds.
		{config: filepath.Join("testdata", "weak-client.yaml"), ids: []string{"fallback"}},
		// A server that exits on SIGTERM without failing readiness or draining.
		{config: filepath.Join("testdata", "weak-abrupt-shutdown.yaml"), ids: []string{"graceful-shutdown"}},
	}
	// Two layers at a time (go test's -parallel is the core count, 2 here, and each run is
	// bounded by its scenario's length, not by the CPU), the weakened invalidation beside a
	// single run only: its flip needs a cache that answers, which a starved CPU turns into
	// one that bypasses Redis (fail-fast timeouts, the breaker open) and so caches nothing
	// that could go stale.
	measure := func(l *layer) {
		out := t.TempDir()
		// -saturation off: the fallback flip is a latency verdict, and on a busy shared machine
		// the saturation rule would make it INCONCLUSIVE (TestStarvedGenerator covers the rule).
		stdout, stderr, code := runBench(t, context.Background(), nil, "claims", "-quick", "-redis", "process", "-quiet", "-saturation", "off",
			"-config", l.config, "-claims", strings.Join(l.ids, ","), "-out", out)
		if code != exitOK && code != exitFail {
			l.err = fmt.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
			return
		}
		sc, err := loadScorecard(out)
		if err != nil {
			l.err = err
			return
		}
		l.rows = verdicts(sc)
		if fs, err := summary.Read(filepath.Join(out, "latest-claims", claims.RunFaults, "latest")); err == nil {
			for i, p := range fs.Phases {
				if p.Name == summary.PhaseRedisPartition && i > 0 {
					l.filled = fs.Phases[i-1].HitRate.Overall
				}
			}
		}
		for _, id := range l.ids {
			if r := l.rows[id]; r.Verdict == claims.NotMeasured {
				l.err = fmt.Errorf("%s not measured: %s", id, r.Reason)
			}
		}
	}
	stale := func(r claims.Row) float64 {
		total := 0.0
		for _, cr := range r.Checks {
			if strings.HasPrefix(cr.Expr, "stale_reads") || strings.HasPrefix(cr.Expr, "isolation_violations") {
				total += cr.Value
			}
		}
		return total
	}
	for _, pair := range [][2]int{{1, 2}, {0, 3}} {
		var wg sync.WaitGroup
		for _, i := range pair {
			wg.Go(func() { measure(&layers[i]) })
		}
		wg.Wait()
	}
	// The stale reads a dropped invalidation leaves need entries cached before the partition
	// and read back after it heals. On a CPU starved hard enough (PSI 95% measured) Redis's
	// restart after the kill takes seconds and the breaker keeps the cache bypassed until the
	// partition: the phase before it answers no lookup from the cache (hit rate 0), and such a
	// run shows nothing either way. Only then is the weakened layer measured again, twice at
	// most; a run with a filled cache and no stale read fails at once.
	weak := &layers[1]
	for attempt := 2; attempt <= 3 && weak.err == nil && stale(weak.rows["tier-invalidation"]) == 0 && weak.filled < 0.1; attempt++ {
		t.Logf("weak-invalidation, attempt %d: the cache answered %.0f%% before the partition, nothing to go stale (%s); measuring again",
			attempt, 100*weak.filled, weak.rows["tier-invalidation"].Measured)
		measure(weak)
	}
	for _, l := range layers {
		if l.err != nil {
			t.Fatalf("%s: %v", l.config, l.err)
		}
	}
	def, weakInv, weakClient, abrupt := layers[0].rows, layers[1].rows, layers[2].rows, layers[3].rows

	// Lost invalidations are stale reads, and stale tiers: answers served as a tier the user no
	// longer has, which isolation_violations counts beside foreign data. The default layer keeps
	// the user pending instead, so it has neither at any speed.
	if r := weakInv["tier-invalidation"]; r.Verdict != claims.Fails || stale(r) == 0 {
		t.Errorf("tier-invalidation on weak-invalidation: %s (%s), want FAILS with stale reads or tiers; the cache answered %.0f%% before the partition; measured %s",
			r.Verdict, r.Reason, 100*weak.filled, r.Measured)
	}
	if r := def["tier-invalidation"]; stale(r) != 0 {
		t.Errorf("tier-invalidation on the default layer: %s, stale reads or tiers; measured %s", r.Verdict, r.Measured)
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
	// The reason names only the first failing check; a starved CPU may fail an errors check of
	// the weak client first, so every failing check is looked at.
	failsOn := func(r claims.Row, part string) bool {
		for _, cr := range r.Checks {
			if !cr.Pass && strings.Contains(cr.Expr, part) {
				return true
			}
		}
		return false
	}
	wc, dc := weakClient["fallback"], def["fallback"]
	if wc.Verdict != claims.Fails || !failsOn(wc, "latency.max") {
		t.Errorf("fallback on weak-client: %s (%s), want FAILS on a fault phase's worst latency; measured %s", wc.Verdict, wc.Reason, wc.Measured)
	}
	if worst(wc) <= worst(dc) {
		t.Errorf("fallback: worst fault-phase latency %.0f ms on weak-client, %.0f ms on the default layer: the flip is not the layer's", worst(wc), worst(dc))
	}
	// A server that does not drain cuts requests off (errors, requests cut off) where the
	// default server, restarted the same way in the same test, drains every restart.
	ab, dg := abrupt["graceful-shutdown"], def["graceful-shutdown"]
	if ab.Verdict != claims.Fails {
		t.Errorf("graceful-shutdown on weak-abrupt-shutdown: %s (%s), want FAILS; measured %s", ab.Verdict, ab.Reason, ab.Measured)
	}
	if checkValue(dg, "restarts_total.drained") != 3 {
		t.Errorf("graceful-shutdown on the default server: %s, want 3 restarts drained; measured %s", dg.Verdict, dg.Measured)
	}
	worse := checkValue(ab, "errors") > checkValue(dg, "errors") || checkValue(ab, "restarts_total.cut_off") > checkValue(dg, "restarts_total.cut_off") ||
		checkValue(ab, "restarts_total.drained") < checkValue(dg, "restarts_total.drained")
	if !worse {
		t.Errorf("graceful-shutdown: abrupt (%s) no worse than default (%s): the flip is not the server's", ab.Measured, dg.Measured)
	}
	for _, id := range []string{"tier-invalidation", "fallback", "graceful-shutdown"} {
		for _, l := range layers[1:] {
			if r, ok := l.rows[id]; ok {
				t.Logf("%s: default %s (%s); %s %s (%s)", id, def[id].Verdict, def[id].Measured, filepath.Base(l.config), r.Verdict, r.Measured)
			}
		}
	}
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
