package threshold

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// Unit is what a path's numbers measure; it decides which units a threshold's value may take.
type Unit string

// The units of a path.
const (
	UnitNone    Unit = ""      // a count or a plain number
	UnitMS      Unit = "ms"    // milliseconds: everything under latency_ms and service_time_ms
	UnitSeconds Unit = "s"     // seconds: fields named *_s, such as phases[…].recovery_s
	UnitRatio   Unit = "ratio" // a share from 0 to 1: hit rates, success_ratio, db_query_reduction
	UnitBool    Unit = "bool"  // true or false (1 or 0): cross_checks.all_agree
)

// Path is a checked summary path such as latency.p99 or phases["redis-down"].errors: it is
// known to lead to a number in the summary.json schema, though a given summary may lack it
// (speedup without both modes, an endpoint that was not requested).
type Path struct {
	text   string   // canonical form, as written in thresholds and Samples keys
	fields []string // the threshold names of the named steps, shorthand expanded
	steps  []step
	unit   Unit
}

type stepKind int

const (
	stepField  stepKind = iota // a struct field
	stepMapKey                 // a map entry
	stepNamed                  // the element of a list whose "name" is the key
)

// step is one move through the summary's Go value.
type step struct {
	kind    stepKind
	index   []int  // stepField: the field's index sequence (embedded structs included)
	key     string // stepMapKey, stepNamed
	display string // the threshold path up to and including this step, for messages
}

// String returns the path in canonical form: `by_endpoint["GET /api/me"].latency.p99`.
func (p Path) String() string { return p.text }

// Unit returns what the path's numbers measure.
func (p Path) Unit() Unit { return p.unit }

// Fields returns the names along the path without the bracket keys, with shorthand
// expanded: by_endpoint["GET /x"].p99 gives [by_endpoint latency p99]. The gate package
// classifies metrics by them.
func (p Path) Fields() []string { return slices.Clone(p.fields) }

// IsZero reports whether p is the zero Path (not parsed).
func (p Path) IsZero() bool { return len(p.steps) == 0 }

// ParsePath parses and checks a path on its own, as used for Samples keys. Errors are
// *SyntaxError naming the path and the 1-based column.
func ParsePath(path string) (Path, error) {
	ps := &parser{src: []rune(path), what: "path", expr: path}
	ps.skipSpace()
	p, err := ps.path()
	if err != nil {
		return Path{}, err
	}
	ps.skipSpace()
	if !ps.eof() {
		return Path{}, ps.errorf(ps.col(), "unexpected %q after the path", ps.rest())
	}
	return p, nil
}

// rawSeg is a path segment as written: .name or ["key"], with its 1-based column.
type rawSeg struct {
	name  string
	key   string
	isKey bool
	col   int
}

// Types the binder treats specially.
var (
	summaryType  = reflect.TypeFor[summary.Summary]()
	latencyType  = reflect.TypeFor[summary.Latency]()
	hitRateType  = reflect.TypeFor[summary.HitRate]()
	endpointType = reflect.TypeFor[summary.Endpoint]()
	phaseType    = reflect.TypeFor[summary.Phase]()
	timeType     = reflect.TypeFor[time.Time]()
)

// isRatioField reports whether a JSON name is a figure that is a share from 0 to 1.
func isRatioField(name string) bool {
	switch name {
	case "hit_rate", "success_ratio", "db_query_reduction":
		return true
	}
	return false
}

// bind checks segments against the summary's schema and compiles them into steps. A problem
// is reported with the column of the segment it is about.
func bind(ps *parser, segs []rawSeg) (Path, error) {
	var p Path
	cur := summaryType
	display := ""
	var lastField string
	inLatency, inHitRate := false, false
	for _, sg := range segs {
		cur = deref(cur)
		if sg.isKey {
			quoted := "[" + strconv.Quote(sg.key) + "]"
			switch {
			case cur.Kind() == reflect.Map && cur.Key().Kind() == reflect.String:
				p.steps = append(p.steps, step{kind: stepMapKey, key: sg.key, display: display + quoted})
				cur = cur.Elem()
			case cur.Kind() == reflect.Slice && namedStruct(cur.Elem()):
				p.steps = append(p.steps, step{kind: stepNamed, key: sg.key, display: display + quoted})
				cur = cur.Elem()
			default:
				return Path{}, ps.errorf(sg.col, "%s takes no [key]", orTop(display))
			}
			display += quoted
			continue
		}
		switch cur.Kind() {
		case reflect.Map, reflect.Slice:
			return Path{}, ps.errorf(sg.col, `%s needs a key: %s["…"]`, display, display)
		case reflect.Struct:
		default:
			return Path{}, ps.errorf(sg.col, "%s is a number; it has no field %q", display, sg.name)
		}
		f, name, ok := field(cur, sg.name)
		if !ok && (cur == endpointType || cur == phaseType) && hasField(latencyType, sg.name) {
			// by_endpoint["…"].p99 and phases["…"].p99 are short for ….latency.p99.
			lf, _, _ := field(cur, "latency_ms")
			display = join(display, "latency")
			p.steps = append(p.steps, step{kind: stepField, index: lf.Index, display: display})
			p.fields = append(p.fields, "latency")
			inLatency = true
			cur = lf.Type
			f, name, ok = field(cur, sg.name)
		}
		if !ok {
			return Path{}, ps.errorf(sg.col, "unknown field %q in %s (want %s)", sg.name, orTop(display), strings.Join(choices(cur), ", "))
		}
		display = join(display, sg.name)
		p.steps = append(p.steps, step{kind: stepField, index: f.Index, display: display})
		p.fields = append(p.fields, sg.name)
		lastField = name
		if strings.HasSuffix(name, "_ms") {
			inLatency = true
		}
		inHitRate = cur == hitRateType
		cur = f.Type
	}
	last := segs[len(segs)-1]
	cur = deref(cur)
	switch {
	case isNumber(cur.Kind()):
	case cur.Kind() == reflect.Bool:
		p.unit = UnitBool
	case cur.Kind() == reflect.Struct:
		return Path{}, ps.errorf(last.col, "%s is a group, not a number (pick one of %s)", display, strings.Join(choices(cur), ", "))
	case cur.Kind() == reflect.Map || cur.Kind() == reflect.Slice && namedStruct(cur.Elem()):
		return Path{}, ps.errorf(last.col, `%s needs a key: %s["…"]`, display, display)
	case cur.Kind() == reflect.Slice:
		return Path{}, ps.errorf(last.col, "%s is a list, not a number", display)
	default:
		return Path{}, ps.errorf(last.col, "%s is a %s, not a number", display, cur.Kind())
	}
	p.text = display
	switch {
	case p.unit == UnitBool:
	case inLatency:
		p.unit = UnitMS
	case strings.HasSuffix(lastField, "_s"):
		p.unit = UnitSeconds
	case inHitRate || isRatioField(lastField):
		p.unit = UnitRatio
	}
	return p, nil
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func orTop(display string) string {
	if display == "" {
		return "the summary"
	}
	return display
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func isNumber(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// namedStruct reports whether t (a list element) is a struct with a string "name" field,
// so list[“key”] can select the element by name.
func namedStruct(t reflect.Type) bool {
	t = deref(t)
	if t.Kind() != reflect.Struct {
		return false
	}
	f, _, ok := jsonField(t, "name")
	return ok && f.Type.Kind() == reflect.String
}

// field finds the field a threshold name stands for: the JSON name itself, or the JSON name
// with its unit suffix (latency → latency_ms). It returns the JSON name found.
func field(t reflect.Type, name string) (reflect.StructField, string, bool) {
	if f, n, ok := jsonField(t, name); ok && (leadsToNumber(f.Type, 4) || gatedBool(t, f)) {
		return f, n, true
	}
	if f, n, ok := jsonField(t, name+"_ms"); ok && leadsToNumber(f.Type, 4) {
		return f, n, true
	}
	return reflect.StructField{}, "", false
}

func hasField(t reflect.Type, name string) bool {
	_, _, ok := field(t, name)
	return ok
}

// jsonField finds the field encoding/json writes under name, looking through embedded
// structs the way encoding/json does (the shallowest field wins).
func jsonField(t reflect.Type, name string) (reflect.StructField, string, bool) {
	var best reflect.StructField
	found := false
	for _, f := range reflect.VisibleFields(t) {
		n, ok := jsonName(f)
		if !ok || n != name {
			continue
		}
		if !found || len(f.Index) < len(best.Index) {
			best, found = f, true
		}
	}
	return best, name, found
}

// jsonName is the name encoding/json gives f; false for fields it does not write under a
// name of their own (unexported, "-", embedded structs whose fields are promoted).
func jsonName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" && tag == "-" {
		return "", false
	}
	if f.Anonymous && name == "" {
		return "", false
	}
	if name == "" {
		name = f.Name
	}
	return name, true
}

// boolParents are the structs whose true/false fields thresholds may gate on (as 1 and 0):
// cross_checks.all_agree. Other booleans (pass, interrupted) are not figures.
var boolParents = map[reflect.Type]bool{reflect.TypeFor[summary.CrossChecks](): true}

// gatedBool reports whether field f of struct t is a boolean thresholds may name.
func gatedBool(t reflect.Type, f reflect.StructField) bool {
	return boolParents[t] && deref(f.Type).Kind() == reflect.Bool
}

// leadsToNumber reports whether some path under t ends in a number.
func leadsToNumber(t reflect.Type, depth int) bool {
	t = deref(t)
	switch {
	case isNumber(t.Kind()):
		return true
	case depth == 0 || t == timeType:
		return false
	case t.Kind() == reflect.Map:
		return t.Key().Kind() == reflect.String && leadsToNumber(t.Elem(), depth-1)
	case t.Kind() == reflect.Slice:
		return namedStruct(t.Elem()) && leadsToNumber(t.Elem(), depth-1)
	case t.Kind() == reflect.Struct:
		for _, f := range reflect.VisibleFields(t) {
			if _, ok := jsonName(f); ok && (leadsToNumber(f.Type, depth-1) || gatedBool(t, f)) {
				return true
			}
		}
	}
	return false
}

// choices lists the threshold names under struct t that lead to a number, in schema order.
func choices(t reflect.Type) []string {
	var out []string
	for _, f := range reflect.VisibleFields(t) {
		n, ok := jsonName(f)
		if !ok || !leadsToNumber(f.Type, 4) && !gatedBool(t, f) {
			continue
		}
		if deref(f.Type) == latencyType || strings.HasSuffix(n, "_ms") {
			n = strings.TrimSuffix(n, "_ms")
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// ErrMissing is wrapped by the errors of Resolve and Eval when the summary lacks the figure
// a path names (speedup when only one mode ran, an endpoint that was not requested).
var ErrMissing = errors.New("threshold: not in the summary")

// Resolve reads the path's number from s. A figure s does not have is an error wrapping
// ErrMissing that says what is missing and, where it can, why.
func (p Path) Resolve(s *summary.Summary) (float64, error) {
	if p.IsZero() {
		return 0, errors.New("threshold: empty path")
	}
	if s == nil {
		return 0, fmt.Errorf("%s: no summary: %w", p.text, ErrMissing)
	}
	v := reflect.ValueOf(s).Elem()
	prev := ""
	for _, st := range p.steps {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return 0, p.missing(prev, "")
			}
			v = v.Elem()
		}
		prev = st.display
		switch st.kind {
		case stepField:
			fv, err := v.FieldByIndexErr(st.index)
			if err != nil {
				return 0, p.missing(st.display, "")
			}
			v = fv
		case stepMapKey:
			ev := v.MapIndex(reflect.ValueOf(st.key))
			if !ev.IsValid() {
				return 0, p.missing(st.display, "have "+listKeys(mapKeys(v)))
			}
			v = ev
		case stepNamed:
			found := false
			var names []string
			for i := range v.Len() {
				ev := v.Index(i)
				if ev.Kind() == reflect.Pointer {
					if ev.IsNil() {
						continue
					}
					ev = ev.Elem()
				}
				f, _, _ := jsonField(ev.Type(), "name")
				name := ev.FieldByIndex(f.Index).String()
				if name == st.key {
					v, found = ev, true
					break
				}
				names = append(names, name)
			}
			if !found {
				return 0, p.missing(st.display, "have "+listKeys(names))
			}
		}
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return 0, p.missing(p.text, "")
		}
		v = v.Elem()
	}
	switch {
	case v.Kind() == reflect.Bool:
		if v.Bool() {
			return 1, nil
		}
		return 0, nil
	case v.CanFloat():
		return v.Float(), nil
	case v.CanInt():
		return float64(v.Int()), nil
	case v.CanUint():
		return float64(v.Uint()), nil
	}
	return 0, fmt.Errorf("%s: %s is not a number", p.text, v.Kind())
}

// missing explains a figure the summary lacks.
func (p Path) missing(at, detail string) error {
	switch {
	case detail != "":
	case at == "cross_checks":
		detail = "present when the run had a second witness: Redis, PostgreSQL or the server's /metrics"
	case at == "speedup" || at == "db_query_reduction" || at == "nocache":
		detail = "present only when both modes ran (-mode both)"
	case strings.HasSuffix(at, "recovery_s"):
		detail = "the phase did not recover within the run"
	}
	if detail != "" {
		return fmt.Errorf("%s: %w (%s)", at, ErrMissing, detail)
	}
	return fmt.Errorf("%s: %w", at, ErrMissing)
}

func mapKeys(v reflect.Value) []string {
	var keys []string
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	slices.Sort(keys)
	return keys
}

// listKeys quotes up to eight keys for a message.
func listKeys(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	const most = 8
	var b strings.Builder
	for i, k := range keys {
		if i == most {
			fmt.Fprintf(&b, ", … %d more", len(keys)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(k))
	}
	return b.String()
}

// Format writes v in the path's unit for people: "63.2ms", "87.3%", "4.2s", "12".
func (p Path) Format(v float64) string {
	return FormatValue(p.unit, v)
}

// FormatValue writes v in unit u for people: milliseconds and seconds with 3 significant
// digits and the unit, ratios as percents with one decimal, whole numbers without decimals.
func FormatValue(u Unit, v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	switch u {
	case UnitMS:
		return sig3(v) + "ms"
	case UnitSeconds:
		return sig3(v) + "s"
	case UnitRatio:
		return render.Percent(v)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return sig3(v)
}

// sig3 is v with three significant digits and no exponent (integers are never rounded away).
func sig3(v float64) string { return render.Sig(v, 3) }
