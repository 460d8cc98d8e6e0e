package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// seedStep is the time between consecutive seeded rows; each row adds a
// seed-dependent sub-step offset, so timestamps have milliseconds yet stay ordered.
const seedStep = time.Second

// Seed fills an empty database in one transaction: users u1…uN (tier atlas.SeedTier,
// email u<i>@atlas.test, a name drawn from the seed), their conversations with the
// IDs atlas.SeedConversationID gives, and messages alternating user/assistant, with IDs
// numbered in the same order. Every created_at is atlas.SeedEpoch plus a fixed offset:
// conversations and messages are newer the later they come (by ID) and a
// conversation is older than its messages. last_active_at falls with the user
// number (see lastActive). ErrNotEmpty if any user exists. Not counted, no
// simulated latency.
func (s *sqlStore) Seed(ctx context.Context, cfg SeedConfig) error {
	if cfg.Users < 0 || cfg.Conversations < 0 || cfg.Messages < 0 || cfg.IDOffset < 0 {
		return fmt.Errorf("store: seed: users %d, conversations %d, messages %d, ID offset %d must be >= 0",
			cfg.Users, cfg.Conversations, cfg.Messages, cfg.IDOffset)
	}
	start := time.Now()
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	defer tx.Rollback()
	var n int64
	if err := tx.QueryRowContext(ctx, s.q.countUsers).Scan(&n); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("store: seed: %d users present: %w", n, ErrNotEmpty)
	}
	for _, q := range s.d.beforeSeed {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
	}
	tables := (seedGen{cfg: cfg}).tables()
	if cfg.Progress != nil {
		tables = withProgress(tables, cfg)
	}
	for _, tab := range tables {
		if err := s.d.load(ctx, s.d, conn, tx, tab); err != nil {
			return fmt.Errorf("store: seed %s: %w", tab.name, err)
		}
	}
	for _, q := range s.d.afterSeed {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: seed: commit: %w", err)
	}
	if cfg.Progress != nil {
		var total int64
		for _, tab := range tables {
			total += int64(tab.n)
		}
		cfg.Progress(SeedProgress{Rows: total, TotalRows: total, Users: cfg.Users, Of: cfg.Users})
	}
	U, C, M := cfg.Users, cfg.Conversations, cfg.Messages
	s.log.Info("store: seeded", "driver", s.d.name, "seed", cfg.Seed, "users", U,
		"conversations", U*C, "messages", U*C*M, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// seedTable is one table's seeded rows: fill writes row k's values, in cols order, into row.
type seedTable struct {
	name string
	cols []string
	n    int
	fill func(k int, row []any)
}

// tables lists the seeded rows in insertion order.
func (g seedGen) tables() []seedTable {
	cfg := g.cfg
	U, C, M := cfg.Users, cfg.Conversations, cfg.Messages
	return []seedTable{
		{"users", []string{"id", "email", "name", "tier", "last_active_at"}, U, func(k int, row []any) {
			i := k + 1
			row[0], row[1], row[2] = cfg.userID(i), cfg.userID(i)+"@atlas.test", g.name(i)
			row[3], row[4] = string(atlas.SeedTier(cfg.Seed, i, cfg.Tiers)), g.lastActive(i)
		}},
		{"conversations", []string{"id", "user_id", "title", "created_at"}, U * C, func(k int, row []any) {
			i, j := k/C+1, k%C
			id := atlas.SeedConversationID(i, j, C)
			row[0], row[1], row[2], row[3] = id+cfg.IDOffset, cfg.userID(i), g.title(id), g.conversationCreated(id)
		}},
		{"messages", []string{"id", "conversation_id", "user_id", "role", "content", "created_at"}, U * C * M, func(k int, row []any) {
			c, m := k/M, k%M
			i, j := c/C+1, c%C
			conv := atlas.SeedConversationID(i, j, C)
			id := int64(k) + 1
			role := "user"
			if m%2 == 1 {
				role = "assistant"
			}
			row[0], row[1], row[2], row[3] = id+cfg.IDOffset, conv+cfg.IDOffset, cfg.userID(i), role
			row[4], row[5] = g.content(id, role), g.messageCreated(conv, m)
		}},
	}
}

// withProgress wraps every table's fill so that cfg.Progress hears of every
// SeedProgressRows rows loaded.
func withProgress(tables []seedTable, cfg SeedConfig) []seedTable {
	var total, done int64
	for _, tab := range tables {
		total += int64(tab.n)
	}
	out := make([]seedTable, len(tables))
	for i, tab := range tables {
		fill := tab.fill
		tab.fill = func(k int, row []any) {
			fill(k, row)
			if done++; done%SeedProgressRows == 0 {
				cfg.Progress(SeedProgress{Rows: done, TotalRows: total, Users: int(int64(cfg.Users) * done / total), Of: cfg.Users})
			}
		}
		out[i] = tab
	}
	return out
}

// insertRows loads tab with multi-row INSERT statements in tx.
func insertRows(ctx context.Context, d *dialect, _ *sql.Conn, tx *sql.Tx, tab seedTable) error {
	if tab.n == 0 {
		return nil
	}
	cols := len(tab.cols)
	// SQLite allows 32766 parameters per statement, PostgreSQL 65535; stay well under.
	batch := min(tab.n, 8000/cols)
	head := "INSERT INTO " + tab.name + " (" + strings.Join(tab.cols, ", ") + ") VALUES "
	full, err := tx.PrepareContext(ctx, d.rebind(head+placeholders(batch, cols)))
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, batch*cols)
	for k := 0; k < tab.n; k += batch {
		rows := min(batch, tab.n-k)
		for r := range rows {
			tab.fill(k+r, args[r*cols:(r+1)*cols])
		}
		if rows == batch {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, d.rebind(head+placeholders(rows, cols)), args[:rows*cols]...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// seedGen draws every seeded value from the seed and the row's identity alone.
type seedGen struct{ cfg SeedConfig }

// Salts keep the draws for different purposes independent.
const (
	saltName uint64 = iota + 1
	saltActive
	saltTitle
	saltContent
	saltTime
)

func (g seedGen) hash(salt, a, b uint64) uint64 {
	return atlas.SplitMix64(atlas.SplitMix64(atlas.SplitMix64(uint64(g.cfg.Seed)^salt*0xD1B54A32D192ED03)^a) ^ b)
}

// spanMS is the seeded timeline's length: every conversation takes one step and
// each of its messages one more.
func (g seedGen) spanMS() int64 {
	steps := int64(g.cfg.Users) * int64(g.cfg.Conversations) * int64(g.cfg.Messages+1)
	return max(steps, 1) * seedStep.Milliseconds()
}

// at is atlas.SeedEpoch plus step whole steps plus a seed-dependent part of one step.
func (g seedGen) at(step int64) int64 {
	stepMS := seedStep.Milliseconds()
	return millis(atlas.SeedEpoch) + step*stepMS + int64(g.hash(saltTime, uint64(step), 0)%uint64(stepMS))
}

// conversationCreated is conversation id's created_at: one step before its first message.
func (g seedGen) conversationCreated(id int64) int64 {
	return g.at((id - 1) * int64(g.cfg.Messages+1))
}

// messageCreated is the created_at of message m (0-based) of conversation conv.
func (g seedGen) messageCreated(conv int64, m int) int64 {
	return g.at((conv-1)*int64(g.cfg.Messages+1) + int64(m) + 1)
}

// lastActive falls with the user number (u1 most recent, a millisecond-scale seeded
// spread apart), matching the key distributions where rank 1 is the hottest user, so
// warming the most active users warms the ones a zipf or hotspot load asks for first.
func (g seedGen) lastActive(i int) int64 {
	span := g.spanMS()
	step := span / int64(g.cfg.Users+1)
	if step < 1 {
		step = 1
	}
	return millis(atlas.SeedEpoch) + span - int64(i)*step - int64(g.hash(saltActive, uint64(i), 0)%uint64(max(step/2, 1)))
}

func (g seedGen) name(i int) string {
	h := g.hash(saltName, uint64(i), 0)
	return firstNames[h%uint64(len(firstNames))] + " " + lastNames[(h>>32)%uint64(len(lastNames))]
}

func (g seedGen) title(id int64) string {
	h := g.hash(saltTitle, uint64(id), 0)
	return titleOpeners[h%uint64(len(titleOpeners))] + " " + topics[(h>>16)%uint64(len(topics))]
}

// content is a sentence of 6 to 40 words: a question for "user", an answer otherwise.
func (g seedGen) content(id int64, role string) string {
	h := g.hash(saltContent, uint64(id), 0)
	words := 6 + int(h%35)
	var b strings.Builder
	b.Grow(words * 8)
	if role == "user" {
		b.WriteString("How do I")
	} else {
		b.WriteString("You can")
	}
	for w := range words {
		h = atlas.SplitMix64(h ^ uint64(w))
		b.WriteByte(' ')
		b.WriteString(vocabulary[h%uint64(len(vocabulary))])
	}
	if role == "user" {
		b.WriteByte('?')
	} else {
		b.WriteByte('.')
	}
	return b.String()
}

var firstNames = []string{
	"Ada", "Alan", "Barbara", "Brian", "Claude", "Dennis", "Donald", "Edsger", "Frances", "Grace",
	"Hedy", "Ivan", "Jean", "John", "Ken", "Leslie", "Linus", "Margaret", "Niklaus", "Radia",
	"Rob", "Sophie", "Tim", "Tony", "Vint", "Whitfield", "Yukihiro", "Zhang",
}

var lastNames = []string{
	"Allen", "Backus", "Bartik", "Cerf", "Diffie", "Dijkstra", "Engelbart", "Hamilton", "Hoare", "Hopper",
	"Kay", "Kernighan", "Knuth", "Lamarr", "Lamport", "Liskov", "Lovelace", "Matsumoto", "McCarthy", "Perlman",
	"Pike", "Ritchie", "Shannon", "Sutherland", "Thompson", "Torvalds", "Turing", "Wilson", "Wirth",
}

var titleOpeners = []string{"Notes on", "Questions about", "Help with", "Ideas for", "Debugging", "Planning", "Reviewing", "Learning"}

var topics = []string{
	"cache invalidation", "rate limits", "database indexes", "the billing page", "tier upgrades",
	"load testing", "Redis failover", "connection pools", "latency budgets", "the onboarding flow",
	"query plans", "retry storms", "feature flags", "the release checklist", "error budgets", "log retention",
}

var vocabulary = []string{
	"the", "a", "cache", "key", "user", "request", "server", "query", "index", "tier",
	"limit", "quota", "latency", "timeout", "retry", "pool", "connection", "replica", "primary", "shard",
	"with", "without", "before", "after", "when", "while", "every", "each", "fast", "slow",
	"stale", "fresh", "warm", "cold", "hot", "read", "write", "invalidate", "expire", "refresh",
	"measure", "compare", "configure", "deploy", "monitor", "profile", "batch", "stream", "queue", "lock",
	"and", "or", "then", "so", "because", "but", "only", "also", "again", "later",
	"production", "staging", "benchmark", "dashboard",
}
