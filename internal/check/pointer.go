package check

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// DefaultOwner is the JSON pointer of a body's owner on the Atlas API.
const DefaultOwner = "/userId"

// Pointer is a JSON pointer (RFC 6901) to the field of an answer that names its owner,
// e.g. "/userId" or "/data/owner/id".
type Pointer struct {
	text  string
	parts []string
}

// ParsePointer reads a JSON pointer: "" (the whole document) or "/"-separated tokens,
// with "~1" for "/" and "~0" for "~".
func ParsePointer(s string) (Pointer, error) {
	if s == "" {
		return Pointer{}, nil
	}
	if !strings.HasPrefix(s, "/") {
		return Pointer{}, fmt.Errorf("check: JSON pointer %q must start with /", s)
	}
	parts := strings.Split(s[1:], "/")
	for i, p := range parts {
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(p, "~0", ""), "~1", ""), "~") {
			return Pointer{}, fmt.Errorf("check: JSON pointer %q: bad escape in %q (only ~0 and ~1)", s, p)
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return Pointer{text: s, parts: parts}, nil
}

// String is the pointer as written.
func (p Pointer) String() string { return p.text }

// Lookup returns the value the pointer names in a document decoded by encoding/json.
func (p Pointer) Lookup(doc any) (any, bool) {
	v := doc
	for _, part := range p.parts {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// Owner returns the owner a JSON body names at p, as a string (a number is rendered as
// JSON writes it); ok is false when the body is not JSON or has nothing there.
func (p Pointer) Owner(body []byte) (owner string, ok bool) {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", false
	}
	v, ok := p.Lookup(doc)
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}
