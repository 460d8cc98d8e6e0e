package atlas

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Tier is a user's plan: free, core or studio.
type Tier string

// The tiers.
const (
	TierFree   Tier = "free"
	TierCore   Tier = "core"
	TierStudio Tier = "studio"
)

// Tiers lists the valid tiers in a fixed order.
func Tiers() []Tier { return []Tier{TierFree, TierCore, TierStudio} }

// Valid reports whether t is free, core or studio.
func (t Tier) Valid() bool { return t == TierFree || t == TierCore || t == TierStudio }

// TierMix is the share of seeded users per tier. The shares need not sum to 1; they are normalised.
type TierMix struct {
	Free, Core, Studio float64
}

// DefaultTierMix is the mix used when none is given: 70% free, 20% core, 10% studio.
func DefaultTierMix() TierMix { return TierMix{Free: 0.7, Core: 0.2, Studio: 0.1} }

// Share returns a pointer to t's share in m, or nil for an invalid tier.
func (m *TierMix) Share(t Tier) *float64 {
	switch t {
	case TierFree:
		return &m.Free
	case TierCore:
		return &m.Core
	case TierStudio:
		return &m.Studio
	}
	return nil
}

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
		p := m.Share(Tier(k))
		if p == nil {
			return m, fmt.Errorf("tier mix %q: unknown tier %q (want free, core or studio)", s, k)
		}
		*p = f
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
