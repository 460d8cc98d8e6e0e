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

// TestClaimsQuick runs the whole scorecard seconds-long, on the safe cache layer: every
// claim the product measures gets a verdict with its evidence on disk, the correctness
// claims hold, the TTL safety net is caught failing (lost invalidations leave stale reads),
// the unmeasurable ones say what is missing, and the exit code follows the verdicts.
func TestClaimsQuick(t *testing.T) {
	out := t.TempDir()
	junit := filepath.Join(out, "claims-junit.xml")
	stdout, stderr, code := runBench(t, context.Background(), nil, "claims", "-quick", "-redis", "process", "-out", out, "-quiet", "-junit", junit)
	if code != exitOK && code != exitFail {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	sc := readScorecard(t, out)
	rows := verdicts(sc)
	if len(rows) != len(claims.Table()) {
		t.Fatalf("%d rows, want %d", len(rows), len(claims.Table()))
	}
	for _, c := range claims.Table() {
		r := rows[c.ID]
		switch {
		case len(c.Checks) == 0 && r.Verdict != claims.NotMeasured:
			t.Errorf("%s: %s, want NOT MEASURED (%s)", c.ID, r.Verdict, c.Missing)
		case len(c.Checks) > 0 && r.Verdict == claims.NotMeasured:
			t.Errorf("%s: not measured: %s", c.ID, r.Reason)
		}
		for _, e := range r.Evidence {
			if _, err := os.Stat(e.Summary); err != nil {
				t.Errorf("%s: evidence %s: %v", c.ID, e.Summary, err)
			}
		}
	}
	// scale-cluster is left out: its healthy shards' bypass during the master's kill follows the
	// machine's load (fail-fast timeouts on a starved CPU), and -quick runs four runs at a time.
	for _, id := range []string{"tier-isolation", "tier-invalidation", "no-poisoning", "fallback", "read-replicas"} {
		if r := rows[id]; r.Verdict != claims.Holds {
			t.Errorf("%s: %s (%s), want HOLDS on the safe layer; measured %s", id, r.Verdict, r.Reason, r.Measured)
		}
	}
	if r := rows["ttl-safety-net"]; r.Verdict != claims.Fails {
		t.Errorf("ttl-safety-net: %s, want FAILS: naive cache-aside under a partition serves stale reads until the TTL (%s)", r.Verdict, r.Measured)
	}
	if sc.Calibration == nil || sc.Calibration.LatencyMS <= 0 || sc.Calibration.WorldP50MS <= 0 {
		t.Errorf("calibration %+v", sc.Calibration)
	}
	if want := map[bool]int{true: exitFail, false: exitOK}[sc.Fails > 0]; code != want {
		t.Errorf("exit %d with %d failing claims, want %d", code, sc.Fails, want)
	}
	for _, r := range sc.Rows {
		if r.Sweep != nil && len(r.Sweep.Points) < 2 {
			t.Errorf("%s: %d sweep points", r.ID, len(r.Sweep.Points))
		}
	}
	html, _ := os.ReadFile(filepath.Join(out, "latest-claims", claims.FileHTML))
	if !strings.Contains(string(html), "data:image/png;base64,") {
		t.Error("claims.html embeds no chart")
	}
	if !strings.Contains(stdout, "Where they hold:") || !strings.Contains(stdout, "NOT MEASURED") {
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

// TestClaimsFlip runs the layer-judging claims on the weakened layers that exist: the rows
// that must flip do, and the others hold as they do on the safe layer (TestClaimsQuick).
func TestClaimsFlip(t *testing.T) {
	for _, tc := range []struct {
		config string
		flips  string
	}{
		// Naive cache-aside: invalidations that fail while Redis is unreachable are dropped.
		{"weak-invalidation", "tier-invalidation"},
		// go-redis's own seconds-long timeouts: a partitioned Redis holds requests for seconds.
		{"weak-client", "fallback"},
	} {
		t.Run(tc.config, func(t *testing.T) {
			out := t.TempDir()
			// AOF is left out: its recovery depends on the client too (go-redis's defaults
			// take longer to come back), so it is no "other" row for weak-client.
			ids := []string{"tier-invalidation", "fallback", "tier-isolation"}
			stdout, stderr, code := runBench(t, context.Background(), nil, "claims", "-quick", "-redis", "process", "-quiet",
				"-config", filepath.Join("testdata", tc.config+".yaml"), "-claims", strings.Join(ids, ","), "-out", out)
			if code != exitFail {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFail, stdout, stderr)
			}
			rows := verdicts(readScorecard(t, out))
			for _, id := range ids {
				want := claims.Holds
				if id == tc.flips {
					want = claims.Fails
				}
				if r := rows[id]; r.Verdict != want {
					t.Errorf("%s on %s: %s (%s), want %s; measured %s", id, tc.config, r.Verdict, r.Reason, want, r.Measured)
				}
			}
			t.Logf("%s: %s", tc.flips, rows[tc.flips].Measured)
		})
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
