package witness

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// PGCounters are PostgreSQL's own counters of one database (pg_stat_database), and the
// statements pg_stat_statements counted in it when the server has that module loaded.
type PGCounters struct {
	XactCommit   int64
	XactRollback int64
	TupReturned  int64
	TupFetched   int64
	BlksHit      int64
	BlksRead     int64
	// Statements is the sum of pg_stat_statements calls in the database; -1 when the
	// module is not loaded.
	Statements int64
	// Own is how many transactions the reader's earlier reads added to these counters
	// (0 unless the reader is connected to the database it reads).
	Own int64
}

// Sub returns c - before.
func (c PGCounters) Sub(before PGCounters) PGCounters {
	d := PGCounters{
		XactCommit: c.XactCommit - before.XactCommit, XactRollback: c.XactRollback - before.XactRollback,
		TupReturned: c.TupReturned - before.TupReturned, TupFetched: c.TupFetched - before.TupFetched,
		BlksHit: c.BlksHit - before.BlksHit, BlksRead: c.BlksRead - before.BlksRead, Statements: -1,
		Own: c.Own - before.Own,
	}
	if c.Statements >= 0 && before.Statements >= 0 {
		d.Statements = c.Statements - before.Statements
	}
	return d
}

// PGFlushWait is how long a PostgreSQL backend may keep its counters before they show in
// pg_stat_database once it is idle: a backend that flushed less than PGSTAT_MIN_INTERVAL
// (1 s) ago waits PGSTAT_IDLE_INTERVAL (10 s) before flushing again; plus a margin.
const PGFlushWait = 10500 * time.Millisecond

// Postgres reads the counters of one database through one connection.
type Postgres struct {
	db       *sql.DB
	database string
	// Own is true when the reader's connection is to the database it reads: its own
	// queries then count there (OwnPerRead transactions per Read).
	Own bool
	// Note says why pg_stat_statements figures are missing, if they are.
	Note string

	reads int64 // Reads so far
}

// OwnPerRead is how many transactions one Read adds to the database it reads when the
// reader is connected to it (Postgres.Own): one pg_stat_database query, and one
// pg_stat_statements query when the module is loaded.
func (p *Postgres) OwnPerRead() int64 {
	if !p.Own {
		return 0
	}
	if p.Note == "" {
		return 2
	}
	return 1
}

// OpenPostgres connects with dsn and reads the database named database (empty: the one
// dsn names). It checks that pg_stat_statements can be read, and says why not in Note.
func OpenPostgres(ctx context.Context, dsn, database string) (*Postgres, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("witness: postgres URL: %w", err)
	}
	connected := strings.TrimPrefix(u.Path, "/")
	if database == "" {
		database = connected
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("witness: postgres %s: %w", u.Redacted(), err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	p := &Postgres{db: db, database: database, Own: database == connected}
	var preload string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('shared_preload_libraries')").Scan(&preload); err != nil {
		db.Close()
		return nil, fmt.Errorf("witness: postgres %s: %w", u.Redacted(), err)
	}
	switch {
	case !strings.Contains(preload, "pg_stat_statements"):
		p.Note = "pg_stat_statements is not loaded (shared_preload_libraries); the DB figures are pg_stat_database's transactions"
	default:
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_statements LIMIT 1").Scan(&n); err != nil {
			p.Note = "pg_stat_statements is loaded but cannot be read here (CREATE EXTENSION pg_stat_statements in " + connected + "): " + err.Error()
		}
	}
	return p, nil
}

// Read returns the database's counters now. pg_stat_database lags a busy backend by up
// to PGFlushWait; read after the server has been idle that long for exact figures.
func (p *Postgres) Read(ctx context.Context) (PGCounters, error) {
	c := PGCounters{Statements: -1, Own: p.reads * p.OwnPerRead()}
	p.reads++
	err := p.db.QueryRowContext(ctx, `SELECT coalesce(sum(xact_commit),0), coalesce(sum(xact_rollback),0),
		coalesce(sum(tup_returned),0), coalesce(sum(tup_fetched),0), coalesce(sum(blks_hit),0), coalesce(sum(blks_read),0)
		FROM pg_stat_database WHERE datname = $1`, p.database).
		Scan(&c.XactCommit, &c.XactRollback, &c.TupReturned, &c.TupFetched, &c.BlksHit, &c.BlksRead)
	if err != nil {
		return c, fmt.Errorf("witness: pg_stat_database of %s: %w", p.database, err)
	}
	if p.Note == "" {
		err := p.db.QueryRowContext(ctx, `SELECT coalesce(sum(calls),0) FROM pg_stat_statements
			WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)`, p.database).Scan(&c.Statements)
		if err != nil {
			return c, fmt.Errorf("witness: pg_stat_statements of %s: %w", p.database, err)
		}
	}
	return c, nil
}

// Close closes the connection.
func (p *Postgres) Close() error { return p.db.Close() }

// PGActivity is what a database's backends are doing: the pids of the backends connected
// to it (the reader's own left out) and pg_stat_database's time spent executing statements
// (active_time, PostgreSQL 14+; -1 before) against its transactions so far.
type PGActivity struct {
	Pids     []int
	ActiveMS float64
	Xacts    int64
}

// Activity reads the database's backends and its statement time now.
func (p *Postgres) Activity(ctx context.Context) (PGActivity, error) {
	a := PGActivity{ActiveMS: -1}
	rows, err := p.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, p.database)
	if err != nil {
		return a, fmt.Errorf("witness: pg_stat_activity: %w", err)
	}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			rows.Close()
			return a, fmt.Errorf("witness: pg_stat_activity: %w", err)
		}
		a.Pids = append(a.Pids, pid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return a, fmt.Errorf("witness: pg_stat_activity: %w", err)
	}
	err = p.db.QueryRowContext(ctx, `SELECT coalesce(sum(active_time),0), coalesce(sum(xact_commit + xact_rollback),0)
		FROM pg_stat_database WHERE datname = $1`, p.database).Scan(&a.ActiveMS, &a.Xacts)
	if err != nil { // before PostgreSQL 14: no active_time
		a.ActiveMS = -1
		if err := p.db.QueryRowContext(ctx, `SELECT coalesce(sum(xact_commit + xact_rollback),0) FROM pg_stat_database WHERE datname = $1`,
			p.database).Scan(&a.Xacts); err != nil {
			return a, fmt.Errorf("witness: pg_stat_database: %w", err)
		}
	}
	return a, nil
}

// Local reports whether the server dsn names runs on this machine (a loopback address or a
// Unix socket), where its backends' pids are this machine's processes.
func Local(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	switch h := u.Hostname(); h {
	case "", "localhost", "127.0.0.1", "::1":
		return true
	default:
		return strings.HasPrefix(h, "127.") || strings.HasPrefix(u.Query().Get("host"), "/")
	}
}
