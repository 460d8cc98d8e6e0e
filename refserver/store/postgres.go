package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresPoolSize bounds the connections to PostgreSQL. Simulated latency is slept
// before a connection is taken, so a pool this size serves many concurrent requests.
const postgresPoolSize = 16

// openPostgres connects to the PostgreSQL database dsn names, through pgx.
func openPostgres(ctx context.Context, dsn string, opts Options) (Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	pool := new(poolCounters)
	cfg.Tracer = pool
	db := stdlib.OpenDB(*cfg,
		stdlib.OptionAfterConnect(func(context.Context, *pgx.Conn) error {
			pool.conns.Add(1)
			return nil
		}),
		// pgx's own rule (ping a connection idle for over a second before reusing it),
		// counted: each ping is a transaction the database counts.
		stdlib.OptionShouldPing(func(_ context.Context, p stdlib.ShouldPingParams) bool {
			if p.IdleDuration > time.Second {
				pool.pings.Add(1)
				return true
			}
			return false
		}))
	db.SetMaxOpenConns(postgresPoolSize)
	db.SetMaxIdleConns(postgresPoolSize)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	s, err := newSQLStore(ctx, postgresDialect, db, db, opts, db.Close)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.count.pool = pool
	opts.Log.Info("store: opened", "driver", "postgres", "host", cfg.Host, "database", cfg.Database)
	return s, nil
}

// copyRows loads tab with COPY FROM STDIN on conn's pgx connection. database/sql
// runs tx's statements on that same connection, so the COPY is part of tx.
func copyRows(ctx context.Context, _ *dialect, conn *sql.Conn, _ *sql.Tx, tab seedTable) error {
	if tab.n == 0 {
		return nil
	}
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", driverConn)
		}
		k := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if k == tab.n {
				return nil, nil
			}
			row := make([]any, len(tab.cols))
			tab.fill(k, row)
			k++
			return row, nil
		})
		n, err := c.Conn().CopyFrom(ctx, pgx.Identifier{tab.name}, tab.cols, src)
		if err == nil && n != int64(tab.n) {
			err = fmt.Errorf("copied %d rows, want %d", n, tab.n)
		}
		return err
	})
}

// prepareKey marks, in a prepare's context, that it ran outside a transaction.
type prepareKey struct{}

// TraceQueryStart implements pgx.QueryTracer (nothing to count).
func (c *poolCounters) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer (nothing to count).
func (c *poolCounters) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TracePrepareStart implements pgx.PrepareTracer: notes whether the prepare runs outside
// a transaction (then it is a transaction of its own).
func (c *poolCounters) TracePrepareStart(ctx context.Context, conn *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	return context.WithValue(ctx, prepareKey{}, conn.PgConn().TxStatus() == 'I')
}

// TracePrepareEnd implements pgx.PrepareTracer: counts a prepare that reached the server
// outside a transaction.
func (c *poolCounters) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, d pgx.TracePrepareEndData) {
	var pgErr *pgconn.PgError
	if idle, _ := ctx.Value(prepareKey{}).(bool); idle && !d.AlreadyPrepared && (d.Err == nil || errors.As(d.Err, &pgErr)) {
		c.prepares.Add(1)
	}
}
