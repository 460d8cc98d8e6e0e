package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
)

// Options tune a Store. The zero value is a store with no simulated latency that
// logs nothing and reads the wall clock.
type Options struct {
	// Latency is the simulated network round trip slept before every counted query;
	// 0 (the default) means none.
	Latency time.Duration
	// Jitter spreads each round trip uniformly over Latency ± Jitter (never below 0).
	Jitter time.Duration
	// Rand draws the jitter; nil uses the global source. The store serialises its calls.
	Rand *rand.Rand
	// Log receives open, seed and close events; nil discards them.
	Log *slog.Logger
	// Now is the clock for writes that take no time argument (SetTier's last_active_at);
	// nil means time.Now.
	Now func() time.Time

	// sleep replaces sleepCtx in tests so they can count round trips without timing.
	sleep func(context.Context, time.Duration) error
}

// ErrInvalid means an argument can never be stored: a tier that is not one of the
// three, or text that is not valid UTF-8 or contains a NUL byte (PostgreSQL rejects
// both, so SQLite refuses them too and both backends behave alike).
var ErrInvalid = errors.New("store: invalid input")

// ErrNotEmpty means Seed was called on a database that already has users.
var ErrNotEmpty = errors.New("store: database already has users")

// Open connects to the database dsn names and creates the schema if it is missing:
//
//	"" or "sqlite"              SQLite in a fresh temporary directory, removed on Close
//	"sqlite:/path/file.db"      SQLite in that file (created if missing)
//	"/path/file.db"             the same
//	"postgres://…", "postgresql://…"  PostgreSQL through pgx
func Open(ctx context.Context, dsn string, opts Options) (Store, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Latency < 0 || opts.Jitter < 0 {
		return nil, fmt.Errorf("store: latency %v and jitter %v must be >= 0", opts.Latency, opts.Jitter)
	}
	kind, target := parseDSN(dsn)
	switch kind {
	case "postgres":
		return openPostgres(ctx, target, opts)
	default:
		return openSQLite(ctx, target, opts)
	}
}

// parseDSN tells the backend ("sqlite" or "postgres") and what to open: the
// PostgreSQL URL, the SQLite file path, or "" for a temporary SQLite database.
func parseDSN(dsn string) (kind, target string) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "postgres", dsn
	case dsn == "" || dsn == "sqlite":
		return "sqlite", ""
	case strings.HasPrefix(dsn, "sqlite:"):
		return "sqlite", strings.TrimPrefix(dsn, "sqlite:")
	default:
		return "sqlite", dsn
	}
}
