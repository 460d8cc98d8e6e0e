package stack

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/atlasbench/atlasbench/internal/faultproxy"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for creating run databases
)

// Options say what to bring up for one mode of a run.
type Options struct {
	// Binary is the bench executable to run `serve` from; default os.Executable().
	Binary string
	// Redis is the -redis spec (auto, process, docker, embedded or a URL); unused in nocache mode.
	Redis string
	// DB is sqlite (a fresh file per stack) or a postgres:// server URL (a fresh database
	// is created in it per stack and dropped on Close).
	DB string
	// Mode is cache or nocache.
	Mode string
	// Config is the cache config name or file.
	Config string
	// Seeding, passed to bench serve.
	Seed                           int64
	Users, Conversations, Messages int
	Tiers                          string // store.TierMix.String()
	DBLatency, DBJitter            time.Duration
	Secret                         []byte
	// ServerLog receives the server's stderr; default discards.
	ServerLog io.Writer
	// Log receives the stack's own progress.
	Log *slog.Logger
	// StartTimeout bounds seeding plus the server's start; default 3 minutes.
	StartTimeout time.Duration
}

// Stack is one running reference server and what it stands on.
type Stack struct {
	URL   string // base URL of the server
	Redis *Redis // nil in nocache mode
	// Proxy sits between the server and a Redis the harness runs, for the slow, partition,
	// refuse and flap faults; nil in nocache mode and for an external Redis.
	Proxy *faultproxy.Proxy
	DB    string // sqlite or postgres

	cmd     *exec.Cmd
	done    chan struct{}
	cleanup []func() error
}

// Up starts Redis (cache mode), prepares the database and runs `bench serve` as a child
// process on a free loopback port, then waits until /healthz answers 200. On any error
// everything started so far is torn down.
func Up(ctx context.Context, o Options) (st *Stack, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.ServerLog == nil {
		o.ServerLog = io.Discard
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 3 * time.Minute
	}
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("stack: own executable: %w", err)
		}
	}
	st = &Stack{DB: "sqlite"}
	defer func() {
		if err != nil {
			st.Close()
			st = nil
		}
	}()
	dsn := "sqlite"
	if strings.HasPrefix(o.DB, "postgres://") || strings.HasPrefix(o.DB, "postgresql://") {
		st.DB = "postgres"
		if dsn, err = st.freshPostgres(ctx, o.DB); err != nil {
			return st, err
		}
	} else if o.DB != "" && o.DB != "sqlite" {
		return st, fmt.Errorf("stack: -db %q: want sqlite or a postgres:// URL", o.DB)
	}
	redisURL := ""
	if o.Mode == "cache" {
		if st.Redis, err = StartRedis(ctx, o.Redis, o.Log); err != nil {
			return st, err
		}
		st.cleanup = append(st.cleanup, st.Redis.Close)
		redisURL = st.Redis.URL
		if st.Redis.Backend != BackendExternal {
			u, err := url.Parse(st.Redis.URL)
			if err != nil {
				return st, fmt.Errorf("stack: redis url: %w", err)
			}
			if st.Proxy, err = faultproxy.Start(ctx, u.Host, o.Log); err != nil {
				return st, fmt.Errorf("stack: fault proxy: %w", err)
			}
			st.cleanup = append(st.cleanup, st.Proxy.Close)
			redisURL = st.Proxy.URL()
		}
	}
	args := []string{"serve",
		"-listen", "127.0.0.1:0", "-db", dsn, "-mode", o.Mode, "-config", o.Config,
		"-seed", strconv.FormatInt(o.Seed, 10), "-seed-users", strconv.Itoa(o.Users),
		"-seed-conversations", strconv.Itoa(o.Conversations), "-seed-messages", strconv.Itoa(o.Messages),
		"-db-latency", o.DBLatency.String(), "-db-jitter", o.DBJitter.String(), "-log-level", "warn",
	}
	if o.Tiers != "" {
		args = append(args, "-seed-tiers", o.Tiers)
	}
	if redisURL != "" {
		args = append(args, "-redis", redisURL)
	}
	if st.URL, err = st.startServer(ctx, o, args); err != nil {
		return st, err
	}
	return st, nil
}

// startServer runs the child, reads its "listening on" line and waits for /healthz.
func (st *Stack) startServer(ctx context.Context, o Options, args []string) (string, error) {
	cmd := exec.Command(o.Binary, args...)
	cmd.Env = append(os.Environ(), "ATLAS_JWT_SECRET="+string(o.Secret))
	cmd.Stderr = o.ServerLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("stack: start %s serve: %w", o.Binary, err)
	}
	st.cmd, st.done = cmd, make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, after, ok := strings.Cut(sc.Text(), "listening on "); ok {
				select {
				case lines <- strings.Fields(after)[0]:
				default:
				}
			}
		}
	}()
	go func() { cmd.Wait(); close(st.done) }()

	timeout := time.NewTimer(o.StartTimeout)
	defer timeout.Stop()
	var base string
	select {
	case base = <-lines:
	case <-st.done:
		return "", fmt.Errorf("stack: bench serve exited before listening (%s); see the server log", cmd.ProcessState)
	case <-ctx.Done():
		return "", ctx.Err()
	case <-timeout.C:
		return "", fmt.Errorf("stack: bench serve did not listen within %s", o.StartTimeout)
	}
	client := &http.Client{Timeout: time.Second}
	for {
		res, err := client.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base, nil
			}
		}
		select {
		case <-st.done:
			return "", errors.New("stack: bench serve exited while starting; see the server log")
		case <-ctx.Done():
			return "", ctx.Err()
		case <-timeout.C:
			return "", fmt.Errorf("stack: %s/healthz not 200 within %s", base, o.StartTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freshPostgres creates a database for this stack on the server dsn names and returns its DSN.
func (st *Stack) freshPostgres(ctx context.Context, dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("stack: -db: %w", err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", fmt.Errorf("stack: postgres: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return "", fmt.Errorf("stack: postgres %s: %w", u.Redacted(), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "atlasbench_run_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", fmt.Errorf("stack: postgres: create database: %w", err)
	}
	st.cleanup = append(st.cleanup, func() error {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	})
	u.Path = "/" + name
	return u.String(), nil
}

// Close stops the server (SIGTERM, SIGKILL after 10 s), then Redis and the run database.
func (st *Stack) Close() error {
	var errs []error
	if st.cmd != nil && st.cmd.Process != nil {
		st.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-st.done:
		case <-time.After(10 * time.Second):
			st.cmd.Process.Kill()
			<-st.done
		}
		st.cmd = nil
	}
	for i := len(st.cleanup) - 1; i >= 0; i-- {
		if err := st.cleanup[i](); err != nil {
			errs = append(errs, err)
		}
	}
	st.cleanup = nil
	return errors.Join(errs...)
}
