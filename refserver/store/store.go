// Package store owns the reference server's database: the Store interface, its
// SQLite (modernc.org/sqlite, the default) and PostgreSQL (pgx) implementations,
// deterministic seeding, per-class query counting and the simulated round trip
// added to every query.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// Sentinel errors. Implementations wrap or return these unchanged.
var (
	// ErrNotFound means the user, conversation or row does not exist (or is not the caller's).
	ErrNotFound = errors.New("store: not found")
	// ErrQuota means the user's daily message quota is used up.
	ErrQuota = errors.New("store: daily message quota exceeded")
)

// User is one account.
type User struct {
	ID    string     `json:"userId"`
	Email string     `json:"email"`
	Name  string     `json:"name"`
	Tier  atlas.Tier `json:"tier"`
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

// Store is the reference server's database. Every method that touches the DB counts
// one query (or more, as documented) under its class and sleeps the simulated round trip.
type Store interface {
	// GetTier returns the user's tier (atlas.QueryTier). ErrNotFound for an unknown user.
	GetTier(ctx context.Context, userID string) (atlas.Tier, error)
	// GetUser returns the user's profile (atlas.QueryUserProfile). ErrNotFound for an unknown user.
	GetUser(ctx context.Context, userID string) (User, error)
	// SetTier changes the user's tier (atlas.QueryWrites). ErrNotFound for an unknown user.
	SetTier(ctx context.Context, userID string, tier atlas.Tier) error
	// ListConversations returns the user's conversations, newest first (created_at DESC, id DESC) (atlas.QueryConversations).
	ListConversations(ctx context.Context, userID string) ([]Conversation, error)
	// CreateConversation inserts a conversation for the user (atlas.QueryWrites).
	CreateConversation(ctx context.Context, userID, title string, now time.Time) (Conversation, error)
	// GetConversation returns the conversation if it exists and belongs to userID,
	// else ErrNotFound (atlas.QueryAPIResponses).
	GetConversation(ctx context.Context, userID string, id int64) (Conversation, error)
	// ListMessages returns up to limit messages of the conversation, newest first
	// (created_at DESC, id DESC) (atlas.QueryAPIResponses).
	ListMessages(ctx context.Context, conversationID int64, limit int) ([]Message, error)
	// CreateMessage appends a message to a conversation owned by userID, in one transaction
	// that first counts the user's messages created since dayStart and fails with ErrQuota
	// when dailyQuota > 0 and that count is >= dailyQuota; ErrNotFound when the conversation
	// is not the user's (atlas.QueryWrites, one count per statement).
	CreateMessage(ctx context.Context, userID string, conversationID int64, content string, now, dayStart time.Time, dailyQuota int) (Message, error)
	// ActiveUsers returns up to limit users, most recently active first (atlas.QueryWarm, one query).
	ActiveUsers(ctx context.Context, limit int) ([]User, error)
	// UsersByID returns the users that exist among ids, in any order (atlas.QueryWarm, one query per 500 ids).
	UsersByID(ctx context.Context, ids []string) ([]User, error)
	// Seed fills an empty database deterministically (not counted, no simulated latency).
	Seed(ctx context.Context, cfg SeedConfig) error
	// Ping checks the connection (not counted, no simulated latency).
	Ping(ctx context.Context) error
	// Stats returns the query counters.
	Stats() atlas.QueryStats
	// Driver names the backend: "sqlite" or "postgres".
	Driver() string
	// Close releases the connection pool.
	Close() error
}
