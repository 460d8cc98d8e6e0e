package strictyaml

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// walk reads data through a Walker over a fixed set of fields and returns every message as
// FILE:LINE: FIELD: MSG, in the order they were reported.
func walk(t *testing.T, data string, maxNodes int) ([]string, *Walker) {
	t.Helper()
	var got []string
	w := New(func(line int, field string, _ bool, msg string) {
		got = append(got, (&Error{File: "f.yaml", Line: line, Field: field, Msg: msg}).Error())
	}, maxNodes)
	root := w.Document([]byte(data), "empty", "a mapping of test fields")
	if root == nil {
		return got, w
	}
	f := w.Mapping(root, "", "name", "rate", "items")
	if n := f["rate"]; n != nil {
		g := w.Mapping(n, "rate", "shape", "rps")
		if v := g["rps"]; v != nil {
			w.Scalar(v, "rate.rps", "a number")
		}
	}
	if n := f["items"]; n != nil {
		for _, it := range w.Sequence(n, "items", false) {
			w.Scalar(it, "items[]", "a text")
		}
	}
	return got, w
}

func TestWalker(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"clean", "name: x\nrate: {shape: constant, rps: 5}\nitems: [a, b]\n", nil},
		{"unknown field with a suggestion, nested", "name: x\nrate:\n  shpe: constant\n  burst: 3\n",
			[]string{`f.yaml:3: rate: unknown field "shpe" (did you mean "shape"?)`, `f.yaml:4: rate: unknown field "burst"`}},
		{"unknown top-level field", "nme: x\n", []string{`f.yaml:1: unknown field "nme" (did you mean "name"?)`}},
		{"duplicate", "name: x\nname: y\n", []string{`f.yaml:2: duplicate field "name" (first at line 1)`}},
		{"wrong kinds name the field", "rate: [1]\nitems: {a: 1}\n",
			[]string{`f.yaml:1: rate: want a mapping, got a list`, `f.yaml:2: items: want a list, got a mapping`}},
		{"a value of the wrong kind", "rate: {rps: [1]}\nitems: [a, [b]]\n",
			[]string{`f.yaml:1: rate.rps: want a number, got a list`, `f.yaml:2: items[]: want a text, got a list`}},
		{"key that is not a name", "? [a]\n: 1\n", []string{`f.yaml:1: want field names as keys, got a list`}},
		{"root not a mapping", "- a\n", []string{`f.yaml:1: want a mapping of test fields, got a list`}},
		{"empty", "", []string{`f.yaml: empty`}},
		{"only a comment", "# nothing\n", []string{`f.yaml: empty`}},
		{"two documents", "name: x\n---\nname: y\n", []string{`f.yaml:2: only one YAML document is allowed`}},
		{"parser error, 0-based line corrected", "name: x\nrate: {rps: 10\nitems: []\n",
			[]string{`f.yaml:2: did not find expected ',' or '}'`}},
		{"parser error past the end is named at the last line", "rate: {shape: [\n",
			[]string{`f.yaml:1: did not find expected node content`}},
		{"scanner error", "name: x\n  rate: 10\n", []string{`f.yaml:2: mapping values are not allowed in this context`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := walk(t, tc.yaml, 0)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestWalkerRecordsLines(t *testing.T) {
	_, w := walk(t, "\nname: x\nrate:\n  rps: 5\nitems:\n  - a\n  - b\n", 0)
	want := map[string]int{"": 2, "name": 2, "rate": 3, "rate.rps": 4, "items": 5, "items[0]": 6, "items[1]": 7}
	for field, line := range want {
		if w.Lines[field] != line {
			t.Errorf("Lines[%q] = %d, want %d", field, w.Lines[field], line)
		}
	}
}

func TestWalkerBudget(t *testing.T) {
	// Nine levels of nine aliases each: far more nodes than the budget once expanded.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	var got []string
	w := New(func(line int, field string, _ bool, msg string) { got = append(got, msg) }, 1000)
	root := w.Document([]byte(b.String()), "empty", "a mapping")
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		for _, c := range n.Content {
			if c = w.Resolve(c); c != nil {
				visit(c)
			}
		}
	}
	visit(root)
	if len(got) != 1 || got[0] != "too many nodes (more than 1000, aliases included)" {
		t.Errorf("got %q, want one budget message", got)
	}
}

func TestClosest(t *testing.T) {
	known := []string{"duration", "rate", "readTimeout", "s"}
	for name, want := range map[string]string{
		"durration": "duration", "DURATION": "duration", "rat": "rate", "rtae": "", "readTimout": "readTimeout",
		"x": "", "warmup": "", "ss": "", "rates": "rate",
	} {
		if got := Closest(name, known); got != want {
			t.Errorf("Closest(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestErrorRendering(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Field: "mix[0].weight", Msg: "must be > 0"}, "a.yaml:3: mix[0].weight: must be > 0"},
		{Error{File: "a.yaml", Field: "ttl", Msg: "missing"}, "a.yaml: ttl: missing"},
		{Error{File: "a.yaml", Line: 1, Msg: "empty"}, "a.yaml:1: empty"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v renders %q, want %q", tc.e, got, tc.want)
		}
	}
	var e *Error
	if !errors.As(errors.Join(errors.New("x"), &Error{File: "f"}), &e) || e.File != "f" {
		t.Error("errors.As does not find an *Error in a join")
	}
}
