package store

import "github.com/atlasbench/atlasbench/internal/atlas"

// SeedConfig says what Seed writes: users u1…uN with tiers drawn by atlas.SeedTier, Conversations
// per user with the IDs atlas.SeedConversationID gives, and Messages per conversation.
type SeedConfig struct {
	Seed          int64
	Users         int
	Conversations int // per user
	Messages      int // per conversation
	Tiers         atlas.TierMix
}
