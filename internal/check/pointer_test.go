package check

import "testing"

func TestPointerOwner(t *testing.T) {
	for _, tc := range []struct {
		ptr, body, want string
		ok              bool
	}{
		{"/userId", `{"userId":"u1"}`, "u1", true},                         // Atlas's
		{"/data/owner/id", `{"data":{"owner":{"id":"a-7"}}}`, "a-7", true}, // nested
		{"/items/1/by", `{"items":[{"by":"x"},{"by":"y"}]}`, "y", true},    // array index
		{"/a~1b/c~0d", `{"a/b":{"c~d":"esc"}}`, "esc", true},               // escapes
		{"/ownerId", `{"ownerId":42}`, "42", true},                         // numeric IDs
		{"/userId", `{"user":"u1"}`, "", false},                            // absent
		{"/userId", `not json`, "", false},                                 // not JSON
		{"/items/9/by", `{"items":[]}`, "", false},                         // index out of range
		{"/userId", `{"userId":{"id":"u1"}}`, "", false},                   // not a scalar
	} {
		p, err := ParsePointer(tc.ptr)
		if err != nil {
			t.Fatalf("%s: %v", tc.ptr, err)
		}
		got, ok := p.Owner([]byte(tc.body))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s in %s: %q %v, want %q %v", tc.ptr, tc.body, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []string{"userId", "/a~2"} {
		if _, err := ParsePointer(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
