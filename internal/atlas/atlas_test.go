package atlas

import (
	"strings"
	"testing"
	"time"
)

func TestTierMixRoundTripsAndRejectsBadInput(t *testing.T) {
	m, err := ParseTierMix("free=0.5, studio=0.25")
	if err != nil || m != (TierMix{Free: 0.5, Studio: 0.25}) {
		t.Fatalf("ParseTierMix = %+v, %v", m, err)
	}
	if back, err := ParseTierMix(m.String()); err != nil || back != m {
		t.Errorf("String %q does not parse back: %+v, %v", m.String(), back, err)
	}
	if m, err := ParseTierMix(" "); err != nil || m != DefaultTierMix() {
		t.Errorf("empty mix = %+v, %v; want the default", m, err)
	}
	for in, want := range map[string]string{
		"free":          "want tier=share",
		"free=-1":       "must be a number >= 0",
		"gold=1":        `unknown tier "gold"`,
		"free=0,core=0": "sum to 0",
	} {
		if _, err := ParseTierMix(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTierMix(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestSeedTierIsDeterministicAndFollowsAOneTierMix(t *testing.T) {
	for i := 1; i <= 100; i++ {
		if SeedTier(7, i, DefaultTierMix()) != SeedTier(7, i, DefaultTierMix()) {
			t.Fatalf("user %d: SeedTier differs between calls", i)
		}
		if got := SeedTier(7, i, TierMix{Core: 1}); got != TierCore {
			t.Fatalf("user %d: tier %s with an all-core mix", i, got)
		}
	}
	if SeedUserID(12) != "u12" || SeedConversationID(3, 1, 5) != 12 {
		t.Errorf("SeedUserID(12) = %s, SeedConversationID(3,1,5) = %d", SeedUserID(12), SeedConversationID(3, 1, 5))
	}
}

func TestCacheClassesIndexAndNames(t *testing.T) {
	names := CacheClassNames()
	for i, c := range CacheClasses() {
		if c.Index() != i || !c.Valid() || names[i] != string(c) {
			t.Errorf("class %s: index %d, name %q, want %d", c, c.Index(), names[i], i)
		}
	}
	if Class(QueryWrites).Valid() || Class("Tier").Valid() {
		t.Error("writes or Tier taken for a cache class")
	}
}

func TestTokenRoundTripAndRejections(t *testing.T) {
	secret, now := []byte("s3cret"), time.Unix(1_800_000_000, 0)
	tok, err := NewToken(secret, "u7", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if sub, err := ParseToken(secret, tok, now.Add(time.Minute)); err != nil || sub != "u7" {
		t.Errorf("ParseToken = %q, %v", sub, err)
	}
	if _, err := ParseToken([]byte("other"), tok, now); err == nil {
		t.Error("a token signed with another secret was accepted")
	}
	if _, err := ParseToken(secret, tok, now.Add(2*time.Hour)); err == nil {
		t.Error("an expired token was accepted")
	}
	if _, err := NewToken(nil, "u1", now, time.Hour); err == nil {
		t.Error("NewToken with an empty secret succeeded")
	}
}
