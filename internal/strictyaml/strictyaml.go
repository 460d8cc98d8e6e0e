package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultMaxNodes bounds how many nodes one Walker visits, aliases included.
const DefaultMaxNodes = 100_000

// Error is one problem of a YAML source, rendered FILE:LINE: FIELD: MSG.
type Error struct {
	File  string // as shown in messages
	Line  int    // 1-based; 0 when unknown
	Field string // e.g. "mix[2].weight" or "redis.readTimeout"; empty for the document itself
	Msg   string
}

// Error renders FILE:LINE: FIELD: MSG, leaving out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Report takes one problem found by a Walker: its line (0 when the walker knows none),
// the field path ("" for the document), whether the field's value is unusable (so that
// later checks say nothing more about it), and the message.
type Report func(line int, field string, bad bool, msg string)

// Walker reads a yaml.Node tree strictly, reporting every problem through Report.
type Walker struct {
	report Report
	// Lines maps each field path the walker read ("", "rate", "mix[2]", "mix[2].weight")
	// to its line.
	Lines    map[string]int
	budget   int
	maxNodes int
}

// New returns a Walker that reports through report and visits at most maxNodes nodes
// (DefaultMaxNodes when maxNodes <= 0).
func New(report Report, maxNodes int) *Walker {
	if maxNodes <= 0 {
		maxNodes = DefaultMaxNodes
	}
	return &Walker{report: report, Lines: map[string]int{"": 1}, budget: maxNodes, maxNodes: maxNodes}
}

// Fail reports a problem at a line.
func (w *Walker) Fail(line int, field string, bad bool, format string, args ...any) {
	w.report(line, field, bad, fmt.Sprintf(format, args...))
}

// Document parses data, which must hold exactly one YAML document, and returns its root
// node, or nil after reporting why it cannot: empty is the message for a document with
// nothing in it (reported without a line), want describes the mapping the root must be
// ("a mapping of scenario fields (…)").
func (w *Walker) Document(data []byte, empty, want string) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			w.Fail(0, "", false, "%s", empty)
		} else {
			w.syntaxError(err, data)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		w.Fail(extra.Line, "", false, "only one YAML document is allowed")
		return nil
	case !errors.Is(err, io.EOF):
		w.syntaxError(err, data)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		w.Fail(0, "", false, "%s", empty)
		return nil
	}
	root := w.Resolve(doc.Content[0])
	if root == nil {
		return nil
	}
	if root.Kind != yaml.MappingNode || IsNull(root) {
		w.Fail(root.Line, "", false, "want %s, got %s", want, KindName(root))
		return nil
	}
	w.Lines[""] = root.Line
	return root
}

// syntaxError reports a syntax error from the YAML parser ("yaml: line 3: …") at its line.
// go.yaml.in/yaml/v3 prints the line of a parser (not scanner) error 0-based; that line is
// where the unfinished construct began, so it is corrected to 1-based here. When the
// construct began on the first line the parser names the line after the end instead; no
// line past the last one of data is named.
func (w *Walker) syntaxError(err error, data []byte) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				line, msg = n, after
				if isParserProblem(msg) {
					line++
				}
			}
		}
	}
	last := max(bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n"))+1, 1)
	w.Fail(min(line, last), "", false, "%s", strings.ReplaceAll(msg, "\n", " "))
}

// isParserProblem reports whether msg is one of go.yaml.in/yaml/v3's parser errors (as
// opposed to its scanner's, whose lines are already 1-based).
func isParserProblem(msg string) bool {
	return slices.Contains([]string{
		"did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"did not find expected '-' indicator", "did not find expected <document start>",
		"did not find expected <stream-start>", "did not find expected key",
		"did not find expected node content", "found duplicate %TAG directive",
		"found duplicate %YAML directive", "found incompatible YAML document", "found undefined tag handle",
	}, msg)
}

// Resolve follows aliases and counts the visit against the node budget; nil once the
// budget is spent (reported once) or on an alias chain too long to be meant.
func (w *Walker) Resolve(n *yaml.Node) *yaml.Node {
	for hops := 0; n != nil && n.Kind == yaml.AliasNode; hops++ {
		if hops > 100 {
			return nil
		}
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	w.budget--
	if w.budget == 0 {
		w.Fail(n.Line, "", false, "too many nodes (more than %d, aliases included)", w.maxNodes)
	}
	if w.budget <= 0 {
		return nil
	}
	return n
}

// Fields checks that n is a mapping with only known, distinct, plain keys, records each
// field's line as path.name and calls visit with every known field in document order
// (its key and its resolved value, null included). Unknown keys are reported with the
// nearest known name, if one is near. It returns false when n is not a mapping.
func (w *Walker) Fields(n *yaml.Node, path string, known []string, visit func(name string, key, val *yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		w.Fail(n.Line, path, true, "want a mapping, got %s", KindName(n))
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := w.Resolve(n.Content[i])
		if k == nil {
			return true
		}
		if k.Kind != yaml.ScalarNode {
			w.Fail(k.Line, path, false, "want field names as keys, got %s", KindName(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.Fail(k.Line, path, false, "duplicate field %q (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		if !slices.Contains(known, k.Value) {
			if near := Closest(k.Value, known); near != "" {
				w.Fail(k.Line, path, false, "unknown field %q (did you mean %q?)", k.Value, near)
			} else {
				w.Fail(k.Line, path, false, "unknown field %q", k.Value)
			}
			continue
		}
		w.Lines[Join(path, k.Value)] = k.Line
		v := w.Resolve(n.Content[i+1])
		if v == nil {
			return true
		}
		visit(k.Value, k, v)
	}
	return true
}

// Mapping is Fields collected: the non-null values by key, or nil when n is not a mapping.
// A field written with nothing after it (`key:`) counts as left out.
func (w *Walker) Mapping(n *yaml.Node, path string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if !w.Fields(n, path, known, func(name string, _, v *yaml.Node) {
		if !IsNull(v) {
			out[name] = v
		}
	}) {
		return nil
	}
	return out
}

// Sequence returns the items of a list (a single non-list value counts as a list of one
// when one is true), recording each item's line as path[i].
func (w *Walker) Sequence(n *yaml.Node, path string, one bool) []*yaml.Node {
	var items []*yaml.Node
	switch {
	case n.Kind == yaml.SequenceNode:
		items = n.Content
	case one && n.Kind == yaml.ScalarNode:
		items = []*yaml.Node{n}
	default:
		w.Fail(n.Line, path, true, "want a list, got %s", KindName(n))
		return nil
	}
	var out []*yaml.Node
	for i, it := range items {
		it = w.Resolve(it)
		if it == nil {
			break
		}
		w.Lines[fmt.Sprintf("%s[%d]", path, i)] = it.Line
		out = append(out, it)
	}
	return out
}

// Scalar checks that n is a single value; want names what the field takes ("a number").
func (w *Walker) Scalar(n *yaml.Node, field, want string) bool {
	if n.Kind != yaml.ScalarNode {
		w.Fail(n.Line, field, true, "want %s, got %s", want, KindName(n))
		return false
	}
	return true
}

// IsNull reports whether n is an explicit or implicit null (`key:` with nothing after it).
func IsNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// KindName describes a node for messages: a mapping, a list, nothing, or the quoted value.
func KindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if IsNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// Join appends a field name to a path.
func Join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Closest returns the known name nearest to a misspelt one (at most two edits, and
// fewer than half its letters), or "" when none is that near.
func Closest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestD && 2*d < len(k) {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
