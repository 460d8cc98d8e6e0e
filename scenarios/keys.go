package scenarios

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Sampler returns a function that picks the 1-based index of the user sending the next
// request, among users (u1 … uN), drawing from rng only: the same seed gives the same
// sequence. It is as safe for concurrent use as rng is (math/rand/v2's are not).
//
//   - uniform: every user equally often.
//   - zipf: user i with probability ∝ i^-S, for any S > 0 (u1 is the hottest). An exact
//     inverse-CDF table of users floats, one rng.Float64 per pick; math/rand/v2's Zipf
//     would need S > 1.
//   - hotspot: Share of the picks go uniformly to the first round(Fraction·users) users
//     (at least 1), the rest uniformly to the others.
//
// Keys that fail Validate fall back to uniform; users < 1 counts as 1.
func (k Keys) Sampler(users int, rng *rand.Rand) func() int {
	users = max(users, 1)
	switch k.Distribution {
	case DistZipf:
		if k.S > 0 && !math.IsInf(k.S, 0) {
			return zipfSampler(users, k.S, rng)
		}
	case DistHotspot:
		if k.Fraction > 0 && k.Fraction < 1 && k.Share > 0 && k.Share < 1 {
			hot := min(max(int(math.Round(k.Fraction*float64(users))), 1), users)
			if hot < users {
				share := k.Share
				return func() int {
					if rng.Float64() < share {
						return 1 + rng.IntN(hot)
					}
					return hot + 1 + rng.IntN(users-hot)
				}
			}
		}
	}
	return func() int { return 1 + rng.IntN(users) }
}

// zipfSampler draws rank i in 1…users with probability i^-s / Σ j^-s.
func zipfSampler(users int, s float64, rng *rand.Rand) func() int {
	cum := make([]float64, users) // cum[i] = Σ_{j<=i+1} j^-s
	sum := 0.0
	for i := range cum {
		sum += math.Pow(float64(i+1), -s)
		cum[i] = sum
	}
	return func() int {
		u := rng.Float64() * sum
		i := sort.Search(users, func(i int) bool { return cum[i] > u })
		return min(i, users-1) + 1
	}
}
