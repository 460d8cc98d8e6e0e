package stack

import (
	"testing"
	"time"
)

func TestParseDrain(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Drain
		ok   bool
	}{
		// what bench serve prints after a graceful shutdown
		{"atlas: drained in_flight=3 at_close=1 cut_off=0 delay=500ms drain=2.5ms pending=2 applied=1 handed_over=1 lost=0",
			Drain{InFlight: 3, AtClose: 1, Delay: 500 * time.Millisecond, Took: 2500 * time.Microsecond, Pending: 2, Applied: 1, HandedOver: 1}, true},
		// an abrupt exit: everything in flight cut off
		{"atlas: drained in_flight=2 at_close=2 cut_off=2 delay=0s drain=0s pending=0 applied=0 handed_over=0 lost=0",
			Drain{InFlight: 2, AtClose: 2, CutOff: 2}, true},
		// other lines of the server's stdout
		{"atlas: listening on http://127.0.0.1:8000 (mode cache)", Drain{}, false},
		{"atlas: seeded 10 users in 1s", Drain{}, false},
	} {
		got, ok := parseDrain(tc.line)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseDrain(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}
