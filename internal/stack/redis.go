package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/atlasbench/atlasbench/internal/faultproxy"
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
	BackendCluster  = "cluster"  // a Redis Cluster of child redis-server processes
)

// ClusterShape is the Redis Cluster the "cluster" backend starts. Zero Masters means 3,
// zero NodeTimeout 2s; Replicas is taken as given (0: none).
type ClusterShape struct {
	Masters     int
	Replicas    int
	NodeTimeout time.Duration
}

// DefaultClusterShape is what -redis cluster starts without a scenario's redis.cluster: 3
// masters with one replica each and a 2s node timeout.
var DefaultClusterShape = ClusterShape{Masters: 3, Replicas: 1, NodeTimeout: 2 * time.Second}

// RedisOptions say which Redis StartRedis brings up.
type RedisOptions struct {
	// Spec is auto (default), process, docker, embedded, cluster, a redis://, rediss:// or
	// redis+cluster:// URL, or comma-separated host:port seeds of an external Cluster.
	Spec string
	// Cluster is the shape of a "cluster" Redis; nil means DefaultClusterShape.
	Cluster *ClusterShape
	// Persistence is none (default) or aof (appendonly, fsync every second) for a Redis
	// the harness starts as a process (process or cluster).
	Persistence string
	// Proxies puts a fault proxy in front of every cluster node, announced to clients in
	// its place, so faults can be aimed at one node (the stack sets it; bench serve does not).
	Proxies bool
	// Memory limits the memory of a process or Docker Redis (maxmemory and policy); the
	// nodes of a cluster and an embedded or external Redis are left as they are.
	Memory Memory
	// Log receives progress; nil discards.
	Log *slog.Logger
}

// Memory is the memory limit of a Redis the harness starts: what a production cache
// runs with, so that a layer that leaves garbage shows evictions instead of growing.
type Memory struct {
	// MaxMemory is redis-server's maxmemory ("512mb", "2gb", bytes); "" or "0": no limit.
	MaxMemory string
	// Policy is maxmemory-policy (allkeys-lru, volatile-lru, allkeys-lfu, …); "" keeps Redis's default.
	Policy string
}

// DefaultMemory is the limit bench run gives the Redis it starts: 512 MiB, least
// recently used keys evicted first (the usual choice for a cache).
var DefaultMemory = Memory{MaxMemory: "512mb", Policy: "allkeys-lru"}

// policies are the maxmemory-policy values Redis knows.
var policies = []string{"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}

// maxMemoryShape is what redis-server accepts as a memory size.
var maxMemoryShape = regexp.MustCompile(`^(?i)[0-9]+(b|k|kb|m|mb|g|gb)?$`)

// Validate reports a MaxMemory or Policy redis-server would refuse.
func (m Memory) Validate() error {
	var errs []error
	if m.MaxMemory != "" && !maxMemoryShape.MatchString(m.MaxMemory) {
		errs = append(errs, fmt.Errorf("maxmemory %q: want a size such as 512mb, 2gb or 0 (no limit)", m.MaxMemory))
	}
	if m.Policy != "" && !slices.Contains(policies, m.Policy) {
		errs = append(errs, fmt.Errorf("maxmemory-policy %q: want one of %s", m.Policy, strings.Join(policies, ", ")))
	}
	return errors.Join(errs...)
}

// args are the redis-server arguments of m.
func (m Memory) args() []string {
	var a []string
	if m.MaxMemory != "" {
		a = append(a, "--maxmemory", m.MaxMemory)
	}
	if m.Policy != "" {
		a = append(a, "--maxmemory-policy", m.Policy)
	}
	return a
}

// EmbeddedNote is the loud caveat every report of an embedded-Redis run carries.
const EmbeddedNote = "Redis was embedded (miniredis, in the harness process): latencies are not representative; install redis-server for real figures"

// Redis is the Redis a run uses, with the controls fault injection needs.
type Redis struct {
	Backend string
	// URL is what the server's -redis gets: a redis:// URL, or for a cluster the
	// comma-separated announced addresses of its nodes.
	URL  string
	Note string // a caveat for the report, if any
	// Cluster is the harness-started cluster (BackendCluster); nil otherwise.
	Cluster *redisproc.Cluster
	// Proxies are the fault proxies in front of the cluster's nodes, by node name
	// (RedisOptions.Proxies); nil otherwise.
	Proxies map[string]*faultproxy.Proxy

	kill  func() error
	start func(ctx context.Context) error
	close func() error
	pids  func() []int
}

// Pids are the process IDs of the Redis nodes the harness runs as child processes (none
// for other backends, or while killed).
func (r *Redis) Pids() []int {
	if r.pids == nil {
		return nil
	}
	return r.pids()
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

// StartRedis brings up Redis per o.Spec: "auto" (a child redis-server when the binary
// exists, else Docker when an engine answers, else embedded), "process", "docker",
// "embedded", "cluster" (a Redis Cluster of child processes, o.Cluster), or a redis://,
// rediss:// or redis+cluster:// URL, or comma-separated host:port seeds, of a Redis
// someone else runs.
func StartRedis(ctx context.Context, o RedisOptions) (*Redis, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	spec := strings.TrimSpace(o.Spec)
	if o.Persistence != "" && o.Persistence != redisproc.PersistenceNone && o.Persistence != redisproc.PersistenceAOF {
		return nil, fmt.Errorf("stack: redis persistence %q: want none or aof", o.Persistence)
	}
	switch spec {
	case "", "auto":
		if _, err := redisproc.Binary(); err == nil {
			return startProcess(ctx, o.Persistence, o.Memory)
		}
		if err := DockerAvailable(ctx); err == nil {
			log.Info("redis-server not found; using Docker")
			return startDocker(ctx, o.Memory)
		} else {
			log.Warn("redis-server not found and no Docker engine; using embedded miniredis", "docker", err)
		}
		return startEmbedded()
	case BackendProcess:
		return startProcess(ctx, o.Persistence, o.Memory)
	case BackendCluster:
		return startCluster(ctx, o, log)
	case BackendDocker:
		if err := DockerAvailable(ctx); err != nil {
			return nil, err
		}
		return startDocker(ctx, o.Memory)
	case BackendEmbedded:
		return startEmbedded()
	}
	// Anything else is a server someone else runs: a URL or a Cluster's seeds.
	if err := CheckRedis(spec); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	return &Redis{Backend: BackendExternal, URL: spec}, nil
}

func startProcess(ctx context.Context, persistence string, mem Memory) (*Redis, error) {
	opts := redisproc.Options{Persistence: persistence, Args: mem.args()}
	var dir string
	if persistence == redisproc.PersistenceAOF {
		var err error
		if dir, err = os.MkdirTemp("", "atlasbench-redis-"); err != nil {
			return nil, fmt.Errorf("stack: redis dir: %w", err)
		}
		opts.Dir = dir
	}
	s, err := redisproc.Start(ctx, opts)
	if err != nil {
		if dir != "" {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	stop := s.Stop
	if dir != "" {
		stop = func() error { return errors.Join(s.Stop(), os.RemoveAll(dir)) }
	}
	return &Redis{Backend: BackendProcess, URL: s.URL(), kill: s.Kill, start: s.Start, close: stop,
		pids: func() []int { return []int{s.Pid()} }}, nil
}

// startCluster starts a Redis Cluster of child processes, each node behind its own fault
// proxy when o.Proxies is set.
func startCluster(ctx context.Context, o RedisOptions, log *slog.Logger) (*Redis, error) {
	shape := DefaultClusterShape
	if o.Cluster != nil {
		shape = *o.Cluster
	}
	r := &Redis{Backend: BackendCluster}
	copts := redisproc.ClusterOptions{Masters: shape.Masters, Replicas: shape.Replicas, NodeTimeout: shape.NodeTimeout, Persistence: o.Persistence}
	if o.Proxies {
		r.Proxies = map[string]*faultproxy.Proxy{}
		copts.Announce = func(ctx context.Context, name, addr string) (string, error) {
			p, err := faultproxy.Start(ctx, addr, log.With("node", name))
			if err != nil {
				return "", err
			}
			r.Proxies[name] = p
			return p.Addr(), nil
		}
	}
	closeProxies := func() error {
		var errs []error
		for _, p := range r.Proxies {
			errs = append(errs, p.Close())
		}
		return errors.Join(errs...)
	}
	c, err := redisproc.StartCluster(ctx, copts)
	if err != nil {
		closeProxies()
		return nil, fmt.Errorf("stack: redis cluster: %w", err)
	}
	log.Info("redis cluster up", "masters", c.MasterCount(), "replicas", c.ReplicaCount(), "node_timeout", c.NodeTimeout(), "seeds", c.Seeds())
	r.Cluster = c
	r.URL = strings.Join(c.Seeds(), ",")
	r.kill = func() error {
		var errs []error
		for _, n := range c.Nodes() {
			errs = append(errs, n.Kill())
		}
		return errors.Join(errs...)
	}
	r.start = func(ctx context.Context) error {
		for _, n := range c.Nodes() {
			if err := n.Start(ctx); err != nil {
				return fmt.Errorf("stack: start %s: %w", n.Name, err)
			}
		}
		return nil
	}
	r.close = func() error { return errors.Join(c.Stop(), closeProxies()) }
	r.pids = func() []int {
		var pids []int
		for _, n := range c.Nodes() {
			pids = append(pids, n.Pid())
		}
		return pids
	}
	return r, nil
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

func startDocker(ctx context.Context, mem Memory) (*Redis, error) {
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
		Cmd:          append([]string{"redis-server", "--save", "", "--appendonly", "no"}, mem.args()...),
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
