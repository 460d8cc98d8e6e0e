package check

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// decodeBody fills b from a JSON answer with what json.Unmarshal(data, b) would give,
// error or not, but reads only the fields the checks use and reflects on nothing: the
// checker decodes every 2xx body of a run, and encoding/json's reflection was most of
// the checker's cost at full speed. Unknown fields are validated and skipped; key
// matching is case-insensitive and the last duplicate wins, as in encoding/json.
//
// known points to a string the body is expected to repeat (the requester's user ID, in its
// Request): a field equal to it shares it, and a userId pointer is known itself, instead of
// allocating a copy per item. Nobody writes through those pointers.
func decodeBody(data []byte, b *body, known *string) error {
	d := decoder{data: data, known: *known, knownPtr: known}
	d.space()
	if d.literal("null") {
		// A top-level null leaves b as it is, as json.Unmarshal does.
	} else if err := d.object(func(key []byte, escaped bool) error { return d.bodyField(key, escaped, b) }); err != nil {
		return err
	}
	d.space()
	if d.i != len(d.data) {
		return errSyntax
	}
	return nil
}

var (
	errSyntax = errors.New("invalid json")
	errType   = errors.New("json: value of the wrong type")
)

// tierNames are strings nearly every body repeats: returned as these, not copied.
var tierNames = []string{string(atlas.TierFree), string(atlas.TierCore), string(atlas.TierStudio)}

type decoder struct {
	data     []byte
	i        int
	known    string
	knownPtr *string
}

func (d *decoder) bodyField(key []byte, escaped bool, b *body) error {
	switch {
	case d.is(key, escaped, "userId"):
		return d.stringPtr(&b.UserID)
	case d.is(key, escaped, "tier"):
		return d.stringPtr(&b.Tier)
	case d.is(key, escaped, "id"):
		return d.string(&b.ID)
	case d.is(key, escaped, "createdAt"):
		return d.string(&b.CreatedAt)
	case d.is(key, escaped, "conversations"):
		return d.items(&b.Conversations)
	case d.is(key, escaped, "messages"):
		return d.items(&b.Messages)
	}
	return d.skip()
}

func (d *decoder) itemField(key []byte, escaped bool, it *item) error {
	switch {
	case d.is(key, escaped, "id"):
		return d.string(&it.ID)
	case d.is(key, escaped, "userId"):
		return d.stringPtr(&it.UserID)
	case d.is(key, escaped, "createdAt"):
		return d.string(&it.CreatedAt)
	}
	return d.skip()
}

// is matches a key the way encoding/json does: case-insensitively (with Unicode folding
// for keys that are not plain ASCII).
func (d *decoder) is(key []byte, escaped bool, name string) bool {
	if !escaped {
		if len(key) != len(name) {
			return false
		}
		for i := range len(key) {
			c, n := key[i], name[i]
			if c|0x20 != n|0x20 || (c|0x20 < 'a' || c|0x20 > 'z') && c != n {
				return false
			}
		}
		return true
	}
	var s string
	if json.Unmarshal(key, &s) != nil {
		return false
	}
	return strings.EqualFold(s, name)
}

func (d *decoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.i < len(lit) {
		return false
	}
	for k := range len(lit) {
		if d.data[d.i+k] != lit[k] {
			return false
		}
	}
	d.i += len(lit)
	return true
}

// object reads an object, calling field with each key (its raw quoted text when escaped,
// else its bytes) with the decoder at the value; null is not an object here.
func (d *decoder) object(field func(key []byte, escaped bool) error) error {
	if d.i >= len(d.data) {
		return errSyntax
	}
	if d.data[d.i] != '{' {
		if err := d.skip(); err != nil {
			return err
		}
		return errType
	}
	d.i++
	d.space()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		d.space()
		key, escaped, err := d.rawString()
		if err != nil {
			return err
		}
		d.space()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return errSyntax
		}
		d.i++
		d.space()
		if err := field(key, escaped); err != nil {
			return err
		}
		d.space()
		if d.i >= len(d.data) {
			return errSyntax
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return errSyntax
		}
	}
}

// rawString reads a string: its contents when plain printable ASCII without escapes
// (escaped false), else its whole quoted text for json.Unmarshal (escaped true).
func (d *decoder) rawString() (s []byte, escaped bool, err error) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return nil, false, errSyntax
	}
	start := d.i
	d.i++
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			if escaped {
				return d.data[start:d.i], true, nil
			}
			return d.data[start+1 : d.i-1], false, nil
		case c == '\\':
			escaped = true
			d.i++
			if d.i >= len(d.data) {
				return nil, false, errSyntax
			}
			switch d.data[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				if d.i+5 > len(d.data) {
					return nil, false, errSyntax
				}
				for _, h := range d.data[d.i+1 : d.i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, errSyntax
					}
				}
				d.i += 5
			default:
				return nil, false, errSyntax
			}
		case c < 0x20:
			return nil, false, errSyntax
		default:
			if c >= 0x80 { // UTF-8 (valid or not): let encoding/json decide what it becomes
				escaped = true
			}
			d.i++
		}
	}
	return nil, false, errSyntax
}

func (d *decoder) stringValue() (string, error) {
	raw, escaped, err := d.rawString()
	if err != nil {
		return "", err
	}
	if !escaped {
		if string(raw) == d.known {
			return d.known, nil
		}
		for _, t := range tierNames {
			if string(raw) == t {
				return t, nil
			}
		}
		return string(raw), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errSyntax
	}
	return s, nil
}

// string reads a string into *s; null leaves *s as it is.
func (d *decoder) string(s *string) error {
	if d.i < len(d.data) && d.data[d.i] != '"' {
		if d.literal("null") {
			return nil
		}
		if err := d.skip(); err != nil {
			return err
		}
		return errType
	}
	v, err := d.stringValue()
	if err == nil {
		*s = v
	}
	return err
}

// stringPtr reads a string into a new *p; null sets *p to nil.
func (d *decoder) stringPtr(p **string) error {
	if d.literal("null") {
		*p = nil
		return nil
	}
	if start := d.i; start < len(d.data) && d.data[start] == '"' {
		raw, escaped, err := d.rawString()
		if err != nil {
			return err
		}
		if !escaped && string(raw) == d.known {
			*p = d.knownPtr // shared: nobody writes through these pointers
			return nil
		}
		d.i = start // read it again as any string
	}
	var s string
	if err := d.string(&s); err != nil {
		return err
	}
	*p = &s
	return nil
}

// items reads an array of items into *list; null sets it to nil, a null element is a zero item.
func (d *decoder) items(list *[]item) error {
	if d.literal("null") {
		*list = nil
		return nil
	}
	if d.i >= len(d.data) {
		return errSyntax
	}
	if d.data[d.i] != '[' {
		if err := d.skip(); err != nil {
			return err
		}
		return errType
	}
	d.i++
	out := (*list)[:0]
	d.space()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		*list = out
		if *list == nil {
			*list = []item{}
		}
		return nil
	}
	for {
		d.space()
		var it item
		if !d.literal("null") {
			if err := d.object(func(key []byte, escaped bool) error { return d.itemField(key, escaped, &it) }); err != nil {
				return err
			}
		}
		out = append(out, it)
		d.space()
		if d.i >= len(d.data) {
			return errSyntax
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			*list = out
			return nil
		default:
			return errSyntax
		}
	}
}

// skip validates and passes over one value.
func (d *decoder) skip() error {
	if d.i >= len(d.data) {
		return errSyntax
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.object(func([]byte, bool) error { return d.skip() })
	case c == '[':
		d.i++
		d.space()
		if d.i < len(d.data) && d.data[d.i] == ']' {
			d.i++
			return nil
		}
		for {
			d.space()
			if err := d.skip(); err != nil {
				return err
			}
			d.space()
			if d.i >= len(d.data) {
				return errSyntax
			}
			switch d.data[d.i] {
			case ',':
				d.i++
			case ']':
				d.i++
				return nil
			default:
				return errSyntax
			}
		}
	case c == '"':
		_, _, err := d.rawString()
		return err
	case c == 't':
		return d.must("true")
	case c == 'f':
		return d.must("false")
	case c == 'n':
		return d.must("null")
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	return errSyntax
}

func (d *decoder) must(lit string) error {
	if !d.literal(lit) {
		return errSyntax
	}
	return nil
}

// number passes over a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() error {
	digits := func() int {
		n := 0
		for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.data[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.data) && d.data[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return errSyntax
	}
	if d.i < len(d.data) && d.data[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return errSyntax
		}
	}
	if d.i < len(d.data) && (d.data[d.i] == 'e' || d.data[d.i] == 'E') {
		d.i++
		if d.i < len(d.data) && (d.data[d.i] == '+' || d.data[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return errSyntax
		}
	}
	return nil
}
