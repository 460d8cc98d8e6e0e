// Package store owns the reference server's database: the Store interface, its
// SQLite (modernc.org/sqlite, the default) and PostgreSQL (pgx) implementations,
// deterministic seeding, per-class query counting and the simulated round trip
// added to every query.
package store

import (
	"context"
	"errors"
	"time"
)

// Tier is a user's plan: free, core or studio.
type Tier string

// The three tiers.
const (
	TierFree   Tier = "free"
	TierCore   Tier = "core"
	TierStudio Tier = "studio"
)

// Tiers lists the valid tiers in a fixed order.
func Tiers() []Tier { return []Tier{TierFree, TierCore, TierStudio} }

// Valid reports whether t is one of the three tiers.
func (t Tier) Valid() bool { return t == TierFree || t == TierCore || t == TierStudio }

// Query classes under which every DB query is counted. Reads are counted under the
// cache class of the route that needs them, so DB queries and cache hit rates line up.
const (
	ClassTier          = "tier"          // GetTier
	ClassUserProfile   = "userProfile"   // GetUser
	ClassConversations = "conversations" // ListConversations
	ClassAPIResponses  = "apiResponses"  // GetConversation, ListMessages
	ClassWrites        = "writes"        // SetTier, CreateConversation, CreateMessage (quota included)
	ClassWarm          = "warm"          // ActiveUsers, UsersByID (cache warming)
)

// Classes lists every query class in a fixed order.
func Classes() []string {
	return []string{ClassTier, ClassUserProfile, ClassConversations, ClassAPIResponses, ClassWrites, ClassWarm}
}

// Sentinel errors. Implementations wrap or return these unchanged.
var (
	// ErrNotFound means the user, conversation or row does not exist (or is not the caller's).
	ErrNotFound = errors.New("store: not found")
	// ErrQuota means the user's daily message quota is used up.
	ErrQuota = errors.New("store: daily message quota exceeded")
)

// User is one account.
type User struct {
	ID    string `json:"userId"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Tier  Tier   `json:"tier"`
}

// Conversation belongs to exactly one user. ID is the numeric key; the API shows it as "c<ID>".
type Conversation struct {
	ID        int64
	UserID    string
	Title     string
	CreatedAt time.Time
}

// Message belongs to a conversation. ID is the numeric key; the API shows it as "m<ID>".
type Message struct {
	ID             int64
	ConversationID int64
	UserID         string // owner of the conversation
	Role           string // "user" or "assistant"
	Content        string
	CreatedAt      time.Time
}

// QueryStats are the DB queries counted since the store was opened.
type QueryStats struct {
	Total   uint64            `json:"total"`
	ByClass map[string]uint64 `json:"byClass"`
	// Transactions counts what the database's own commit and rollback counters should
	// show (pg_stat_database xact_commit + xact_rollback): one per single-statement
	// query, per write transaction and per ping, plus Connections (PostgreSQL counts the
	// start-up of a backend as a transaction). Seeding at Open is not counted.
	Transactions uint64 `json:"transactions"`
	// Pings counts health-check pings (one per pool per Ping), a part of Transactions.
	Pings uint64 `json:"pings"`
	// Connections counts connections opened to a PostgreSQL server, a part of Transactions
	// (0 on SQLite).
	Connections uint64 `json:"connections"`
}

// Store is the reference server's database. Every method that touches the DB counts
// one query (or more, as documented) under its class and sleeps the simulated round trip.
type Store interface {
	// GetTier returns the user's tier (ClassTier). ErrNotFound for an unknown user.
	GetTier(ctx context.Context, userID string) (Tier, error)
	// GetUser returns the user's profile (ClassUserProfile). ErrNotFound for an unknown user.
	GetUser(ctx context.Context, userID string) (User, error)
	// SetTier changes the user's tier (ClassWrites). ErrNotFound for an unknown user.
	SetTier(ctx context.Context, userID string, tier Tier) error
	// ListConversations returns the user's conversations, newest first (created_at DESC, id DESC) (ClassConversations).
	ListConversations(ctx context.Context, userID string) ([]Conversation, error)
	// CreateConversation inserts a conversation for the user (ClassWrites).
	CreateConversation(ctx context.Context, userID, title string, now time.Time) (Conversation, error)
	// GetConversation returns the conversation if it exists and belongs to userID,
	// else ErrNotFound (ClassAPIResponses).
	GetConversation(ctx context.Context, userID string, id int64) (Conversation, error)
	// ListMessages returns up to limit messages of the conversation, newest first
	// (created_at DESC, id DESC) (ClassAPIResponses).
	ListMessages(ctx context.Context, conversationID int64, limit int) ([]Message, error)
	// CreateMessage appends a message to a conversation owned by userID, in one transaction
	// that first counts the user's messages created since dayStart and fails with ErrQuota
	// when dailyQuota > 0 and that count is >= dailyQuota; ErrNotFound when the conversation
	// is not the user's (ClassWrites, one count per statement).
	CreateMessage(ctx context.Context, userID string, conversationID int64, content string, now, dayStart time.Time, dailyQuota int) (Message, error)
	// ActiveUsers returns up to limit users, most recently active first (ClassWarm, one query).
	ActiveUsers(ctx context.Context, limit int) ([]User, error)
	// UsersByID returns the users that exist among ids, in any order (ClassWarm, one query per 500 ids).
	UsersByID(ctx context.Context, ids []string) ([]User, error)
	// Seed fills an empty database deterministically (not counted, no simulated latency).
	Seed(ctx context.Context, cfg SeedConfig) error
	// Ping checks the connection (not counted, no simulated latency).
	Ping(ctx context.Context) error
	// Stats returns the query counters.
	Stats() QueryStats
	// Driver names the backend: "sqlite" or "postgres".
	Driver() string
	// Close releases the connection pool.
	Close() error
}
