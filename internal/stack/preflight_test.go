package stack

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
)

// closedAddr is a loopback address nothing listens on (a port taken, then released).
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestPreflightRedis: a Redis that answers passes; one nothing listens on, and a Cluster
// with a dead node, fail with a PreflightError naming the address (the node) and the fix.
func TestPreflightRedis(t *testing.T) {
	ctx := context.Background()
	single := testutil.Redis(t)
	if err := PreflightRedis(ctx, "-redis", single.URL(), "fix it"); err != nil {
		t.Fatalf("a running Redis failed its preflight: %v", err)
	}
	dead := closedAddr(t)
	err := PreflightRedis(ctx, "-redis", "redis://"+dead, "start Redis there")
	var pe *PreflightError
	if !errors.As(err, &pe) || pe.Component != "Redis" || !strings.Contains(err.Error(), dead) ||
		!strings.Contains(err.Error(), "start Redis there") || !strings.Contains(err.Error(), "-redis") {
		t.Fatalf("unreachable Redis: %v (%#v), want a PreflightError naming %s, -redis and the fix", err, pe, dead)
	}

	c := testutil.Cluster(t, redisproc.ClusterOptions{Masters: 3, Replicas: 1})
	seeds := strings.Join(c.Seeds(), ",")
	if err := PreflightRedis(ctx, "-redis", seeds, "fix it"); err != nil {
		t.Fatalf("a healthy 3x1 cluster failed its preflight: %v", err)
	}
	if err := PreflightRedis(ctx, "-redis", "redis+cluster://"+c.Seeds()[0], "fix it"); err != nil {
		t.Fatalf("a healthy 3x1 cluster by redis+cluster:// URL failed its preflight: %v", err)
	}
	replica := c.Nodes()[len(c.Nodes())-1]
	if err := replica.Kill(); err != nil {
		t.Fatal(err)
	}
	err = PreflightRedis(ctx, "-redis", seeds, "fix it")
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), replica.Announced) {
		t.Fatalf("cluster with %s killed: %v, want a PreflightError naming that node", replica.Announced, err)
	}
}

// TestPreflightPostgres: the local server passes (with its CREATEDB role); a port nothing
// listens on fails naming PostgreSQL, the address and -db sqlite as the way out.
func TestPreflightPostgres(t *testing.T) {
	ctx := context.Background()
	dead := closedAddr(t)
	err := PreflightPostgres(ctx, "-db", "postgres://postgres@"+dead+"/postgres", true)
	var pe *PreflightError
	if !errors.As(err, &pe) || pe.Component != "PostgreSQL" || pe.Addr != dead || !strings.Contains(err.Error(), "-db sqlite") {
		t.Fatalf("unreachable PostgreSQL: %v, want a PreflightError naming %s and -db sqlite", err, dead)
	}
	dsn := testutil.Postgres(t) // skips, with the reason, where no PostgreSQL answers
	if err := PreflightPostgres(ctx, "-db", dsn, true); err != nil {
		t.Fatalf("the local PostgreSQL failed its preflight: %v", err)
	}
}
