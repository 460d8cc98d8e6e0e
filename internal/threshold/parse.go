package threshold

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Op is a comparison operator.
type Op string

// The operators a threshold may use.
const (
	OpGE Op = ">="
	OpLE Op = "<="
	OpGT Op = ">"
	OpLT Op = "<"
	OpEQ Op = "=="
	OpNE Op = "!="
)

// Holds reports whether "value op limit" is true. == and != allow a relative difference of
// 1e-9, so a ratio written as 80% equals a computed 0.8.
func (o Op) Holds(value, limit float64) bool {
	switch o {
	case OpGE:
		return value >= limit
	case OpLE:
		return value <= limit
	case OpGT:
		return value > limit
	case OpLT:
		return value < limit
	case OpEQ:
		return approxEqual(value, limit)
	case OpNE:
		return !approxEqual(value, limit)
	}
	return false
}

func approxEqual(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*max(1, math.Abs(a), math.Abs(b))
}

// Expr is a parsed threshold: Path Op Value.
type Expr struct {
	// Raw is the expression as written; summary.Threshold.Expr keeps it.
	Raw string
	// Path is the figure the threshold reads.
	Path Path
	// Op compares the figure with Value.
	Op Op
	// Value is the limit in the path's unit: milliseconds for latency, seconds for *_s
	// paths, a share from 0 to 1 for ratios (80% is 0.8).
	Value float64
}

// String returns the expression in canonical form: the canonical path, the operator and the
// value in the path's unit ("latency.p99 <= 1500ms" for "latency.p99<=1.5s").
func (e Expr) String() string {
	v := strconv.FormatFloat(e.Value, 'g', -1, 64)
	switch e.Path.unit {
	case UnitMS:
		v += "ms"
	case UnitSeconds:
		v += "s"
	}
	return e.Path.text + " " + string(e.Op) + " " + v
}

// SyntaxError is a threshold or path that does not parse or does not fit the summary's
// schema. Its message names the expression and the 1-based column (in characters):
//
//	threshold "latency.p99 <= 50 parsecs": col 16: unknown unit "parsecs" (want ms, s, us, %)
type SyntaxError struct {
	What string // "threshold" or "path"
	Expr string // the text as given
	Col  int    // 1-based column of the problem, in runes
	Msg  string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s %q: col %d: %s", e.What, e.Expr, e.Col, e.Msg)
}

// Parse parses one threshold expression and checks its path against the summary's schema
// and its value's unit against the path. Errors are *SyntaxError.
func Parse(expr string) (Expr, error) {
	ps := &parser{src: []rune(expr), what: "threshold", expr: expr}
	ps.skipSpace()
	if ps.eof() {
		return Expr{}, ps.errorf(ps.col(), "empty expression (want PATH OP VALUE, e.g. latency.p99 <= 50ms)")
	}
	path, err := ps.path()
	if err != nil {
		return Expr{}, err
	}
	ps.skipSpace()
	opCol := ps.col()
	op, err := ps.op(path)
	if err != nil {
		return Expr{}, err
	}
	if path.unit == UnitBool && op != OpEQ && op != OpNE {
		return Expr{}, ps.errorf(opCol, "%s is true or false: compare it with == or !=", path.text)
	}
	ps.skipSpace()
	value, err := ps.value(path)
	if err != nil {
		return Expr{}, err
	}
	return Expr{Raw: expr, Path: path, Op: op, Value: value}, nil
}

// parser reads one expression, rune by rune.
type parser struct {
	src  []rune
	pos  int
	what string // "threshold" or "path", for messages
	expr string
}

func (ps *parser) eof() bool    { return ps.pos >= len(ps.src) }
func (ps *parser) col() int     { return ps.pos + 1 }
func (ps *parser) peek() rune   { return ps.src[ps.pos] }
func (ps *parser) rest() string { return string(ps.src[ps.pos:]) }

func (ps *parser) errorf(col int, format string, args ...any) *SyntaxError {
	return &SyntaxError{What: ps.what, Expr: ps.expr, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func (ps *parser) skipSpace() {
	for !ps.eof() && unicode.IsSpace(ps.peek()) {
		ps.pos++
	}
}

func isIdentStart(r rune) bool { return r == '_' || r < 128 && unicode.IsLetter(r) }
func isIdent(r rune) bool      { return isIdentStart(r) || r >= '0' && r <= '9' }

// path reads NAME ( .NAME | ["KEY"] )* and binds it to the summary's schema.
func (ps *parser) path() (Path, error) {
	var segs []rawSeg
	if ps.eof() || !isIdentStart(ps.peek()) {
		return Path{}, ps.errorf(ps.col(), "want a summary path such as latency.p99 or hit_rate.tier, got %s", ps.found())
	}
	segs = append(segs, ps.ident())
	for !ps.eof() {
		switch ps.peek() {
		case '.':
			ps.pos++
			if ps.eof() || !isIdentStart(ps.peek()) {
				return Path{}, ps.errorf(ps.col(), "want a field name after \".\", got %s", ps.found())
			}
			segs = append(segs, ps.ident())
		case '[':
			seg, err := ps.key()
			if err != nil {
				return Path{}, err
			}
			segs = append(segs, seg)
		default:
			return bind(ps, segs)
		}
	}
	return bind(ps, segs)
}

func (ps *parser) ident() rawSeg {
	start := ps.pos
	for !ps.eof() && isIdent(ps.peek()) {
		ps.pos++
	}
	return rawSeg{name: string(ps.src[start:ps.pos]), col: start + 1}
}

// key reads ["KEY"], KEY a double-quoted Go string.
func (ps *parser) key() (rawSeg, error) {
	open := ps.pos
	ps.pos++ // [
	ps.skipSpace()
	if ps.eof() || ps.peek() != '"' {
		return rawSeg{}, ps.errorf(ps.col(), `want a quoted key such as ["GET /api/me/tier"], got %s`, ps.found())
	}
	qstart := ps.pos
	ps.pos++
	for {
		if ps.eof() {
			return rawSeg{}, ps.errorf(qstart+1, "unterminated string")
		}
		r := ps.peek()
		ps.pos++
		if r == '\\' && !ps.eof() {
			ps.pos++
			continue
		}
		if r == '"' {
			break
		}
	}
	key, err := strconv.Unquote(string(ps.src[qstart:ps.pos]))
	if err != nil {
		return rawSeg{}, ps.errorf(qstart+1, "bad string %s: %v", string(ps.src[qstart:ps.pos]), err)
	}
	ps.skipSpace()
	if ps.eof() || ps.peek() != ']' {
		return rawSeg{}, ps.errorf(ps.col(), `want "]" to close the "[" at col %d, got %s`, open+1, ps.found())
	}
	ps.pos++
	return rawSeg{key: key, isKey: true, col: open + 1}, nil
}

// op reads one of >= <= > < == !=.
func (ps *parser) op(path Path) (Op, error) {
	if ps.eof() {
		return "", ps.errorf(ps.col(), "want an operator (>=, <=, >, <, ==, !=) after %s", path.text)
	}
	two := ""
	if ps.pos+1 < len(ps.src) {
		two = string(ps.src[ps.pos : ps.pos+2])
	}
	switch Op(two) {
	case OpGE, OpLE, OpEQ, OpNE:
		ps.pos += 2
		return Op(two), nil
	}
	switch r := ps.peek(); {
	case r == '>' || r == '<':
		ps.pos++
		return Op(string(r)), nil
	case r == '=':
		return "", ps.errorf(ps.col(), `use "==" to compare for equality`)
	case r == '≥' || r == '≤' || r == '≠':
		return "", ps.errorf(ps.col(), "write %q as one of >=, <=, !=", string(r))
	}
	return "", ps.errorf(ps.col(), "want an operator (>=, <=, >, <, ==, !=) after %s, got %s", path.text, ps.found())
}

// value reads NUMBER [UNIT] to the end of the expression and converts it to the path's unit.
func (ps *parser) value(path Path) (float64, error) {
	col := ps.col()
	if path.unit == UnitBool {
		word := strings.TrimSpace(ps.rest())
		ps.pos = len(ps.src)
		switch word {
		case "true":
			return 1, nil
		case "false":
			return 0, nil
		}
		return 0, ps.errorf(col, "%s is true or false, got %q", path.text, word)
	}
	num, ok := ps.number()
	if !ok {
		return 0, ps.errorf(col, "want a number such as 0.8, 80%% or 50ms, got %s", ps.found())
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, ps.errorf(col, "bad number %q", num)
	}
	ps.skipSpace()
	ustart := ps.pos
	for !ps.eof() && (unicode.IsLetter(ps.peek()) || ps.peek() == '%') {
		ps.pos++
	}
	unit := string(ps.src[ustart:ps.pos])
	// The decimal exponent that brings the value to the path's unit; shifting the decimal
	// point (not multiplying by 0.01) keeps 99.9% exactly 0.999.
	exp := 0
	switch unit {
	case "":
	case "us", "µs", "μs", "ms", "s":
		if unit == "s" {
			exp = 3
		} else if unit != "ms" {
			exp = -3 // microseconds
		}
		switch path.unit {
		case UnitMS:
		case UnitSeconds:
			exp -= 3
		default:
			return 0, ps.errorf(col, "%s is not a time; drop the unit %q", path.text, unit)
		}
	case "%":
		if path.unit != UnitRatio {
			return 0, ps.errorf(col, "%% applies only to ratios (hit_rate…, success_ratio, db_query_reduction), not to %s", path.text)
		}
		exp = -2
	default:
		return 0, ps.errorf(col, "unknown unit %q (want ms, s, us, %%)", unit)
	}
	v = shift10(v, exp)
	if path.unit == UnitRatio && v > 1 {
		if unit == "%" {
			return 0, ps.errorf(col, "%s is a ratio and cannot exceed 100%%", path.text)
		}
		return 0, ps.errorf(col, "%s is a ratio from 0 to 1; write %s or %s%%", path.text,
			strconv.FormatFloat(v/100, 'g', -1, 64), strconv.FormatFloat(v, 'g', -1, 64))
	}
	ps.skipSpace()
	if !ps.eof() {
		return 0, ps.errorf(ps.col(), "unexpected %q after the value", ps.rest())
	}
	return v, nil
}

// number reads [+-]digits[.digits][e[+-]digits] (or .digits); no NaN, no Inf, no hex.
func (ps *parser) number() (string, bool) {
	start := ps.pos
	digits := func() int {
		n := 0
		for !ps.eof() && ps.peek() >= '0' && ps.peek() <= '9' {
			ps.pos++
			n++
		}
		return n
	}
	if !ps.eof() && (ps.peek() == '+' || ps.peek() == '-') {
		ps.pos++
	}
	n := digits()
	if !ps.eof() && ps.peek() == '.' {
		ps.pos++
		n += digits()
	}
	if n == 0 {
		ps.pos = start
		return "", false
	}
	if !ps.eof() && (ps.peek() == 'e' || ps.peek() == 'E') {
		save := ps.pos
		ps.pos++
		if !ps.eof() && (ps.peek() == '+' || ps.peek() == '-') {
			ps.pos++
		}
		if digits() == 0 {
			ps.pos = save // "5e" is 5 with a unit "e", reported as unknown
		}
	}
	return string(ps.src[start:ps.pos]), true
}

// found describes what is at the current position, for "want X, got Y" messages.
func (ps *parser) found() string {
	if ps.eof() {
		return "the end"
	}
	r := ps.rest()
	if len([]rune(r)) > 12 {
		r = string([]rune(r)[:12]) + "…"
	}
	return strconv.Quote(r)
}

// shift10 is v × 10^exp computed on v's shortest decimal form, so 99.9 shifted by -2 is
// exactly the float64 nearest 0.999.
func shift10(v float64, exp int) float64 {
	if exp == 0 || v == 0 {
		return v
	}
	mant, e, _ := strings.Cut(strconv.FormatFloat(v, 'e', -1, 64), "e")
	n, _ := strconv.Atoi(e)
	r, err := strconv.ParseFloat(mant+"e"+strconv.Itoa(n+exp), 64)
	if err != nil { // out of range: fall back to arithmetic
		return v * math.Pow10(exp)
	}
	return r
}
