// Package testutil owns the test fixtures every package shares: a child redis-server
// on a free port, a Redis Cluster of them, and a throw-away PostgreSQL database. Only tests import it.
package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/redisproc"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Redis starts a child redis-server on a free loopback port and stops it when the test ends.
// A missing redis-server binary fails the test: it is required (.ci/run installs it).
func Redis(t testing.TB, args ...string) *redisproc.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redisproc.Start(ctx, redisproc.Options{Args: args})
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// Cluster starts a Redis Cluster of child redis-server processes on free loopback ports
// (redisproc.StartCluster: created, cluster_state:ok, replicas in sync) and stops it when
// the test ends. A missing redis-server binary fails the test.
func Cluster(t testing.TB, opts redisproc.ClusterOptions) *redisproc.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := redisproc.StartCluster(ctx, opts)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

// PostgresAdminDSN is the server the PostgreSQL tests use; ATLAS_TEST_POSTGRES overrides it.
func PostgresAdminDSN() string {
	if dsn := os.Getenv("ATLAS_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Postgres creates a fresh database on the local PostgreSQL server, returns its DSN and
// drops it when the test ends. When no server answers on 127.0.0.1:5432 the test is
// skipped with the reason: PostgreSQL is an optional engine.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := PostgresAdminDSN()
	if os.Getenv("ATLAS_TEST_POSTGRES") == "" {
		c, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second)
		if err != nil {
			t.Skipf("PostgreSQL tests skipped: nothing answers on 127.0.0.1:5432 (%v); set ATLAS_TEST_POSTGRES to a server's DSN to run them", err)
		}
		c.Close()
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("testutil: postgres: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Skipf("PostgreSQL tests skipped: %s does not accept connections: %v", admin, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "atlasbench_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testutil: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Errorf("testutil: drop database %s: %v", name, err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testutil: drop database %s: %v", name, err)
		}
	})
	return replaceDB(admin, name)
}

// replaceDB swaps the database name in a postgres:// URL.
func replaceDB(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		panic(fmt.Sprintf("testutil: bad DSN %q: %v", dsn, err))
	}
	u.Path = "/" + name
	return u.String()
}

// WaitCap bounds WaitFor: long enough for a starved machine, only there to end a test whose
// event never comes. It is a cap, never a measure.
const WaitCap = 30 * time.Second

// WaitFor polls cond until it holds, failing the test (naming what it waited for) after
// WaitCap: the one way tests here wait for an event that has no channel to wait on.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	WaitEvery(t, what, 10*time.Millisecond, cond)
}

// WaitEvery is WaitFor polling every interval: for a cond that costs a round of work (a
// check that opens connections, a batch of loads) and need not run a hundred times a second.
func WaitEvery(t testing.TB, what string, interval time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(WaitCap); !cond(); time.Sleep(interval) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within %s", what, WaitCap)
		}
	}
}
