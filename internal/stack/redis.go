package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
)

// Redis backends.
const (
	BackendProcess  = "process"  // a child redis-server on a free loopback port
	BackendDocker   = "docker"   // a container through dockertest
	BackendEmbedded = "embedded" // miniredis in this process: latencies not representative
	BackendExternal = "external" // a URL the user gave; never killed
)

// EmbeddedNote is the loud caveat every report of an embedded-Redis run carries.
const EmbeddedNote = "Redis was embedded (miniredis, in the harness process): latencies are not representative; install redis-server for real figures"

// Redis is the Redis a run uses, with the controls fault injection needs.
type Redis struct {
	Backend string
	URL     string
	Note    string // a caveat for the report, if any

	kill  func() error
	start func(ctx context.Context) error
	close func() error
}

// Kill crashes Redis (SIGKILL or the equivalent): connections drop, data is lost.
func (r *Redis) Kill() error {
	if r.kill == nil {
		return fmt.Errorf("stack: cannot kill the %s Redis at %s", r.Backend, r.URL)
	}
	return r.kill()
}

// Start brings a killed Redis back on the same address, empty.
func (r *Redis) Start(ctx context.Context) error {
	if r.start == nil {
		return fmt.Errorf("stack: cannot start the %s Redis at %s", r.Backend, r.URL)
	}
	return r.start(ctx)
}

// Close stops Redis and releases what it holds. Safe to call twice.
func (r *Redis) Close() error {
	if r.close == nil {
		return nil
	}
	c := r.close
	r.close = nil
	return c()
}

// StartRedis brings up Redis per spec: "auto" (a child redis-server when the binary exists,
// else Docker when an engine answers, else embedded), "process", "docker", "embedded", or a
// redis://, rediss:// or redis+cluster:// URL of a server someone else runs.
func StartRedis(ctx context.Context, spec string, log *slog.Logger) (*Redis, error) {
	switch spec {
	case "", "auto":
		if _, err := redisproc.Binary(); err == nil {
			return startProcess(ctx)
		}
		if err := DockerAvailable(ctx); err == nil {
			log.Info("redis-server not found; using Docker")
			return startDocker(ctx)
		} else {
			log.Warn("redis-server not found and no Docker engine; using embedded miniredis", "docker", err)
		}
		return startEmbedded()
	case BackendProcess:
		return startProcess(ctx)
	case BackendDocker:
		if err := DockerAvailable(ctx); err != nil {
			return nil, err
		}
		return startDocker(ctx)
	case BackendEmbedded:
		return startEmbedded()
	}
	if strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://") || strings.HasPrefix(spec, "redis+cluster://") {
		return &Redis{Backend: BackendExternal, URL: spec}, nil
	}
	return nil, fmt.Errorf("stack: -redis %q: want auto, process, docker, embedded or a redis:// URL", spec)
}

func startProcess(ctx context.Context) (*Redis, error) {
	s, err := redisproc.Start(ctx, redisproc.Options{})
	if err != nil {
		return nil, err
	}
	return &Redis{Backend: BackendProcess, URL: s.URL(), kill: s.Kill, start: s.Start, close: s.Stop}, nil
}

func startEmbedded() (*Redis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("stack: embedded redis: %w", err)
	}
	addr := m.Addr()
	return &Redis{
		Backend: BackendEmbedded, URL: "redis://" + addr, Note: EmbeddedNote,
		kill: func() error { m.Close(); return nil },
		start: func(context.Context) error {
			m.FlushAll()
			return m.StartAddr(addr)
		},
		close: func() error { m.Close(); return nil },
	}, nil
}

// DockerAvailable reports why dockertest cannot be used, or nil when a Docker engine answers.
func DockerAvailable(ctx context.Context) error {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return fmt.Errorf("stack: no Docker engine: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := pool.Client.PingWithContext(ctx); err != nil {
		return fmt.Errorf("stack: no Docker engine answers (%v); use -redis process or install redis-server", err)
	}
	return nil
}

func startDocker(ctx context.Context) (*Redis, error) {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return nil, err
	}
	port, err := redisproc.FreePort()
	if err != nil {
		return nil, err
	}
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository:   "redis",
		Tag:          "7-alpine",
		Cmd:          []string{"redis-server", "--save", "", "--appendonly", "no"},
		PortBindings: map[dc.Port][]dc.PortBinding{"6379/tcp": {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(port)}}},
	}, func(hc *dc.HostConfig) { hc.RestartPolicy = dc.RestartPolicy{Name: "no"} })
	if err != nil {
		return nil, fmt.Errorf("stack: docker redis: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	wait := func(ctx context.Context) error {
		pool.MaxWait = 20 * time.Second
		return pool.Retry(func() error {
			if ctx.Err() != nil {
				return nil
			}
			return redisproc.Ping(addr, 200*time.Millisecond)
		})
	}
	if err := wait(ctx); err != nil {
		pool.Purge(res)
		return nil, fmt.Errorf("stack: docker redis did not answer: %w", err)
	}
	return &Redis{
		Backend: BackendDocker, URL: "redis://" + addr,
		kill: func() error {
			return pool.Client.KillContainer(dc.KillContainerOptions{ID: res.Container.ID, Signal: dc.SIGKILL})
		},
		start: func(ctx context.Context) error {
			if err := pool.Client.StartContainerWithContext(res.Container.ID, nil, ctx); err != nil {
				var already *dc.ContainerAlreadyRunning
				if !errors.As(err, &already) {
					return err
				}
			}
			if err := wait(ctx); err != nil {
				return err
			}
			return redisproc.FlushAll(addr)
		},
		close: func() error { return pool.Purge(res) },
	}, nil
}
