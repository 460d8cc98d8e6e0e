package threshold

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		expr  string
		canon string // Expr.String()
		unit  Unit
		value float64 // the limit in the path's unit
	}{
		// A ratio written as a plain number.
		{"hit_rate.tier >= 0.80", "hit_rate.tier >= 0.8", UnitRatio, 0.8},
		// A ratio written as a percentage.
		{"hit_rate.tier >= 80%", "hit_rate.tier >= 0.8", UnitRatio, 0.8},
		// latency.p99 reads latency_ms.p99; a duration in ms.
		{"latency.p99 <= 50ms", "latency.p99 <= 50ms", UnitMS, 50},
		// Seconds convert to ms.
		{"latency.p99 <= 1.5s", "latency.p99 <= 1500ms", UnitMS, 1500},
		// Microseconds convert to ms.
		{"latency.p50 < 250us", "latency.p50 < 0.25ms", UnitMS, 0.25},
		// A bare number on a latency path is in ms.
		{"latency.p99 <= 50", "latency.p99 <= 50ms", UnitMS, 50},
		// No spaces at all.
		{"latency.p99<=50ms", "latency.p99 <= 50ms", UnitMS, 50},
		// A space between number and unit.
		{"latency.p99 <= 50 ms", "latency.p99 <= 50ms", UnitMS, 50},
		// service_time reads service_time_ms.
		{"service_time.p50 > 1ms", "service_time.p50 > 1ms", UnitMS, 1},
		// The endpoint shorthand expands to the element's latency.
		{`by_endpoint["GET /api/me/tier"].p99 < 5ms`, `by_endpoint["GET /api/me/tier"].latency.p99 < 5ms`, UnitMS, 5},
		// The long form of the same.
		{`by_endpoint["GET /api/me/tier"].latency.p99 < 5ms`, `by_endpoint["GET /api/me/tier"].latency.p99 < 5ms`, UnitMS, 5},
		// An endpoint's hit rate is a ratio.
		{`by_endpoint["GET /api/me"].hit_rate >= 90%`, `by_endpoint["GET /api/me"].hit_rate >= 0.9`, UnitRatio, 0.9},
		// A phase, selected by name from a list, with a count.
		{`phases["redis-down"].errors == 0`, `phases["redis-down"].errors == 0`, UnitNone, 0},
		// A phase's latency, long form.
		{`phases["redis-down"].latency.p99 <= 200ms`, `phases["redis-down"].latency.p99 <= 200ms`, UnitMS, 200},
		// A phase's latency, shorthand.
		{`phases["redis-down"].p99 <= 0.2s`, `phases["redis-down"].latency.p99 <= 200ms`, UnitMS, 200},
		// recovery_s is in seconds: a duration converts to seconds, not ms.
		{`phases["redis-down"].recovery_s <= 1500ms`, `phases["redis-down"].recovery_s <= 1.5s`, UnitSeconds, 1.5},
		// A phase's hit rate is a ratio.
		{`phases["recovery"].hit_rate.overall > 50%`, `phases["recovery"].hit_rate.overall > 0.5`, UnitRatio, 0.5},
		// Keys with escapes.
		{`by_endpoint["GET /a\"b"].errors != 1`, `by_endpoint["GET /a\"b"].errors != 1`, UnitNone, 1},
		// Spaces inside the brackets.
		{`phases[ "steady" ].errors < 3`, `phases["steady"].errors < 3`, UnitNone, 3},
		// Both-mode figures.
		{"db_query_reduction >= 0.40", "db_query_reduction >= 0.4", UnitRatio, 0.4},
		{"db_query_reduction >= 40%", "db_query_reduction >= 0.4", UnitRatio, 0.4},
		{"speedup.p50 >= 4", "speedup.p50 >= 4", UnitNone, 4},
		// The no-cache run's figures.
		{"nocache.latency.p99 <= 2s", "nocache.latency.p99 <= 2000ms", UnitMS, 2000},
		// A count and a plain ratio of counts.
		{"db_queries.per_request <= 1.2", "db_queries.per_request <= 1.2", UnitNone, 1.2},
		{`db_queries.by_class["tier"] < 100`, `db_queries.by_class["tier"] < 100`, UnitNone, 100},
		{"isolation_violations == 0", "isolation_violations == 0", UnitNone, 0},
		{"stale_reads <= 0", "stale_reads <= 0", UnitNone, 0},
		{"success_ratio >= 99.9%", "success_ratio >= 0.999", UnitRatio, 0.999},
		// The JSON name with its unit suffix is accepted too.
		{"latency_ms.p99 <= 50", "latency_ms.p99 <= 50ms", UnitMS, 50},
		// Exponents and signs.
		{"rate.achieved >= 2.5e2", "rate.achieved >= 250", UnitNone, 250},
		{"extra[\"x\"] > -1", `extra["x"] > -1`, UnitNone, -1},
		// Leading and trailing blanks.
		{"  errors == 0\t", "errors == 0", UnitNone, 0},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		if got := e.String(); got != tt.canon {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.expr, got, tt.canon)
		}
		if e.Path.Unit() != tt.unit {
			t.Errorf("Parse(%q).Path.Unit() = %q, want %q", tt.expr, e.Path.Unit(), tt.unit)
		}
		if !approxEqual(e.Value, tt.value) {
			t.Errorf("Parse(%q).Value = %v, want %v", tt.expr, e.Value, tt.value)
		}
		if e.Raw != tt.expr {
			t.Errorf("Parse(%q).Raw = %q", tt.expr, e.Raw)
		}
		// The canonical form parses back to the same expression.
		again, err := Parse(e.String())
		if err != nil || again.String() != e.String() || again.Value != e.Value {
			t.Errorf("Parse(%q) does not round-trip: %v, %v", e.String(), again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string // the whole message
	}{
		// The example of the spec: the column is the value's.
		{"latency.p99 <= 50 parsecs", `threshold "latency.p99 <= 50 parsecs": col 16: unknown unit "parsecs" (want ms, s, us, %)`},
		// Nothing to parse.
		{"", `threshold "": col 1: empty expression (want PATH OP VALUE, e.g. latency.p99 <= 50ms)`},
		// A typo in a field, pointing at the field.
		{"hit_rate.tierr >= 0.8", `threshold "hit_rate.tierr >= 0.8": col 10: unknown field "tierr" in hit_rate (want tier, userProfile, conversations, apiResponses, overall)`},
		// A group is not a number.
		{"latency <= 50ms", `threshold "latency <= 50ms": col 1: latency is a group, not a number (pick one of mean, p50, p90, p95, p99, p999, max)`},
		// A map needs a key.
		{"by_endpoint.p99 < 5ms", `threshold "by_endpoint.p99 < 5ms": col 13: by_endpoint needs a key: by_endpoint["…"]`},
		// A list of named elements needs a key too.
		{"phases.errors == 0", `threshold "phases.errors == 0": col 8: phases needs a key: phases["…"]`},
		// A key where none is taken.
		{`latency["p99"] < 5`, `threshold "latency[\"p99\"] < 5": col 8: latency takes no [key]`},
		// Keys must be quoted.
		{"phases[redis-down].errors == 0", `threshold "phases[redis-down].errors == 0": col 8: want a quoted key such as ["GET /api/me/tier"], got "redis-down].…"`},
		// An unclosed string.
		{`phases["redis-down`, `threshold "phases[\"redis-down": col 8: unterminated string`},
		// An unclosed bracket.
		{`phases["redis-down".errors == 0`, `threshold "phases[\"redis-down\".errors == 0": col 20: want "]" to close the "[" at col 7, got ".errors == 0"`},
		// A boolean takes true or false, and only == or !=.
		{"cross_checks.all_agree == 1", `threshold "cross_checks.all_agree == 1": col 27: cross_checks.all_agree is true or false, got "1"`},
		{"cross_checks.all_agree >= true", `threshold "cross_checks.all_agree >= true": col 24: cross_checks.all_agree is true or false: compare it with == or !=`},
		// A single "=".
		{"errors = 0", `threshold "errors = 0": col 8: use "==" to compare for equality`},
		// No operator.
		{"errors", `threshold "errors": col 7: want an operator (>=, <=, >, <, ==, !=) after errors`},
		// Something else where the operator goes.
		{"errors ~ 0", `threshold "errors ~ 0": col 8: want an operator (>=, <=, >, <, ==, !=) after errors, got "~ 0"`},
		// Unicode operators get a hint.
		{"errors ≤ 0", `threshold "errors ≤ 0": col 8: write "≤" as one of >=, <=, !=`},
		// No value.
		{"errors ==", `threshold "errors ==": col 10: want a number such as 0.8, 80% or 50ms, got the end`},
		// Not a number.
		{"errors == NaN", `threshold "errors == NaN": col 11: want a number such as 0.8, 80% or 50ms, got "NaN"`},
		// Too big for a float64.
		{"errors < 1e999", `threshold "errors < 1e999": col 10: bad number "1e999"`},
		// A duration on a count.
		{"errors <= 5ms", `threshold "errors <= 5ms": col 11: errors is not a time; drop the unit "ms"`},
		// A duration on a ratio.
		{"hit_rate.tier >= 5s", `threshold "hit_rate.tier >= 5s": col 18: hit_rate.tier is not a time; drop the unit "s"`},
		// A percentage on a latency.
		{"latency.p99 <= 5%", `threshold "latency.p99 <= 5%": col 16: % applies only to ratios (hit_rate…, success_ratio, db_query_reduction), not to latency.p99`},
		// A percentage on a speed-up.
		{"speedup.p50 >= 400%", `threshold "speedup.p50 >= 400%": col 16: % applies only to ratios (hit_rate…, success_ratio, db_query_reduction), not to speedup.p50`},
		// A ratio written as a percent number.
		{"hit_rate.tier >= 80", `threshold "hit_rate.tier >= 80": col 18: hit_rate.tier is a ratio from 0 to 1; write 0.8 or 80%`},
		// Above 100%.
		{"hit_rate.tier >= 120%", `threshold "hit_rate.tier >= 120%": col 18: hit_rate.tier is a ratio and cannot exceed 100%`},
		// Trailing words.
		// (a unit problem points at the value it belongs to)
		{"errors == 0 and more", `threshold "errors == 0 and more": col 11: unknown unit "and" (want ms, s, us, %)`},
		{"errors == 0 %x", `threshold "errors == 0 %x": col 11: unknown unit "%x" (want ms, s, us, %)`},
		{"latency.p99 <= 5ms 6", `threshold "latency.p99 <= 5ms 6": col 20: unexpected "6" after the value`},
		// Columns count characters, not bytes.
		{`by_endpoint["é"].errors == 0 x`, `threshold "by_endpoint[\"é\"].errors == 0 x": col 28: unknown unit "x" (want ms, s, us, %)`},
		// Not a path at all.
		{"50ms >= latency.p99", `threshold "50ms >= latency.p99": col 1: want a summary path such as latency.p99 or hit_rate.tier, got "50ms >= late…"`},
		// A path that ends in a dot.
		{"latency. < 3", `threshold "latency. < 3": col 9: want a field name after ".", got " < 3"`},
		// Strings and lists are not numbers.
		// (the list of fields grows with the summary: the row checks the message up to the "…")
		{"scenario == 1", `threshold "scenario == 1": col 1: unknown field "scenario" in the summary (want …`},
		{"errors.x > 1", `threshold "errors.x > 1": col 8: errors is a number; it has no field "x"`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr)
		if err == nil {
			t.Errorf("Parse(%q) = nil error, want %s", tt.expr, tt.want)
			continue
		}
		if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("Parse(%q):\n got %s\nwant it to start with %s", tt.expr, err, prefix)
			}
		} else if err.Error() != tt.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tt.expr, err, tt.want)
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Expr != tt.expr {
			t.Errorf("Parse(%q) error is not a *SyntaxError naming the expression: %#v", tt.expr, err)
		}
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		path   string
		canon  string
		fields string
		unit   Unit
	}{
		// A Samples key.
		{"latency.p99", "latency.p99", "latency p99", UnitMS},
		// A no-cache Samples key.
		{"nocache.db_queries.per_request", "nocache.db_queries.per_request", "nocache db_queries per_request", UnitNone},
		// Shorthand expanded in the fields.
		{`by_endpoint["GET /api/me"].p99`, `by_endpoint["GET /api/me"].latency.p99`, "by_endpoint latency p99", UnitMS},
		{"hit_rate.overall", "hit_rate.overall", "hit_rate overall", UnitRatio},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.path)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.path, err)
			continue
		}
		if p.String() != tt.canon || strings.Join(p.Fields(), " ") != tt.fields || p.Unit() != tt.unit {
			t.Errorf("ParsePath(%q) = %q %v %q, want %q [%s] %q", tt.path, p, p.Fields(), p.Unit(), tt.canon, tt.fields, tt.unit)
		}
	}
	_, err := ParsePath("latency.p99 <= 5")
	if err == nil || err.Error() != `path "latency.p99 <= 5": col 13: unexpected "<= 5" after the path` {
		t.Errorf("ParsePath with an operator: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"hit_rate.tier >= 0.80", "latency.p99 <= 50ms", `by_endpoint["GET /api/me/tier"].p99 < 5ms`,
		`phases["redis-down"].errors == 0`, "db_query_reduction >= 0.40", "speedup.p50 >= 4",
		"nocache.latency.p99 <= 1.5s", "success_ratio >= 99.9%", "latency.p99 <= 50 parsecs", `phases["x`,
		"errors != -1e-3", `extra["\u00e9\x00"] > .5`, "latency.p50<250us",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Parse(expr)
		if err != nil {
			// Every error names the expression and a column inside it (or just past it).
			prefix := fmt.Sprintf("threshold %q: col ", expr)
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("Parse(%q) error does not name the expression: %v", expr, err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) || se.Col < 1 || se.Col > len([]rune(expr))+1 {
				t.Fatalf("Parse(%q): bad column in %v", expr, err)
			}
			return
		}
		// A valid expression's canonical form parses to the same thing.
		again, err := Parse(e.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its canonical form %q fails: %v", expr, e.String(), err)
		}
		if again.String() != e.String() || again.Value != e.Value && !(e.Value != e.Value) {
			t.Fatalf("round trip of %q: %q (%v) vs %q (%v)", expr, e.String(), e.Value, again.String(), again.Value)
		}
		// Evaluating over an empty summary never panics.
		_, _, _ = e.Eval(testSummary())
	})
}
