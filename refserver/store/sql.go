package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// usersByIDBatch is the most IDs UsersByID puts in one query.
const usersByIDBatch = 500

// sqlStore is the Store over database/sql shared by both backends; dialect holds
// the differences.
type sqlStore struct {
	d *dialect
	// read serves single-statement reads, write serves writes and transactions.
	// On SQLite write has one connection, so writers queue in Go instead of spinning
	// on SQLITE_BUSY; on PostgreSQL both are the same pool.
	read, write *sql.DB
	q           queries
	lat         *latency
	count       counters
	now         func() time.Time
	log         *slog.Logger
	closeFn     func() error // closes the pools and removes what Open created
	path        string       // the SQLite file; "" on PostgreSQL
}

// queries are the statements in the store's dialect, rebound once at Open.
type queries struct {
	getTier, getUser, setTier                     string
	listConversations, getConversation            string
	bumpUser, insertConversation                  string
	ownConversation, countToday, insertMessage    string
	listMessages, activeUsers, usersByIDFullBatch string
	countUsers                                    string
}

func newQueries(d *dialect) queries {
	r := d.rebind
	return queries{
		getTier: r(`SELECT tier FROM users WHERE id = ?`),
		getUser: r(`SELECT id, email, name, tier FROM users WHERE id = ?`),
		setTier: r(`UPDATE users SET tier = ?, last_active_at = ? WHERE id = ?`),
		// The LEFT JOIN tells an unknown user (no row) from one without conversations
		// (one row of NULLs) in a single query.
		listConversations: r(`SELECT c.id, c.title, c.created_at FROM users u
			LEFT JOIN conversations c ON c.user_id = u.id
			WHERE u.id = ? ORDER BY c.created_at DESC, c.id DESC`),
		getConversation:    r(`SELECT id, user_id, title, created_at FROM conversations WHERE id = ? AND user_id = ?`),
		bumpUser:           r(`UPDATE users SET last_active_at = ? WHERE id = ?`),
		insertConversation: r(`INSERT INTO conversations (user_id, title, created_at) VALUES (?, ?, ?) RETURNING id`),
		ownConversation: r(`SELECT 1 FROM conversations c JOIN users u ON u.id = c.user_id
			WHERE c.id = ? AND c.user_id = ?` + d.lockOwner),
		countToday:         r(`SELECT COUNT(*) FROM messages WHERE user_id = ? AND created_at >= ? AND role = 'user'`),
		insertMessage:      r(`INSERT INTO messages (conversation_id, user_id, role, content, created_at) VALUES (?, ?, 'user', ?, ?) RETURNING id`),
		listMessages:       r(`SELECT id, conversation_id, user_id, role, content, created_at FROM messages WHERE conversation_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`),
		activeUsers:        r(`SELECT id, email, name, tier FROM users ORDER BY last_active_at DESC, id LIMIT ?`),
		usersByIDFullBatch: usersByIDQuery(d, usersByIDBatch),
		countUsers:         `SELECT COUNT(*) FROM users`,
	}
}

func usersByIDQuery(d *dialect, n int) string {
	return d.rebind(`SELECT id, email, name, tier FROM users WHERE id IN (` +
		strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + `)`)
}

// newSQLStore creates the schema through write and returns the store.
func newSQLStore(ctx context.Context, d *dialect, read, write *sql.DB, opts Options, closeFn func() error) (*sqlStore, error) {
	s := &sqlStore{d: d, read: read, write: write, q: newQueries(d), lat: newLatency(opts), now: opts.Now, log: opts.Log, closeFn: closeFn}
	tx, err := write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: %s: create schema: %w", d.name, err)
	}
	defer tx.Rollback()
	for _, stmt := range d.schema() {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("store: %s: create schema: %w", d.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: %s: create schema: %w", d.name, err)
	}
	return s, nil
}

// roundTrip sleeps one simulated round trip and counts one query under class.
func (s *sqlStore) roundTrip(ctx context.Context, class string) error {
	if err := s.lat.wait(ctx, 1); err != nil {
		return err
	}
	s.count.add(class)
	s.count.xacts.Add(1)
	return nil
}

// txn is a write transaction that counts its statements under atlas.QueryWrites.
type txn struct {
	s  *sqlStore
	tx *sql.Tx
	n  int // statements run
}

func (t *txn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	t.n++
	t.s.count.add(atlas.QueryWrites)
	return t.tx.ExecContext(ctx, q, args...)
}

func (t *txn) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	t.n++
	t.s.count.add(atlas.QueryWrites)
	return t.tx.QueryRowContext(ctx, q, args...)
}

// writeTx runs fn in a write transaction. The simulated round trips of its statements
// are paid outside the transaction, the first before BEGIN and the others after it
// ends, so simulated network time never holds a lock (on SQLite the write lock covers
// the whole database, and holding it across sleeps would serialise all writers).
func (s *sqlStore) writeTx(ctx context.Context, fn func(*txn) error) error {
	if err := s.lat.wait(ctx, 1); err != nil {
		return err
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	s.count.xacts.Add(1)
	t := &txn{s: s, tx: tx}
	if err = fn(t); err != nil {
		_ = tx.Rollback()
	} else if err = tx.Commit(); err != nil {
		err = fmt.Errorf("store: commit: %w", err)
	}
	if t.n > 1 {
		_ = s.lat.wait(ctx, t.n-1) // the outcome is settled; a done ctx only cuts the sleep short
	}
	return err
}

// validText reports whether s can be stored alike on both backends.
func validText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func millis(t time.Time) int64      { return t.UnixMilli() }
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
func userNotFound(id string) error  { return fmt.Errorf("user %q: %w", id, ErrNotFound) }
func sqlLimit(limit int) int64 {
	if limit <= 0 {
		return math.MaxInt64
	}
	return int64(limit)
}

// GetTier returns the user's tier (one atlas.QueryTier query).
func (s *sqlStore) GetTier(ctx context.Context, userID string) (atlas.Tier, error) {
	if !validText(userID) {
		return "", userNotFound(userID)
	}
	if err := s.roundTrip(ctx, atlas.QueryTier); err != nil {
		return "", err
	}
	var t atlas.Tier
	err := s.read.QueryRowContext(ctx, s.q.getTier, userID).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return "", userNotFound(userID)
	}
	if err != nil {
		return "", fmt.Errorf("store: get tier of %q: %w", userID, err)
	}
	return t, nil
}

// GetUser returns the user's profile (one atlas.QueryUserProfile query).
func (s *sqlStore) GetUser(ctx context.Context, userID string) (User, error) {
	if !validText(userID) {
		return User{}, userNotFound(userID)
	}
	if err := s.roundTrip(ctx, atlas.QueryUserProfile); err != nil {
		return User{}, err
	}
	var u User
	err := s.read.QueryRowContext(ctx, s.q.getUser, userID).Scan(&u.ID, &u.Email, &u.Name, &u.Tier)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, userNotFound(userID)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: get user %q: %w", userID, err)
	}
	return u, nil
}

// SetTier changes the user's tier and bumps last_active_at to Options.Now (one
// atlas.QueryWrites query).
func (s *sqlStore) SetTier(ctx context.Context, userID string, tier atlas.Tier) error {
	if !tier.Valid() {
		return fmt.Errorf("tier %q: %w", tier, ErrInvalid)
	}
	if !validText(userID) {
		return userNotFound(userID)
	}
	if err := s.roundTrip(ctx, atlas.QueryWrites); err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, s.q.setTier, string(tier), millis(s.now()), userID)
	if err != nil {
		return fmt.Errorf("store: set tier of %q: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: set tier of %q: %w", userID, err)
	} else if n == 0 {
		return userNotFound(userID)
	}
	return nil
}

// ListConversations returns the user's conversations, newest first, never nil;
// ErrNotFound for an unknown user (one atlas.QueryConversations query).
func (s *sqlStore) ListConversations(ctx context.Context, userID string) ([]Conversation, error) {
	if !validText(userID) {
		return nil, userNotFound(userID)
	}
	if err := s.roundTrip(ctx, atlas.QueryConversations); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, s.q.listConversations, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list conversations of %q: %w", userID, err)
	}
	defer rows.Close()
	out := []Conversation{}
	userFound := false
	for rows.Next() {
		userFound = true
		var (
			id, created sql.NullInt64
			title       sql.NullString
		)
		if err := rows.Scan(&id, &title, &created); err != nil {
			return nil, fmt.Errorf("store: list conversations of %q: %w", userID, err)
		}
		if !id.Valid {
			continue // the user has none
		}
		out = append(out, Conversation{ID: id.Int64, UserID: userID, Title: title.String, CreatedAt: fromMillis(created.Int64)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list conversations of %q: %w", userID, err)
	}
	if !userFound {
		return nil, userNotFound(userID)
	}
	return out, nil
}

// CreateConversation bumps the user's last_active_at and inserts the conversation
// (two atlas.QueryWrites queries, one transaction). ErrNotFound for an unknown user.
func (s *sqlStore) CreateConversation(ctx context.Context, userID, title string, now time.Time) (Conversation, error) {
	if !validText(userID) {
		return Conversation{}, userNotFound(userID)
	}
	if !validText(title) {
		return Conversation{}, fmt.Errorf("conversation title: %w", ErrInvalid)
	}
	c := Conversation{UserID: userID, Title: title, CreatedAt: fromMillis(millis(now))}
	err := s.writeTx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, s.q.bumpUser, millis(now), userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return userNotFound(userID)
		}
		return t.queryRow(ctx, s.q.insertConversation, userID, title, millis(now)).Scan(&c.ID)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Conversation{}, err
		}
		return Conversation{}, fmt.Errorf("store: create conversation for %q: %w", userID, err)
	}
	return c, nil
}

// GetConversation returns the conversation if it is userID's (one atlas.QueryAPIResponses query).
func (s *sqlStore) GetConversation(ctx context.Context, userID string, id int64) (Conversation, error) {
	if !validText(userID) {
		return Conversation{}, fmt.Errorf("conversation %d of %q: %w", id, userID, ErrNotFound)
	}
	if err := s.roundTrip(ctx, atlas.QueryAPIResponses); err != nil {
		return Conversation{}, err
	}
	var (
		c       Conversation
		created int64
	)
	err := s.read.QueryRowContext(ctx, s.q.getConversation, id, userID).Scan(&c.ID, &c.UserID, &c.Title, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, fmt.Errorf("conversation %d of %q: %w", id, userID, ErrNotFound)
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("store: get conversation %d: %w", id, err)
	}
	c.CreatedAt = fromMillis(created)
	return c, nil
}

// ListMessages returns up to limit (<= 0: all) messages of the conversation, newest
// first, never nil; an unknown conversation has none (one atlas.QueryAPIResponses query).
func (s *sqlStore) ListMessages(ctx context.Context, conversationID int64, limit int) ([]Message, error) {
	if err := s.roundTrip(ctx, atlas.QueryAPIResponses); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, s.q.listMessages, conversationID, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list messages of %d: %w", conversationID, err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		var (
			m       Message
			created int64
		)
		if err := rows.Scan(&m.ID, &m.ConversationID, &m.UserID, &m.Role, &m.Content, &created); err != nil {
			return nil, fmt.Errorf("store: list messages of %d: %w", conversationID, err)
		}
		m.CreatedAt = fromMillis(created)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list messages of %d: %w", conversationID, err)
	}
	return out, nil
}

// CreateMessage appends a "user" message in one transaction of up to four
// atlas.QueryWrites queries: the ownership check (which also locks the user's row on
// PostgreSQL), the quota count (skipped when dailyQuota <= 0), the insert and the
// last_active_at bump.
func (s *sqlStore) CreateMessage(ctx context.Context, userID string, conversationID int64, content string, now, dayStart time.Time, dailyQuota int) (Message, error) {
	if !validText(userID) {
		return Message{}, fmt.Errorf("conversation %d of %q: %w", conversationID, userID, ErrNotFound)
	}
	if !validText(content) {
		return Message{}, fmt.Errorf("message content: %w", ErrInvalid)
	}
	m := Message{ConversationID: conversationID, UserID: userID, Role: "user", Content: content, CreatedAt: fromMillis(millis(now))}
	err := s.writeTx(ctx, func(t *txn) error {
		var one int
		err := t.queryRow(ctx, s.q.ownConversation, conversationID, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("conversation %d of %q: %w", conversationID, userID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if dailyQuota > 0 {
			var n int
			if err := t.queryRow(ctx, s.q.countToday, userID, millis(dayStart)).Scan(&n); err != nil {
				return err
			}
			if n >= dailyQuota {
				return fmt.Errorf("%q sent %d messages since %s: %w", userID, n, dayStart.UTC().Format(time.RFC3339), ErrQuota)
			}
		}
		if err := t.queryRow(ctx, s.q.insertMessage, conversationID, userID, content, millis(now)).Scan(&m.ID); err != nil {
			return err
		}
		_, err = t.exec(ctx, s.q.bumpUser, millis(now), userID)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrQuota) {
			return Message{}, err
		}
		return Message{}, fmt.Errorf("store: create message in %d: %w", conversationID, err)
	}
	return m, nil
}

// ActiveUsers returns up to limit (<= 0: all) users, most recently active first,
// never nil (one atlas.QueryWarm query).
func (s *sqlStore) ActiveUsers(ctx context.Context, limit int) ([]User, error) {
	if err := s.roundTrip(ctx, atlas.QueryWarm); err != nil {
		return nil, err
	}
	out, err := s.queryUsers(ctx, s.q.activeUsers, []any{sqlLimit(limit)}, nil)
	if err != nil {
		return nil, fmt.Errorf("store: active users: %w", err)
	}
	return out, nil
}

// UsersByID returns the users that exist among ids, never nil (one atlas.QueryWarm query
// per 500 distinct IDs; none for an empty list).
func (s *sqlStore) UsersByID(ctx context.Context, ids []string) ([]User, error) {
	seen := make(map[string]bool, len(ids))
	uniq := make([]any, 0, len(ids))
	for _, id := range ids {
		if !seen[id] && validText(id) {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	out := []User{}
	for len(uniq) > 0 {
		n := min(len(uniq), usersByIDBatch)
		q := s.q.usersByIDFullBatch
		if n < usersByIDBatch {
			q = usersByIDQuery(s.d, n)
		}
		if err := s.roundTrip(ctx, atlas.QueryWarm); err != nil {
			return nil, err
		}
		var err error
		if out, err = s.queryUsers(ctx, q, uniq[:n], out); err != nil {
			return nil, fmt.Errorf("store: users by id: %w", err)
		}
		uniq = uniq[n:]
	}
	return out, nil
}

// queryUsers appends the users q selects (id, email, name, tier) to out.
func (s *sqlStore) queryUsers(ctx context.Context, q string, args []any, out []User) ([]User, error) {
	if out == nil {
		out = []User{}
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Email, &u.Name, &u.Tier); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Ping checks every pool (counted under QueryStats.Pings, not as queries; no simulated latency).
func (s *sqlStore) Ping(ctx context.Context) error {
	s.count.pings.Add(1)
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store: %s: ping: %w", s.d.name, err)
	}
	if s.write != s.read {
		s.count.pings.Add(1)
		if err := s.write.PingContext(ctx); err != nil {
			return fmt.Errorf("store: %s: ping: %w", s.d.name, err)
		}
	}
	return nil
}

// PoolWaits is how often a query waited for a free connection of the store's pools, and
// for how long in all (database/sql's DBStats, read and write pools together).
func (s *sqlStore) PoolWaits() (int64, time.Duration) {
	r := s.read.Stats()
	n, d := r.WaitCount, r.WaitDuration
	if s.write != s.read {
		w := s.write.Stats()
		n, d = n+w.WaitCount, d+w.WaitDuration
	}
	return n, d
}

// Stats returns a copy of the query counters with every class present.
func (s *sqlStore) Stats() atlas.QueryStats { return s.count.snapshot() }

// Driver names the backend: "sqlite" or "postgres".
func (s *sqlStore) Driver() string { return s.d.name }

// Close closes the pools and removes a temporary database.
func (s *sqlStore) Close() error {
	err := s.closeFn()
	s.log.Info("store: closed", "driver", s.d.name)
	return err
}
