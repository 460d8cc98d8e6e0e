package scenarios

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; it returns either a scenario that validates and
// schedules, or errors whose every line starts with the source and a line number.
func FuzzParse(f *testing.F) {
	for _, in := range Builtins() {
		raw, err := BuiltinYAML(in.Name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, seed := range []string{
		"",
		"duration: 10s\nrate: 10\nmix: [{req: GET /api/me, weight: 1}]\n",
		"duration: 10s\nrate: {shape: sine, mean: 10, amp: 20, period: 1s}\nmix: [{req: GET /api/me, weight: 0}]\n",
		"duration: 10s\nrate: {shape: steps, steps: [{rps: 1, for: 1s}, {rps: 0}]}\nmix: [&a {req: GET /api/nope, weight: 1}, *a]\n",
		"a: &a [*a]\n",
		"duration: 1m\nrate: {shape: linear, from: 0, to: 1e6}\nkeys: {distribution: hotspot, fraction: 1, share: 0}\nmix: []\n",
		"faults: [{at: -1s, do: flap-redis}]\n---\n",
		"- 1\n- 2\n",
		"duration: 10s\nrate: {rps: 10\n",
	} {
		f.Add([]byte(seed))
	}
	line := regexp.MustCompile(`^f\.yaml:[1-9][0-9]*: `)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err == nil {
			if s == nil {
				t.Fatal("no scenario and no error")
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("Parse accepted what Validate rejects: %v", err)
			}
			sc := s.Schedule()
			if n := sc.Hits(); n > 0 {
				if _, ok := sc.At(n - 1); !ok {
					t.Fatalf("At(Hits()-1) not ok")
				}
			}
			return
		}
		if s != nil {
			t.Fatal("a scenario with an error")
		}
		for _, l := range strings.Split(err.Error(), "\n") {
			if !line.MatchString(l) {
				t.Fatalf("error line %q does not start with f.yaml:LINE:", l)
			}
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("no *Error in %v", err)
		}
	})
}
