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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/faultproxy"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for creating run databases
)

// Options say what to bring up for one mode of a run.
type Options struct {
	// Binary is the bench executable to run `serve` from; default os.Executable().
	Binary string
	// Redis is the -redis spec (auto, process, docker, embedded, cluster, a URL or
	// comma-separated cluster seeds); unused in nocache mode.
	Redis string
	// Cluster, when set, is the shape of the Redis Cluster to start (a scenario's
	// redis.cluster); with Redis auto or empty it selects the cluster backend.
	Cluster *ClusterShape
	// Persistence is none (default) or aof for a Redis the harness starts as a process.
	Persistence string
	// RedisMemory limits the memory of a Redis the stack starts (maxmemory and policy).
	RedisMemory Memory
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
	Tiers                          string // atlas.TierMix.String()
	DBLatency, DBJitter            time.Duration
	Secret                         []byte
	// ServerLog receives the servers' stderr (writes serialized: SerialWriter); default discards.
	ServerLog io.Writer
	// Log receives the stack's own progress.
	Log *slog.Logger
	// StartTimeout bounds seeding plus the server's start; default 3 minutes plus one per
	// 100,000 users seeded.
	StartTimeout time.Duration
	// SeedProgress, when set, hears the first instance's seeding progress lines
	// ("atlas: seeding N of M users …").
	SeedProgress func(line string)
	// ShutdownDelay and DrainTimeout are every instance's -shutdown-delay and -drain-timeout
	// (how it stops on SIGTERM); zero: bench serve's defaults.
	ShutdownDelay, DrainTimeout time.Duration
	// Servers is how many `bench serve` instances share the Redis and the database; default 1.
	// With SQLite they share one database file (WAL mode, busy timeout: several processes
	// may read and write it); the first instance seeds it, the others find it seeded.
	Servers int
}

// Stack is the running reference server instances and what they stand on.
type Stack struct {
	URL     string    // base URL of the first instance
	Servers []*Server // the instances, in order (Servers[0] is instance 1)
	Redis   *Redis    // nil in nocache mode
	// Proxy is the first instance's fault proxy (see Server.Proxy); nil for a cluster,
	// whose nodes have one each (Redis.Proxies).
	Proxy *faultproxy.Proxy
	DB    string // sqlite or postgres
	// DBName is the PostgreSQL database created for this stack (dropped on Close); "" on SQLite.
	DBName string
	// Seeding is how long the first instance took to seed the database.
	Seeding time.Duration

	cleanup []func() error
	log     *slog.Logger // the stack's own progress (Options.Log)

	mu       sync.Mutex
	restarts []Restart // graceful stops and restarts, in order
}

// Server is one `bench serve` child process.
type Server struct {
	Index int    // 1-based
	URL   string // base URL; the same after a kill and restart
	// Proxy sits between this instance and a Redis the harness runs, for the slow,
	// partition, refuse and flap faults; nil in nocache mode and for an external Redis.
	Proxy *faultproxy.Proxy

	o    Options
	args []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	peakRSS int64  // bytes, the highest VmHWM read from a process of this instance
	drain   *Drain // what the running process said it drained, once it did
	// warm is what the process's warming at start said last (a progress or the final
	// line, warmEnded), warmAt when; nil before its first line.
	warm      *cache.WarmReport
	warmAt    time.Time
	warmEnded bool
}

// Up starts Redis (cache mode), prepares the database and runs Options.Servers `bench serve`
// child processes, each on a free loopback port, each behind its own fault proxy to Redis,
// one after the other, waiting until each /healthz answers 200. On any error
// everything started so far is torn down.
func Up(ctx context.Context, o Options) (st *Stack, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.ServerLog == nil {
		o.ServerLog = io.Discard
	}
	o.ServerLog = SerialWriter(o.ServerLog) // shared by every instance
	if o.StartTimeout == 0 {
		o.StartTimeout = 3*time.Minute + time.Duration(o.Users/100_000)*time.Minute
	}
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("stack: own executable: %w", err)
		}
	}
	st = &Stack{DB: "sqlite", log: o.Log}
	defer func() {
		if err != nil {
			st.Close()
			st = nil
		}
	}()
	if o.Servers <= 0 {
		o.Servers = 1
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second // bench serve's default
	}
	dsn := "sqlite"
	if strings.HasPrefix(o.DB, "postgres://") || strings.HasPrefix(o.DB, "postgresql://") {
		st.DB = "postgres"
		if dsn, err = st.freshPostgres(ctx, o.DB); err != nil {
			return st, err
		}
	} else if err = CheckDB(o.DB); err != nil {
		return st, fmt.Errorf("stack: %w", err)
	} else if o.Servers > 1 {
		// One file for every instance; each server's store opens it in WAL mode with a busy
		// timeout, which is what lets several processes share it.
		dir, err := os.MkdirTemp("", "atlasbench-stack-")
		if err != nil {
			return st, fmt.Errorf("stack: sqlite: %w", err)
		}
		st.cleanup = append(st.cleanup, func() error { return os.RemoveAll(dir) })
		dsn = "sqlite:" + filepath.Join(dir, "atlas.db")
	}
	if o.Mode == "cache" {
		spec := o.Redis
		if o.Cluster != nil {
			switch spec {
			case "", "auto":
				spec = BackendCluster
			case BackendProcess, BackendDocker, BackendEmbedded:
				return st, fmt.Errorf("stack: the scenario asks for a Redis Cluster (redis.cluster) but -redis is %s: use -redis auto or cluster", spec)
			}
		}
		ropts := RedisOptions{Spec: spec, Cluster: o.Cluster, Persistence: o.Persistence, Memory: o.RedisMemory, Proxies: true, Log: o.Log}
		if st.Redis, err = StartRedis(ctx, ropts); err != nil {
			return st, err
		}
		st.cleanup = append(st.cleanup, st.Redis.Close)
	}
	for i := 1; i <= o.Servers; i++ {
		srv := &Server{Index: i, o: o}
		redisURL := ""
		if st.Redis != nil {
			redisURL = st.Redis.URL
			if st.Redis.Backend != BackendExternal && st.Redis.Backend != BackendCluster {
				u, err := url.Parse(st.Redis.URL)
				if err != nil {
					return st, fmt.Errorf("stack: redis url: %w", err)
				}
				if srv.Proxy, err = faultproxy.Start(ctx, u.Host, o.Log); err != nil {
					return st, fmt.Errorf("stack: fault proxy: %w", err)
				}
				st.cleanup = append(st.cleanup, srv.Proxy.Close)
				redisURL = srv.Proxy.URL()
			}
		}
		srv.args = []string{"serve",
			"-listen", "127.0.0.1:0", "-db", dsn, "-mode", o.Mode, "-config", o.Config,
			"-seed", strconv.FormatInt(o.Seed, 10), "-seed-users", strconv.Itoa(o.Users),
			"-seed-conversations", strconv.Itoa(o.Conversations), "-seed-messages", strconv.Itoa(o.Messages),
			"-db-latency", o.DBLatency.String(), "-db-jitter", o.DBJitter.String(), "-log-level", "warn",
		}
		if o.Tiers != "" {
			srv.args = append(srv.args, "-seed-tiers", o.Tiers)
		}
		if redisURL != "" {
			srv.args = append(srv.args, "-redis", redisURL)
		}
		srv.args = append(srv.args, "-shutdown-delay", o.ShutdownDelay.String(), "-drain-timeout", o.DrainTimeout.String())
		st.Servers = append(st.Servers, srv)
		st.cleanup = append(st.cleanup, srv.stop)
		seeding, err := srv.start(ctx)
		if err != nil {
			return st, fmt.Errorf("stack: server %d: %w", i, err)
		}
		if i == 1 {
			st.Seeding = seeding
		}
		// A restart must come back on the same address: the driver keeps sending there.
		u, _ := url.Parse(srv.URL)
		srv.args[2] = u.Host
	}
	st.URL, st.Proxy = st.Servers[0].URL, st.Servers[0].Proxy
	return st, nil
}

// URLs lists the instances' base URLs in order.
func (st *Stack) URLs() []string {
	out := make([]string, len(st.Servers))
	for i, s := range st.Servers {
		out[i] = s.URL
	}
	return out
}

// Server returns instance i (1-based).
func (st *Stack) Server(i int) (*Server, error) {
	if i < 1 || i > len(st.Servers) {
		return nil, fmt.Errorf("stack: no server %d (the stack runs %d)", i, len(st.Servers))
	}
	return st.Servers[i-1], nil
}

// start runs the child, reads its "listening on" line (and "seeded … in" before it) and
// waits for /healthz. It returns how long seeding took (0 when the database was seeded).
func (s *Server) start(ctx context.Context) (time.Duration, error) {
	o := s.o
	cmd := exec.Command(o.Binary, s.args...)
	cmd.Env = append(os.Environ(), "ATLAS_JWT_SECRET="+string(o.Secret))
	cmd.Stderr = o.ServerLog
	// Its own process group: a terminal's Ctrl-C (sent to the foreground group) reaches the
	// harness alone, which decides the order of shutdown; it still dies with the harness.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("stack: start %s serve: %w", o.Binary, err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	lines := make(chan string, 1)
	var seeding atomic.Int64
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if d, ok := parseDrain(line); ok {
				s.mu.Lock()
				s.drain = &d
				s.mu.Unlock()
			}
			if strings.HasPrefix(line, "atlas: seeding ") && o.SeedProgress != nil {
				o.SeedProgress(line)
			}
			if r, ok := ParseWarming(line); ok {
				s.mu.Lock()
				s.warm, s.warmAt, s.warmEnded = &r, time.Now(), false
				s.mu.Unlock()
			}
			if r, ok := ParseWarmed(line); ok {
				s.mu.Lock()
				s.warm, s.warmAt, s.warmEnded = &r, time.Now(), true
				s.mu.Unlock()
			}
			if _, after, ok := strings.Cut(line, " in "); ok && strings.HasPrefix(line, "atlas: seeded ") {
				if d, err := time.ParseDuration(strings.Fields(after)[0]); err == nil {
					seeding.Store(int64(d))
				}
			}
			if _, after, ok := strings.Cut(line, "listening on "); ok {
				select {
				case lines <- strings.Fields(after)[0]:
				default:
				}
			}
		}
	}()
	// Wait only once stdout is read to its end (the process exited): Wait closes the pipe,
	// and its last lines (the drain) must not be lost.
	go func() { <-scanned; cmd.Wait(); close(done) }()

	timeout := time.NewTimer(o.StartTimeout)
	defer timeout.Stop()
	var base string
	select {
	case base = <-lines:
	case <-done:
		return 0, fmt.Errorf("stack: bench serve exited before listening (%s); see the server log", cmd.ProcessState)
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-timeout.C:
		return 0, fmt.Errorf("stack: bench serve did not listen within %s", o.StartTimeout)
	}
	client := &http.Client{Timeout: time.Second}
	for {
		res, err := client.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				s.URL = base
				return time.Duration(seeding.Load()), nil
			}
		}
		select {
		case <-done:
			return 0, errors.New("stack: bench serve exited while starting; see the server log")
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-timeout.C:
			return 0, fmt.Errorf("stack: %s/healthz not 200 within %s", base, o.StartTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill SIGKILLs the instance (the kill-server fault); its address stays reserved for Start.
func (s *Server) Kill() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("stack: server %d is not running", s.Index)
	}
	s.sampleRSS()
	cmd.Process.Kill()
	<-done
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
	return nil
}

// Start brings a killed instance back on its address (the start-server fault).
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return fmt.Errorf("stack: server %d is already running", s.Index)
	}
	_, err := s.start(ctx)
	return err
}

// stop ends the instance: SIGTERM, SIGKILL after 10 s.
func (s *Server) stop() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	return nil
}

// Pid is the running instance's process ID; 0 while it is killed.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// PeakRSS is the highest resident set size (bytes) the instance's processes reached so far
// (Linux VmHWM; 0 where /proc is not available).
func (s *Server) PeakRSS() int64 {
	s.sampleRSS()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakRSS
}

// sampleRSS reads the running process's peak RSS into peakRSS.
func (s *Server) sampleRSS() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	if b := procPeakRSS(s.cmd.Process.Pid); b > s.peakRSS {
		s.peakRSS = b
	}
}

// procPeakRSS reads VmHWM of /proc/<pid>/status in bytes; 0 when unreadable.
func procPeakRSS(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && len(f) == 2 && f[1] == "kB" {
				return kb << 10
			}
		}
	}
	return 0
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
	st.DBName = name
	u.Path = "/" + name
	return u.String(), nil
}

// Close stops the servers (SIGTERM, SIGKILL after 10 s), then Redis and the run database.
func (st *Stack) Close() error {
	var errs []error
	for i := len(st.cleanup) - 1; i >= 0; i-- {
		if err := st.cleanup[i](); err != nil {
			errs = append(errs, err)
		}
	}
	st.cleanup = nil
	return errors.Join(errs...)
}

// SerialWriter returns w with its writes serialized, for a writer that several child
// processes' output is copied into at once (exec copies each child's stderr on its own
// goroutine; a bytes.Buffer or a terminal writer is not safe for that). An *os.File is
// returned as it is.
func SerialWriter(w io.Writer) io.Writer {
	switch w.(type) {
	case *os.File, *serialWriter:
		return w
	}
	if w == io.Discard {
		return w
	}
	return &serialWriter{w: w}
}

type serialWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *serialWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
