package stack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/redis/go-redis/v9"
)

// PreflightError is a component a run relies on that failed its preflight: it names the
// component, its address, what went wrong and what to do about it.
type PreflightError struct {
	Component string // "Redis", "PostgreSQL", "the target"
	Flag      string // the flag that names it: -redis, -db, -target, …
	Addr      string // the address reached for (a password hidden)
	Problem   string // what went wrong
	Fix       string // what to do
}

func (e *PreflightError) Error() string {
	return fmt.Sprintf("preflight: %s at %s (%s) %s: %s", e.Component, e.Addr, e.Flag, e.Problem, e.Fix)
}

// External reports whether a -redis spec names a Redis someone else runs (a URL or a
// Cluster's seeds) rather than one the stack starts.
func External(spec string) bool {
	switch strings.TrimSpace(spec) {
	case "", "auto", BackendProcess, BackendDocker, BackendEmbedded, BackendCluster:
		return false
	}
	return true
}

// PreflightRedis checks that the Redis spec names (a redis:// URL, a redis+cluster:// URL or
// a Cluster's host:port seeds) answers: every node, masters and replicas, answers PING, and
// a Cluster's nodes report cluster_state:ok. flag is what named it (-redis, -target-redis)
// and fix what the user should do when it does not answer. Each node gets one second to
// answer; the nodes are asked at once.
func PreflightRedis(ctx context.Context, flag, spec, fix string) error {
	addr := cache.RedactURL(spec)
	fail := func(problem string) error {
		return &PreflightError{Component: "Redis", Flag: flag, Addr: addr, Problem: problem, Fix: fix}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// A plain dial first: an address nothing listens on is named without go-redis's own
	// log lines about its pool.
	for _, a := range redisAddrs(spec) {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(ctx, "tcp", a)
		if err != nil {
			return fail("is not reachable: " + err.Error())
		}
		conn.Close()
	}
	var cfg cache.Config
	cfg.Redis.DialTimeout, cfg.Redis.ReadTimeout, cfg.Redis.WriteTimeout = time.Second, time.Second, time.Second
	client, err := cache.NewClient(spec, cfg)
	if err != nil {
		return fail(err.Error())
	}
	defer client.Close()
	cc, ok := client.(*redis.ClusterClient)
	if !ok {
		if err := client.Ping(ctx).Err(); err != nil {
			return fail("does not answer PING: " + err.Error())
		}
		return nil
	}
	// Every node the cluster knows, each asked on its own, so that one down node is named.
	var mu sync.Mutex
	var problems []string
	nodes := 0
	err = cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
		mu.Lock()
		nodes++
		mu.Unlock()
		node := c.Options().Addr
		problem := ""
		if err := c.Ping(ctx).Err(); err != nil {
			problem = fmt.Sprintf("node %s does not answer PING: %v", node, err)
		} else if info, err := c.ClusterInfo(ctx).Result(); err != nil {
			problem = fmt.Sprintf("node %s: CLUSTER INFO: %v", node, err)
		} else if !strings.Contains(info, "cluster_state:ok") {
			problem = fmt.Sprintf("node %s reports %s", node, clusterState(info))
		}
		if problem != "" {
			mu.Lock()
			problems = append(problems, problem)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return fail("cluster does not answer: " + err.Error())
	}
	if len(problems) > 0 {
		return fail(strings.Join(problems, "; "))
	}
	if nodes == 0 {
		return fail("cluster has no nodes")
	}
	return nil
}

// redisAddrs are the host:port addresses a Redis spec names (a URL's host and its addr=
// parameters, or a Cluster's seeds); none when it does not parse (the client reports that).
func redisAddrs(spec string) []string {
	var out []string
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "://") {
			part = "redis://" + part
		}
		u, err := url.Parse(part)
		if err != nil {
			continue
		}
		hosts := append([]string{u.Host}, u.Query()["addr"]...)
		for _, h := range hosts {
			if h == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(h); err != nil {
				h = net.JoinHostPort(h, "6379")
			}
			out = append(out, h)
		}
	}
	return out
}

// clusterState is the cluster_state line of CLUSTER INFO, or the whole text when it has none.
func clusterState(info string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if strings.HasPrefix(line, "cluster_state:") {
			return strings.TrimSpace(line)
		}
	}
	return strings.TrimSpace(info)
}

// PreflightPostgres checks that the PostgreSQL server dsn names answers within a few seconds
// and, with createDB, that its role may create the fresh database a mode runs on (CREATEDB
// or superuser). flag is what named it (-db, -target-db).
func PreflightPostgres(ctx context.Context, flag, dsn string, createDB bool) error {
	addr := cache.RedactURL(dsn)
	if u, err := url.Parse(dsn); err == nil {
		addr = u.Host
	}
	fail := func(problem, fix string) error {
		return &PreflightError{Component: "PostgreSQL", Flag: flag, Addr: addr, Problem: problem, Fix: fix}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return fail(err.Error(), "check the URL")
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		fix := "start PostgreSQL there, or run on SQLite (-db sqlite)"
		if flag != "-db" {
			fix = "check that " + flag + " names the database behind -target"
		}
		return fail("is not reachable: "+err.Error(), fix)
	}
	if !createDB {
		return nil
	}
	var may bool
	err = db.QueryRowContext(ctx, `SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&may)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fail("cannot read its role's privileges: "+err.Error(), "connect as a role that may read pg_roles")
	}
	if !may {
		return fail("refuses to create databases for this role",
			"connect as a role with CREATEDB (bench creates a fresh database per mode and drops it after)")
	}
	return nil
}
