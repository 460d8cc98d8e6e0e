package runner

import (
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestSeededRank: only seeded IDs u<i> (i >= 1) have a rank; the ideal cache preloads
// nobody else.
func TestSeededRank(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want int
		ok   bool
	}{
		{"u1", 1, true},
		{"u100000", 100000, true},
		{"u0", 0, false},     // not a seeded ID
		{"acct-7", 0, false}, // another prefix
		{"u12x", 0, false},   // not a number
		{"", 0, false},       //
		{"u-3", 0, false},    // negative
	} {
		got, ok := seededRank(tc.id)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("seededRank(%q) = %d, %v; want %d, %v", tc.id, got, ok, tc.want, tc.ok)
		}
	}
	if warmedUsers(nil, true) != nil {
		t.Error("without a stack the ideal should preload every user (nil)")
	}
}

// TestComposeKeepsWarming: Compose carries the warming part into the figures.
func TestComposeKeepsWarming(t *testing.T) {
	done := 12.5
	w := &summary.Warming{Instances: 2, Active: 10, Users: 10, Keys: 20, Stopped: "done", DoneS: &done}
	if f := Compose(summary.Figures{}, Parts{Warming: w}); f.Warming != w {
		t.Errorf("Compose dropped the warming part: %+v", f.Warming)
	}
}
