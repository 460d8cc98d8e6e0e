package atlas

import (
	"strconv"
	"time"
)

// SeedEpoch is the created_at of the oldest seeded row; seeded timestamps are fixed
// offsets from it so that two databases seeded alike are byte-for-byte alike.
var SeedEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// SeedUserID is the ID of the i-th seeded user (1-based): "u<i>".
func SeedUserID(i int) string { return "u" + strconv.Itoa(i) }

// SeedTier is the tier of the i-th seeded user (1-based) for this seed and mix. The server
// seeds with it and the harness calls it too, so it knows every user's starting tier
// without asking the server.
func SeedTier(seed int64, i int, mix TierMix) Tier {
	total := mix.Free + mix.Core + mix.Studio
	if total <= 0 {
		mix, total = DefaultTierMix(), 1
	}
	u := float64(SplitMix64(uint64(seed)^uint64(i)*0x9E3779B97F4A7C15)>>11) / (1 << 53) * total
	switch {
	case u < mix.Free:
		return TierFree
	case u < mix.Free+mix.Core:
		return TierCore
	default:
		return TierStudio
	}
}

// SeedConversationID is the ID of the j-th (0-based) seeded conversation of the i-th (1-based)
// user when every user has perUser conversations: (i-1)*perUser + j + 1.
func SeedConversationID(i, j, perUser int) int64 { return int64(i-1)*int64(perUser) + int64(j) + 1 }

// SplitMix64 is a fast, well-mixed 64-bit hash (Steele, Lea, Flood 2014); every seeded
// draw goes through it.
func SplitMix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}
