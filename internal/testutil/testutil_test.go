package testutil

import (
	"bufio"
	"context"
	"database/sql"
	"net"
	"strings"
	"testing"
	"time"
)

func TestRedisKillAndRestart(t *testing.T) {
	s := Redis(t)
	roundTrip := func() error {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("SET k v\r\nGET k\r\n")); err != nil {
			return err
		}
		r := bufio.NewReader(c)
		for _, want := range []string{"+OK", "$1", "v"} {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if strings.TrimSpace(line) != want {
				t.Fatalf("got %q, want %q", line, want)
			}
		}
		return nil
	}
	if err := roundTrip(); err != nil {
		t.Fatal(err)
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Fatal("still running after Kill")
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Fatal("port still accepts connections after Kill")
	}
	port := s.Port()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Port() != port {
		t.Fatalf("restarted on port %d, want %d", s.Port(), port)
	}
	if err := roundTrip(); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresFreshDatabase(t *testing.T) {
	dsn := Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRowContext(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "atlasbench_test_") {
		t.Fatalf("connected to %q, want a fresh atlasbench_test_ database", name)
	}
}
