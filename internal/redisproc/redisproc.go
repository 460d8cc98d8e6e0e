// Package redisproc owns child redis-server processes: started on a free loopback port
// with persistence off (or AOF when asked), killed with SIGKILL, restarted on the same
// port (empty unless AOF), stopped; and Redis Clusters of such processes (StartCluster).
// The harness and the tests start their own Redis here and never touch a shared one.
package redisproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrNoBinary means no redis-server executable was found.
var ErrNoBinary = errors.New("redisproc: redis-server not found in PATH (install it: apt-get install redis-server)")

// Options configure a child Redis. The zero value is a usable default.
type Options struct {
	// Binary is the redis-server executable; default: redis-server from PATH.
	Binary string
	// Port is the loopback port; 0 picks a free one.
	Port int
	// Args are extra arguments appended to the command line (e.g. "--aclfile", path).
	Args []string
	// StartTimeout bounds the wait for the first PING; default 5s.
	StartTimeout time.Duration
	// Dir is the server's working directory (AOF files, a cluster node's nodes.conf);
	// default os.TempDir(), where nothing is written while persistence is off.
	Dir string
	// Persistence is PersistenceNone (the default: nothing survives a restart) or
	// PersistenceAOF (appendonly yes, fsync every second: a restart reloads the data).
	// With AOF, Dir should be the server's own directory.
	Persistence string
}

// Persistence modes of Options.Persistence.
const (
	PersistenceNone = "none"
	PersistenceAOF  = "aof"
)

// Server is one child redis-server. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs *bytes.Buffer
}

// Binary reports the redis-server path, or ErrNoBinary.
func Binary() (string, error) {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", ErrNoBinary
	}
	return p, nil
}

// Start launches a child redis-server and waits until it answers PING.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Binary == "" {
		b, err := Binary()
		if err != nil {
			return nil, err
		}
		opts.Binary = b
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 5 * time.Second
	}
	s := &Server{opts: opts, port: opts.Port}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if opts.Port == 0 {
			if s.port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		if err = s.Start(ctx); err == nil {
			return s, nil
		}
		if opts.Port != 0 || ctx.Err() != nil {
			break // a fixed port that failed will not free itself; a cancelled start is final
		}
	}
	return nil, err
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redisproc: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is redis://host:port.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Port is the server's port.
func (s *Server) Port() int { return s.port }

// Running reports whether the child process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Start (re)starts the server on its port (empty unless Persistence is AOF) and waits for PING. It is a no-op
// when the server is already running.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		select {
		case <-s.done:
		default:
			return nil
		}
	}
	dir := s.opts.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	appendonly := []string{"--appendonly", "no"}
	if s.opts.Persistence == PersistenceAOF {
		appendonly = []string{"--appendonly", "yes", "--appendfsync", "everysec"}
	}
	args := []string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "",
		"--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning", "--dir", dir,
	}
	args = append(args, appendonly...)
	args = append(args, s.opts.Args...)
	// Not CommandContext: the process outlives the start call; Kill or Stop ends it.
	cmd := exec.Command(s.opts.Binary, args...)
	logs := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = logs, logs
	// Its own process group: a terminal's Ctrl-C (sent to the foreground group) reaches the
	// harness alone, which decides the order of shutdown; it still dies with the harness.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redisproc: start %s: %w", s.opts.Binary, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done, s.logs = cmd, done, logs

	deadline := time.Now().Add(s.opts.StartTimeout)
	for {
		if err := Ping(s.Addr(), 200*time.Millisecond); err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redisproc: redis-server on port %d exited: %s", s.port, bytes.TrimSpace(logs.Bytes()))
		case <-ctx.Done():
			s.killLocked()
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.killLocked()
			return fmt.Errorf("redisproc: redis-server on port %d did not answer PING within %s: %s", s.port, s.opts.StartTimeout, bytes.TrimSpace(logs.Bytes()))
		}
	}
}

// Pid is the redis-server process ID; 0 while it is not running.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil || s.done == nil {
		return 0
	}
	select {
	case <-s.done: // exited
		return 0
	default:
		return s.cmd.Process.Pid
	}
}

// Kill sends SIGKILL (a crash: no shutdown, nothing saved) and waits for the exit.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.killLocked()
}

func (s *Server) killLocked() error {
	if s.cmd == nil || s.done == nil {
		return nil
	}
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("redisproc: kill: %w", err)
	}
	<-s.done
	return nil
}

// Stop ends the server (SIGTERM, then SIGKILL after a second). Safe to call twice.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.done == nil {
		return nil
	}
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(time.Second):
		return s.killLocked()
	}
}

// Logs returns what the current process printed.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logs == nil {
		return ""
	}
	return s.logs.String()
}

// Ping sends an inline PING to addr and expects +PONG (or -NOAUTH: the server is up but wants a password).
func Ping(addr string, timeout time.Duration) error {
	return inline(addr, "PING", timeout, "+PONG", "-NOAUTH")
}

// FlushAll empties a Redis that has no password (used after a container restart, which keeps data).
func FlushAll(addr string) error {
	return inline(addr, "FLUSHALL", time.Second, "+OK")
}

// inline sends one command (as a RESP array, which every server speaks) and checks the
// reply's prefix against ok.
func inline(addr, command string, timeout time.Duration, ok ...string) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(c, "*1\r\n$%d\r\n%s\r\n", len(command), command); err != nil {
		return err
	}
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	for _, prefix := range ok {
		if bytes.HasPrefix(buf[:n], []byte(prefix)) {
			return nil
		}
	}
	return fmt.Errorf("redisproc: unexpected %s reply %q", command, bytes.TrimSpace(buf[:n]))
}
