package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqliteBusyTimeoutMS is how long a connection waits for a lock before SQLITE_BUSY.
// In-process writers queue on the single write connection, so this only matters
// for WAL checkpoints and other processes sharing the file.
const sqliteBusyTimeoutMS = 10000

// openSQLite opens the database file at path, or a temporary one when path is "".
// It keeps two pools on the file: one write connection (BEGIN IMMEDIATE, so a write
// transaction takes the lock up front and never fails upgrading a read lock) and
// several query-only read connections, which WAL lets run beside the writer.
func openSQLite(ctx context.Context, path string, opts Options) (_ Store, err error) {
	var tmpDir string
	if path == "" {
		if tmpDir, err = os.MkdirTemp("", "atlasbench-sqlite-"); err != nil {
			return nil, fmt.Errorf("store: sqlite: %w", err)
		}
		path = filepath.Join(tmpDir, "atlas.db")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("store: sqlite: path %q must not contain '?'", path)
	}
	var pools []*sql.DB
	closeAll := func() error {
		var errs []error
		for _, db := range pools {
			errs = append(errs, db.Close())
		}
		if tmpDir != "" {
			errs = append(errs, os.RemoveAll(tmpDir))
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			_ = closeAll()
		}
	}()

	common := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", path, sqliteBusyTimeoutMS)
	write, err := sql.Open("sqlite", common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	pools = append(pools, write)
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err = write.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}

	// The write pool sets WAL (persistent in the file) before any reader connects.
	read, err := sql.Open("sqlite", common+"&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	pools = append(pools, read)
	// The pure-Go SQLite is CPU-bound; a few connections per core keep both cores
	// busy without thrashing. Simulated latency is slept before taking a connection.
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)

	s, err := newSQLStore(ctx, sqliteDialect, read, write, opts, closeAll)
	if err != nil {
		return nil, err
	}
	if err = read.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	s.path = path
	opts.Log.Info("store: opened", "driver", "sqlite", "path", path, "temporary", tmpDir != "")
	return s, nil
}
