package refserver

import (
	"testing"
	"time"
)

func TestParseSlowCached(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Slowdown
		bad  bool
	}{
		{"", Slowdown{}, false},                                   // every ordinary build: off
		{"30%", Slowdown{Percent: 30}, false},                     // of each hit's handling time
		{"180us", Slowdown{Fixed: 180 * time.Microsecond}, false}, // fixed, per hit
		{"-5%", Slowdown{}, true},                                 // no speed-ups
		{"2s", Slowdown{}, true},                                  // beyond 1s: a typo, not a test
		{"thirty", Slowdown{}, true},
	} {
		got, err := ParseSlowCached(tc.in)
		if got != tc.want || (err != nil) != tc.bad {
			t.Errorf("ParseSlowCached(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
	// The package variable is empty in a test build as in every ordinary one.
	if sd, err := BuildSlowdown(); err != nil || !sd.Zero() {
		t.Errorf("BuildSlowdown() = %v, %v; want off in an ordinary build", sd, err)
	}
}
