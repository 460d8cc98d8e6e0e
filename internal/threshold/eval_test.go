package threshold

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

func ptr[T any](v T) *T { return &v }

// testSummary is a both-modes run with one fault phase.
func testSummary() *summary.Summary {
	s := &summary.Summary{
		Schema: summary.Schema, Scenario: "redis-kill", Config: "default", Mode: "both",
		Env: summary.Env{CPUs: 2, RedisBackend: "process", DB: "sqlite"},
		Figures: summary.Figures{
			Mode: "cache", Requests: 18000, Rate: summary.Rate{Target: 300, Achieved: 299.5, Kept: true},
			SuccessRatio: 0.9995, Errors: 9,
			Latency:     summary.Latency{Mean: 8, P50: 4.2, P90: 20, P95: 31, P99: 48.5, P999: 90, Max: 120},
			ServiceTime: summary.Latency{P50: 3.9, P99: 40},
			ByEndpoint: map[string]summary.Endpoint{
				"GET /api/me/tier": {Requests: 3000, Latency: summary.Latency{P50: 1.1, P99: 4.9}, HitRate: 0.93},
				"GET /api/me":      {Requests: 2000, Errors: 2, Latency: summary.Latency{P99: 6}},
			},
			HitRate:   summary.HitRate{Tier: 0.873, UserProfile: 0.8, Conversations: 0.6, APIResponses: 0.5, Overall: 0.7},
			DBQueries: summary.DBQueries{Total: 9000, PerRequest: 0.5, ByClass: map[string]uint64{"tier": 120}},
			Phases: []summary.Phase{
				{Name: "steady", Requests: 6000, Latency: summary.Latency{P99: 10}},
				{Name: "redis-down", Fault: "kill-redis", Requests: 3000, Errors: 0, Latency: summary.Latency{P99: 180}, HitRate: summary.HitRate{Overall: 0}},
				{Name: "recovery", Requests: 9000, Errors: 9, Latency: summary.Latency{P99: 30}, RecoveryS: ptr(2.5)},
			},
			IsolationViolations: 0, StaleReads: 1,
		},
		DBQueryReduction: ptr(0.62),
		Speedup:          &summary.Speedup{P50: 5.1, P99: 2.2, Mean: 3},
		NoCache:          &summary.Figures{Mode: "nocache", Latency: summary.Latency{P99: 140}, DBQueries: summary.DBQueries{PerRequest: 1.3}},
	}
	return s
}

func TestEval(t *testing.T) {
	oneMode := testSummary()
	oneMode.NoCache, oneMode.Speedup, oneMode.DBQueryReduction = nil, nil, nil
	noRecovery := testSummary()
	noRecovery.Phases[2].RecoveryS = nil
	agreeing, disagreeing := testSummary(), testSummary()
	agreeing.CrossChecks = &summary.CrossChecks{AllAgree: true, Checks: []summary.CrossCheck{{Figure: "x", Verdict: summary.Agree}}}
	disagreeing.CrossChecks = &summary.CrossChecks{Disagreements: 1, Checks: []summary.CrossCheck{{Figure: "x", Verdict: summary.Disagree}}}

	tests := []struct {
		expr    string
		s       *summary.Summary
		value   float64
		pass    bool
		wantErr string // substring of the error; "" for none
	}{
		// A ratio above its limit.
		{"hit_rate.tier >= 0.80", nil, 0.873, true, ""},
		// The same with a percentage.
		{"hit_rate.tier >= 87.3%", nil, 0.873, true, ""},
		// Below the limit.
		{"hit_rate.tier >= 90%", nil, 0.873, false, ""},
		// A latency under its limit in ms.
		{"latency.p99 <= 50ms", nil, 48.5, true, ""},
		// The same latency against a tighter limit in µs.
		{"latency.p99 < 48500us", nil, 48.5, false, ""},
		// Exactly at the limit: <= passes, < fails.
		{"latency.p99 <= 48.5", nil, 48.5, true, ""},
		{"latency.p99 < 48.5", nil, 48.5, false, ""},
		// An endpoint's p99 through the shorthand.
		{`by_endpoint["GET /api/me/tier"].p99 < 5ms`, nil, 4.9, true, ""},
		// An endpoint's errors.
		{`by_endpoint["GET /api/me"].errors == 0`, nil, 2, false, ""},
		// An endpoint that was not requested is an error that lists the ones that were.
		{`by_endpoint["GET /nope"].p99 < 5ms`, nil, 0, false, `by_endpoint["GET /nope"]: threshold: not in the summary (have "GET /api/me", "GET /api/me/tier")`},
		// A phase by name.
		{`phases["redis-down"].errors == 0`, nil, 0, true, ""},
		{`phases["redis-down"].latency.p99 <= 200ms`, nil, 180, true, ""},
		// A phase that did not happen lists those that did.
		{`phases["redis-slow"].errors == 0`, nil, 0, false, `phases["redis-slow"]: threshold: not in the summary (have "steady", "redis-down", "recovery")`},
		// Recovery time in seconds, limit given in ms.
		{`phases["recovery"].recovery_s <= 3000ms`, nil, 2.5, true, ""},
		// A phase that never recovered fails with the reason.
		{`phases["recovery"].recovery_s <= 3s`, noRecovery, 0, false, "did not recover within the run"},
		// Both-mode figures.
		{"db_query_reduction >= 0.40", nil, 0.62, true, ""},
		{"speedup.p50 >= 4", nil, 5.1, true, ""},
		{"nocache.latency.p99 > 100ms", nil, 140, true, ""},
		// …missing when only one mode ran.
		{"speedup.p50 >= 4", oneMode, 0, false, "speedup: threshold: not in the summary (present only when both modes ran (-mode both))"},
		{"db_query_reduction >= 0.4", oneMode, 0, false, "db_query_reduction: threshold: not in the summary (present only"},
		{"nocache.latency.p99 > 1", oneMode, 0, false, "nocache: threshold: not in the summary (present only"},
		// Counts, integer and unsigned.
		{"errors == 0", nil, 9, false, ""},
		{"errors != 0", nil, 9, true, ""},
		{"isolation_violations == 0", nil, 0, true, ""},
		{"stale_reads == 0", nil, 1, false, ""},
		{`db_queries.by_class["tier"] < 100`, nil, 120, false, ""},
		// A class the map does not have.
		{`db_queries.by_class["warm"] == 0`, nil, 0, false, `db_queries.by_class["warm"]: threshold: not in the summary (have "tier")`},
		{"db_queries.per_request <= 0.5", nil, 0.5, true, ""},
		// == tolerates float noise in a computed ratio.
		{"success_ratio == 99.95%", nil, 0.9995, true, ""},
		{"success_ratio > 0.9995", nil, 0.9995, false, ""},
		// Environment figures are numbers too.
		{"env.cpus >= 2", nil, 2, true, ""},
		// A boolean: the cross-checks all agree, or one disagrees.
		{"cross_checks.all_agree == true", agreeing, 1, true, ""},
		{"cross_checks.all_agree == true", disagreeing, 0, false, ""},
		{"cross_checks.all_agree != false", disagreeing, 0, false, ""},
		{"cross_checks.disagreements == 0", disagreeing, 1, false, ""},
		// A run without any second witness has no cross_checks.
		{"cross_checks.all_agree == true", nil, 0, false, "cross_checks: threshold: not in the summary (present when the run had a second witness"},
	}
	for _, tt := range tests {
		s := tt.s
		if s == nil {
			s = testSummary()
		}
		e, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		v, pass, err := e.Eval(s)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), fmt.Sprintf("threshold %q: ", tt.expr)) {
				t.Errorf("Eval(%q) error = %v, want one naming the expression and containing %q", tt.expr, err, tt.wantErr)
			}
			if !errors.Is(err, ErrMissing) {
				t.Errorf("Eval(%q) error %v does not wrap ErrMissing", tt.expr, err)
			}
			if pass {
				t.Errorf("Eval(%q) passed with an error", tt.expr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Eval(%q): %v", tt.expr, err)
			continue
		}
		if !approxEqual(v, tt.value) || pass != tt.pass {
			t.Errorf("Eval(%q) = %v, %v; want %v, %v", tt.expr, v, pass, tt.value, tt.pass)
		}
	}
}

func TestEvalAllAndPassed(t *testing.T) {
	s := testSummary()
	s.NoCache, s.Speedup = nil, nil
	ts := EvalAll([]string{"hit_rate.tier >= 0.80", "errors == 0", "speedup.p50 >= 4", "latency.p99 <= 5 parsecs"}, s)
	want := []summary.Threshold{
		{Expr: "hit_rate.tier >= 0.80", Value: 0.873, Pass: true},
		{Expr: "errors == 0", Value: 9, Pass: false},
		{Expr: "speedup.p50 >= 4", Error: `threshold "speedup.p50 >= 4": speedup: threshold: not in the summary (present only when both modes ran (-mode both))`},
		{Expr: "latency.p99 <= 5 parsecs", Error: `threshold "latency.p99 <= 5 parsecs": col 16: unknown unit "parsecs" (want ms, s, us, %)`},
	}
	if len(ts) != len(want) {
		t.Fatalf("EvalAll returned %d thresholds, want %d", len(ts), len(want))
	}
	for i := range want {
		if ts[i] != want[i] {
			t.Errorf("EvalAll[%d] = %+v\nwant %+v", i, ts[i], want[i])
		}
	}
	tests := []struct {
		ts   []summary.Threshold
		want bool
	}{
		// No thresholds: nothing failed.
		{nil, true},
		// All pass.
		{ts[:1], true},
		// One plain failure.
		{ts[:2], false},
		// An error counts as a failure.
		{[]summary.Threshold{ts[0], ts[2]}, false},
	}
	for i, tt := range tests {
		if got := Passed(tt.ts); got != tt.want {
			t.Errorf("case %d: Passed = %v, want %v", i, got, tt.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	s := testSummary()
	s.Speedup = nil
	ts := EvalAll([]string{"hit_rate.tier >= 0.80", "latency.p99 <= 40ms", "speedup.p50 >= 4", `phases["recovery"].recovery_s <= 2s`}, s)
	var b bytes.Buffer
	if err := WriteTable(&b, ts); err != nil {
		t.Fatal(err)
	}
	want := `ok     hit_rate.tier >= 0.80                87.3%
FAIL   latency.p99 <= 40ms                  48.5ms
ERROR  speedup.p50 >= 4                     threshold "speedup.p50 >= 4": speedup: threshold: not in the summary (present only when both modes ran (-mode both))
FAIL   phases["recovery"].recovery_s <= 2s  2.50s
3 of 4 thresholds failed
`
	if b.String() != want {
		t.Errorf("WriteTable:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestJUnit(t *testing.T) {
	s := testSummary()
	s.Speedup = nil
	ts := EvalAll([]string{"hit_rate.tier >= 0.80", "latency.p99 <= 40ms", "speedup.p50 >= 4", "errors == 0 \x01<&>"}, s)
	var b bytes.Buffer
	if err := JUnit(&b, "redis-kill", ts); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML header:\n%s", b.String())
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("the JUnit XML does not parse: %v\n%s", err, b.String())
	}
	if doc.Tests != 4 || doc.Failures != 1 || doc.Errors != 2 || len(doc.Suites) != 1 {
		t.Fatalf("totals: tests %d failures %d errors %d suites %d; want 4, 1, 2, 1", doc.Tests, doc.Failures, doc.Errors, len(doc.Suites))
	}
	cases := doc.Suites[0].Cases
	if doc.Suites[0].Name != "redis-kill" || len(cases) != 4 {
		t.Fatalf("suite %q with %d cases", doc.Suites[0].Name, len(cases))
	}
	tests := []struct {
		i       int
		failure string // the <failure> message; "" for none
		errSub  string // a substring of the <error> message; "" for none
	}{
		// Passed: neither element.
		{0, "", ""},
		// Failed: the measured value against the expression.
		{1, "measured 48.5ms, want latency.p99 <= 40ms", ""},
		// A figure the run lacks: an error with the reason.
		{2, "", "present only when both modes ran"},
		// An expression that does not parse, with characters XML cannot carry.
		{3, "", "col 13"},
	}
	for _, tt := range tests {
		c := cases[tt.i]
		if c.Name != ts[tt.i].Expr && tt.i != 3 {
			t.Errorf("case %d name %q, want %q", tt.i, c.Name, ts[tt.i].Expr)
		}
		switch {
		case tt.failure == "" && c.Failure != nil:
			t.Errorf("case %d: unexpected failure %+v", tt.i, c.Failure)
		case tt.failure != "" && (c.Failure == nil || c.Failure.Message != tt.failure):
			t.Errorf("case %d: failure %+v, want message %q", tt.i, c.Failure, tt.failure)
		}
		switch {
		case tt.errSub == "" && c.Error != nil:
			t.Errorf("case %d: unexpected error %+v", tt.i, c.Error)
		case tt.errSub != "" && (c.Error == nil || !strings.Contains(c.Error.Message, tt.errSub)):
			t.Errorf("case %d: error %+v, want one containing %q", tt.i, c.Error, tt.errSub)
		}
	}
}

// A threshold whose figure the run's mode cannot produce is not applicable: it does not
// fail the run, says why, and is skipped in JUnit; a figure missing for another reason
// still fails.
func TestNotApplicable(t *testing.T) {
	for _, tc := range []struct {
		mode summary.Mode
		expr string
		na   bool   // reported as not applicable
		why  string // part of the reason or error
	}{
		{"cache", "db_query_reduction >= 40%", true, "this run was -mode cache"},              // the smoke -mode cache case
		{"nocache", "speedup.p50 >= 4", true, "this run was -mode nocache"},                   // speedup needs both modes
		{"target", "nocache.latency.p50 >= 5ms", true, "-target drives one server"},           // -target runs one mode
		{"both", "db_query_reduction >= 40%", false, "present only when both modes ran"},      // both modes ran and still lack it: fail
		{"cache", `by_endpoint["PUT /api/me/tier"].p99 < 5ms`, false, `"PUT /api/me/tier"`},   // not requested: fail whatever the mode
		{"target", `phases["redis-slow"].errors == 0`, true, "a -target run does not inject"}, // no faults against -target
		{"cache", `phases["redis-slow"].errors == 0`, false, "not in the summary"},            // the stack injects them: a missing phase fails
	} {
		s := testSummary()
		s.Mode, s.DBQueryReduction, s.Speedup, s.NoCache = tc.mode, nil, nil, nil
		got := EvalAll([]string{tc.expr, "errors <= 10"}, s)
		th := got[0]
		if tc.na {
			if th.NotApplicable == "" || !th.Pass || th.Error != "" || !strings.Contains(th.NotApplicable, tc.why) {
				t.Errorf("%s %q: got %+v, want not applicable (%q)", tc.mode, tc.expr, th, tc.why)
			}
			if !Passed(got) {
				t.Errorf("%s %q: a not-applicable threshold failed the run", tc.mode, tc.expr)
			}
		} else if th.NotApplicable != "" || th.Pass || !strings.Contains(th.Error, tc.why) {
			t.Errorf("%s %q: got %+v, want a failed threshold with error containing %q", tc.mode, tc.expr, th, tc.why)
		}
		var table, junit bytes.Buffer
		WriteTable(&table, got)
		JUnit(&junit, "s", got)
		if tc.na {
			if !strings.Contains(table.String(), "n/a") || !strings.Contains(table.String(), "1 of 1 thresholds passed (1 not applicable") {
				t.Errorf("%s %q: table:\n%s", tc.mode, tc.expr, table.String())
			}
			if !strings.Contains(junit.String(), `skipped="1"`) || !strings.Contains(junit.String(), "<skipped message=") {
				t.Errorf("%s %q: junit:\n%s", tc.mode, tc.expr, junit.String())
			}
		}
	}
}

// TestNotJudged: an interrupted run's thresholds keep their measured values but are neither
// passed nor failed — in the table, in JUnit (skipped) and in Passed; one not applicable to
// the mode stays so.
func TestNotJudged(t *testing.T) {
	s := testSummary()
	s.Speedup = nil
	s.Mode = summary.ModeCache
	ts := EvalAll([]string{"hit_rate.tier >= 0.80", "latency.p99 <= 40ms", "speedup.p50 >= 4"}, s)
	NotJudged(ts, "the run was interrupted before its end")
	if ts[0].NotJudged == "" || ts[0].Pass || ts[0].Value == 0 || ts[1].NotJudged == "" || ts[1].Pass {
		t.Errorf("judged thresholds after NotJudged: %+v", ts[:2])
	}
	if ts[2].NotApplicable == "" || ts[2].NotJudged != "" {
		t.Errorf("a threshold not applicable to the mode became %+v", ts[2])
	}
	if Passed(ts) {
		t.Error("Passed is true for thresholds that were not judged")
	}
	var b bytes.Buffer
	if err := WriteTable(&b, ts); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); strings.Contains(got, "FAIL") || !strings.Contains(got, "not judged  hit_rate.tier >= 0.80") ||
		!strings.Contains(got, "2 of 2 thresholds not judged: the run was interrupted") {
		t.Errorf("WriteTable of an interrupted run:\n%s", got)
	}
	b.Reset()
	if err := JUnit(&b, "smoke", ts); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if s := doc.Suites[0]; doc.Failures != 0 || doc.Errors != 0 || s.Skipped != 3 {
		t.Errorf("JUnit of an interrupted run: failures %d, errors %d, skipped %d; want 0, 0, 3\n%s", doc.Failures, doc.Errors, s.Skipped, b.String())
	}
}
