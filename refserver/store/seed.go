package store

import (
	"strconv"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// SeedConfig says what Seed writes: users u1…uN with tiers drawn by atlas.SeedTier, Conversations
// per user with the IDs atlas.SeedConversationID gives, and Messages per conversation.
type SeedConfig struct {
	Seed          int64
	Users         int
	Conversations int // per user
	Messages      int // per conversation
	Tiers         atlas.TierMix
	// UserPrefix replaces the "u" of the user IDs ("acct-" seeds acct-1…acct-N); empty: "u".
	UserPrefix string
	// IDOffset is added to every conversation and message ID (c<offset+1>…), so that a
	// server's IDs are not the ones a seeded run assumes; 0: none. Must be >= 0.
	IDOffset int64
	// Progress, when set, hears how far seeding is: after every SeedProgressRows rows and
	// once at the end, from the seeding goroutine.
	Progress func(SeedProgress)
}

// SeedProgressRows is how many rows Seed loads between two calls of SeedConfig.Progress.
const SeedProgressRows = 20_000

// SeedProgress is how far Seed is: rows loaded of every table's (users, conversations,
// messages), and Users, the users whose rows of every table are loaded (the tables load in
// turn, so a user counts as a share of the rows: Rows ÷ TotalRows × the population).
type SeedProgress struct {
	Rows, TotalRows int64
	Users, Of       int
}

// userID is seeded user i's ID.
func (c SeedConfig) userID(i int) string {
	if c.UserPrefix == "" {
		return atlas.SeedUserID(i)
	}
	return c.UserPrefix + strconv.Itoa(i)
}
