package store

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SeedEpoch is the created_at of the oldest seeded row; seeded timestamps are fixed
// offsets from it so that two databases seeded alike are byte-for-byte alike.
var SeedEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TierMix is the share of seeded users per tier. The shares need not sum to 1; they are normalised.
type TierMix struct {
	Free, Core, Studio float64
}

// DefaultTierMix is the mix used when none is given: 70% free, 20% core, 10% studio.
func DefaultTierMix() TierMix { return TierMix{Free: 0.7, Core: 0.2, Studio: 0.1} }

// ParseTierMix reads "free=0.7,core=0.2,studio=0.1" (missing tiers get 0).
func ParseTierMix(s string) (TierMix, error) {
	var m TierMix
	if strings.TrimSpace(s) == "" {
		return DefaultTierMix(), nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return m, fmt.Errorf("tier mix %q: want tier=share, got %q", s, part)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return m, fmt.Errorf("tier mix %q: share of %s must be a number >= 0", s, k)
		}
		switch Tier(k) {
		case TierFree:
			m.Free = f
		case TierCore:
			m.Core = f
		case TierStudio:
			m.Studio = f
		default:
			return m, fmt.Errorf("tier mix %q: unknown tier %q (want free, core or studio)", s, k)
		}
	}
	if m.Free+m.Core+m.Studio <= 0 {
		return m, fmt.Errorf("tier mix %q: shares sum to 0", s)
	}
	return m, nil
}

// String renders the mix in the form ParseTierMix reads.
func (m TierMix) String() string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return "free=" + f(m.Free) + ",core=" + f(m.Core) + ",studio=" + f(m.Studio)
}

// SeedConfig says what Seed writes: users u1…uN with tiers drawn by SeedTier, Conversations
// per user with the IDs SeedConversationID gives, and Messages per conversation.
type SeedConfig struct {
	Seed          int64
	Users         int
	Conversations int // per user
	Messages      int // per conversation
	Tiers         TierMix
}

// SeedUserID is the ID of the i-th seeded user (1-based): "u<i>".
func SeedUserID(i int) string { return "u" + strconv.Itoa(i) }

// SeedTier is the tier of the i-th seeded user (1-based) for this seed and mix. The harness
// calls it too, so it knows every user's starting tier without asking the server.
func SeedTier(seed int64, i int, mix TierMix) Tier {
	total := mix.Free + mix.Core + mix.Studio
	if total <= 0 {
		mix, total = DefaultTierMix(), 1
	}
	u := float64(splitmix64(uint64(seed)^uint64(i)*0x9E3779B97F4A7C15)>>11) / (1 << 53) * total
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

// splitmix64 is a fast, well-mixed 64-bit hash (Steele, Lea, Flood 2014).
func splitmix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}
