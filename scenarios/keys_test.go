package scenarios

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// draw takes n picks from a sampler seeded with seed.
func draw(k Keys, users int, seed uint64, n int) []int {
	next := k.Sampler(users, rand.New(rand.NewPCG(seed, seed^0x5eed)))
	out := make([]int, n)
	for i := range out {
		out[i] = next()
	}
	return out
}

// TestSamplerDeterministic: the same seed gives the same sequence, another seed another
// one, and every pick is a valid 1-based user index.
func TestSamplerDeterministic(t *testing.T) {
	tests := []struct {
		name  string
		keys  Keys
		users int
	}{
		{"uniform", Keys{Distribution: DistUniform}, 1000},                            // the default
		{"empty means uniform", Keys{}, 50},                                           // zero value
		{"zipf 1.1", Keys{Distribution: DistZipf, S: 1.1}, 2000},                      // the mixed scenario's
		{"zipf 0.7", Keys{Distribution: DistZipf, S: 0.7}, 300},                       // s < 1: math/rand's Zipf could not
		{"hotspot", Keys{Distribution: DistHotspot, Fraction: 0.1, Share: 0.9}, 1000}, // 90% on 10%
		{"one user", Keys{Distribution: DistZipf, S: 2}, 1},                           // degenerate population
		{"invalid falls back", Keys{Distribution: "pareto"}, 10},                      // uniform
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := draw(tt.keys, tt.users, 42, 5000)
			b := draw(tt.keys, tt.users, 42, 5000)
			if !slices.Equal(a, b) {
				t.Fatalf("same seed, different sequences")
			}
			if tt.users > 1 && slices.Equal(a, draw(tt.keys, tt.users, 43, 5000)) {
				t.Errorf("different seeds, same sequence")
			}
			for _, u := range a {
				if u < 1 || u > tt.users {
					t.Fatalf("pick %d outside 1…%d", u, tt.users)
				}
			}
		})
	}
	if got := draw(Keys{}, 0, 1, 10); slices.Max(got) != 1 || slices.Min(got) != 1 {
		t.Errorf("users 0: %v, want all 1", got)
	}
}

// TestSamplerShape checks the distributions' shapes against theory on 200k picks.
func TestSamplerShape(t *testing.T) {
	const n = 200_000
	zipfShare := func(users int, s float64, rank int) float64 {
		h := 0.0
		for i := 1; i <= users; i++ {
			h += math.Pow(float64(i), -s)
		}
		return math.Pow(float64(rank), -s) / h
	}
	count := func(picks []int, pred func(int) bool) float64 {
		c := 0
		for _, p := range picks {
			if pred(p) {
				c++
			}
		}
		return float64(c) / float64(len(picks))
	}
	tests := []struct {
		name string
		keys Keys
		// users, the set measured, its expected share and the relative tolerance
		users int
		in    func(int) bool
		want  float64
		tol   float64
	}{
		// zipf s=1.1 over 2000 users: rank 1's share within 3% of 1/H(2000, 1.1).
		{"zipf rank 1", Keys{Distribution: DistZipf, S: 1.1}, 2000, func(u int) bool { return u == 1 }, zipfShare(2000, 1.1, 1), 0.03},
		// … and rank 10's.
		{"zipf rank 10", Keys{Distribution: DistZipf, S: 1.1}, 2000, func(u int) bool { return u == 10 }, zipfShare(2000, 1.1, 10), 0.06},
		// s < 1 over 500 users: rank 1.
		{"zipf 0.8 rank 1", Keys{Distribution: DistZipf, S: 0.8}, 500, func(u int) bool { return u == 1 }, zipfShare(500, 0.8, 1), 0.03},
		// hotspot: 90% of picks on the first 10% of users, within 1 point (absolute 0.01 of 0.9).
		{"hotspot share", Keys{Distribution: DistHotspot, Fraction: 0.1, Share: 0.9}, 1000, func(u int) bool { return u <= 100 }, 0.9, 0.01 / 0.9},
		// hotspot: the cold users share the rest uniformly (the last half of them get half of 10%).
		{"hotspot cold", Keys{Distribution: DistHotspot, Fraction: 0.1, Share: 0.9}, 1000, func(u int) bool { return u > 550 }, 0.05, 0.05},
		// uniform: the first quarter gets a quarter.
		{"uniform quarter", Keys{Distribution: DistUniform}, 1000, func(u int) bool { return u <= 250 }, 0.25, 0.02},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := count(draw(tt.keys, tt.users, 7, n), tt.in)
			if math.Abs(got-tt.want) > tt.tol*tt.want {
				t.Errorf("share = %.4f, want %.4f ± %.1f%%", got, tt.want, 100*tt.tol)
			}
		})
	}
}
