package doctor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/redisproc"
)

// ErrBadInput means doctor was given something it cannot use (a URL that does not parse,
// a users file without users): nothing was checked.
var ErrBadInput = errors.New("doctor: bad input")

// ErrUnreachable means the Redis or the target did not answer at all.
var ErrUnreachable = errors.New("doctor: unreachable")

// Defaults of RedisOptions.
const (
	DefaultPings        = 50
	DefaultRedisTimeout = time.Second
	// LowHitRatio is the keyspace hit ratio below which a Redis that has served at least
	// MinLookups lookups gets a finding.
	LowHitRatio = 0.5
	// MinLookups is how many keyspace lookups a hit ratio needs before it is judged.
	MinLookups = 1000
	// DefaultMaxReplicaLag is how far (seconds since its last acknowledgement, as INFO
	// replication reports) a replica may trail.
	DefaultMaxReplicaLag = 5
)

// RedisOptions tune CheckRedis. The zero value uses the defaults.
type RedisOptions struct {
	// Pings is how many PINGs time the round trip (p50, p99); default DefaultPings.
	Pings int
	// Timeout bounds each command and dial; default DefaultRedisTimeout, at most 1s (the
	// cache client's bound).
	Timeout time.Duration
	// MaxReplicaLag is how many seconds a master's replica may be behind; default
	// DefaultMaxReplicaLag.
	MaxReplicaLag int64
}

// dangerous are commands an application's Redis user must not be able to run: each
// either wipes the cache, blocks the server, or changes its configuration.
var dangerous = [][]any{
	{"FLUSHALL"}, {"FLUSHDB"}, {"KEYS", "*"}, {"CONFIG", "SET", "maxmemory", "0"}, {"SHUTDOWN"},
}

// CheckRedis inspects the Redis (single server, or every node of a Redis Cluster) that
// redisURL names, in any form the rest of the CLI takes (redis://, rediss://,
// redis+cluster://, comma-separated host:port of a cluster's nodes). It changes nothing.
// The error is ErrBadInput for a URL that does not parse and ErrUnreachable when no PING
// is answered; everything else that goes wrong is a finding or a fact.
func CheckRedis(ctx context.Context, redisURL string, o RedisOptions) (Section, error) {
	o.Pings = cmp.Or(o.Pings, DefaultPings)
	o.Timeout = min(cmp.Or(o.Timeout, DefaultRedisTimeout), time.Second)
	o.MaxReplicaLag = cmp.Or(o.MaxReplicaLag, DefaultMaxReplicaLag)
	sec := Section{Name: "redis", Subject: cache.RedactURL(redisURL)}
	var cfg cache.Config
	cfg.Redis.DialTimeout, cfg.Redis.ReadTimeout, cfg.Redis.WriteTimeout = o.Timeout, o.Timeout, o.Timeout
	cfg.Redis.PoolSize = 4
	client, err := cache.NewClient(redisURL, cfg)
	if err != nil {
		return sec, fmt.Errorf("%w: -redis: %w", ErrBadInput, err)
	}
	defer client.Close()

	nodes, tlsOn, firstAddr, err := nodeClients(ctx, client)
	if err != nil {
		return sec, fmt.Errorf("%w: redis %s: %w", ErrUnreachable, sec.Subject, err)
	}
	defer func() {
		for _, n := range nodes {
			if n.own {
				n.client.Close()
			}
		}
	}()
	// The round trip of the first node that answers (a cluster with a dead node is still
	// reachable: the dead node is a finding).
	var rtt [2]time.Duration
	for _, n := range nodes {
		if rtt, err = pings(ctx, n.client, o.Pings); err == nil {
			sec.Facts = append(sec.Facts, Fact{"ping", fmt.Sprintf("p50 %s, p99 %s over %d PINGs to %s", rtt[0], rtt[1], o.Pings, n.addr)})
			break
		}
	}
	if err != nil {
		return sec, fmt.Errorf("%w: redis %s: PING: %w", ErrUnreachable, sec.Subject, err)
	}
	if _, ok := client.(*redis.ClusterClient); ok {
		sec.Facts = append(sec.Facts, Fact{"mode", fmt.Sprintf("Redis Cluster, %d nodes", len(nodes))})
	} else {
		sec.Facts = append(sec.Facts, Fact{"mode", "single server"})
	}
	var findings []Finding
	for _, n := range nodes {
		facts, fs := checkNode(ctx, n.addr, n.client, o)
		sec.Facts = append(sec.Facts, facts...)
		findings = append(findings, fs...)
	}
	findings = append(findings, checkTLS(firstAddr, tlsOn, &sec)...)
	sec.Findings = merge(findings)
	return sec, nil
}

// pings times n PINGs and returns their p50 and p99.
func pings(ctx context.Context, c redis.UniversalClient, n int) ([2]time.Duration, error) {
	d := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := c.Ping(ctx).Err(); err != nil {
			return [2]time.Duration{}, err
		}
		d = append(d, time.Since(start))
	}
	slices.Sort(d)
	at := func(q float64) time.Duration {
		return d[min(len(d)-1, int(q*float64(len(d))))].Round(time.Microsecond)
	}
	return [2]time.Duration{at(0.50), at(0.99)}, nil
}

// node is one Redis server doctor reads directly.
type node struct {
	addr   string
	client *redis.Client
	own    bool // doctor made the client and closes it
}

// clusterAddrs returns the host:port of every node CLUSTER NODES lists that has an address
// and is not in a handshake (a failed node is listed too: reading it says it is down).
func clusterAddrs(text string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || strings.Contains(f[2], "noaddr") || strings.Contains(f[2], "handshake") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		addr, _, _ = strings.Cut(addr, ",")
		out = append(out, addr)
	}
	return out
}

// nodeClients returns a client per node (every master and replica of a cluster, sorted
// by address), whether the connection uses TLS, and the first address (for the TLS check).
func nodeClients(ctx context.Context, c redis.UniversalClient) (nodes []node, tlsOn bool, first string, err error) {
	switch c := c.(type) {
	case *redis.Client:
		return []node{{c.Options().Addr, c, false}}, c.Options().TLSConfig != nil, c.Options().Addr, nil
	case *redis.ClusterClient:
		o := c.Options()
		var mu sync.Mutex
		var seen []*redis.Client
		err := c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
			mu.Lock()
			seen = append(seen, n)
			mu.Unlock()
			return nil
		})
		if err != nil || len(seen) == 0 {
			return nil, false, "", fmt.Errorf("the cluster's nodes: %w", cmp.Or(err, errors.New("none known")))
		}
		// CLUSTER NODES (from the first node that answers) names every node, replicas
		// included, which the client's slot map may not list yet; each is read over its own
		// connection with the URL's credentials.
		var text string
		for _, n := range seen {
			if text, err = n.ClusterNodes(ctx).Result(); err == nil {
				break
			}
		}
		if err != nil {
			return nil, false, "", fmt.Errorf("CLUSTER NODES: %w", err)
		}
		for _, addr := range clusterAddrs(text) {
			nodes = append(nodes, node{addr, redis.NewClient(&redis.Options{
				Addr: addr, Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig,
				DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
				MaxRetries: -1, PoolSize: 1, DisableIdentity: true,
			}), true})
		}
		slices.SortFunc(nodes, func(a, b node) int { return strings.Compare(a.addr, b.addr) })
		first := ""
		if len(o.Addrs) > 0 {
			first = o.Addrs[0]
		}
		return nodes, o.TLSConfig != nil, first, nil
	}
	return nil, false, "", fmt.Errorf("unexpected client %T", c)
}

// config reads settings with CONFIG GET; a server that refuses CONFIG (an ACL, a managed
// service) gives an empty map and the reason.
func config(ctx context.Context, c *redis.Client, names ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		m, err := c.ConfigGet(ctx, n).Result()
		if err != nil {
			return out, err
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// checkNode reads one node's INFO, configuration and users.
func checkNode(ctx context.Context, addr string, c *redis.Client, o RedisOptions) ([]Fact, []Finding) {
	var facts []Fact
	var out []Finding
	add := func(sev Severity, id, what, why, fix string) {
		out = append(out, Finding{ID: id, Severity: sev, Where: addr, What: what, Why: why, Fix: fix})
	}
	info, err := c.Info(ctx, "server", "memory", "stats", "persistence", "replication", "cluster").Result()
	var rerr redis.Error
	switch {
	case errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "NOPERM"):
		return []Fact{{addr, "INFO refused: " + err.Error() + " (give doctor a user that may run INFO and CONFIG GET)"}}, nil
	case err != nil:
		return nil, []Finding{{ID: "redis.node-down", Severity: Problem, Where: addr, What: "the node does not answer: " + err.Error(),
			Why: "the keys of its slots can be neither cached nor invalidated until it is back or replaced",
			Fix: "restart the node or fail over to its replica; see its log"}}
	}
	field := func(name string) string { return strings.TrimSpace(redisproc.InfoField(info, name)) }
	num := func(name string) int64 { n, _ := strconv.ParseInt(field(name), 10, 64); return n }
	cluster := field("cluster_enabled") == "1"
	names := []string{"maxmemory", "maxmemory-policy", "save", "appendonly"}
	if cluster {
		names = append(names, "cluster-require-full-coverage")
	}
	conf, confErr := config(ctx, c, names...)
	if confErr != nil {
		facts = append(facts, Fact{addr + " config", "CONFIG GET refused (" + confErr.Error() + "): persistence and cluster settings from INFO only"})
	}

	role := field("role")
	maxmem, _ := strconv.ParseInt(cmp.Or(conf["maxmemory"], field("maxmemory")), 10, 64)
	policy := cmp.Or(conf["maxmemory-policy"], field("maxmemory_policy"))
	hits, misses, evicted := num("keyspace_hits"), num("keyspace_misses"), num("evicted_keys")
	persistence := persistenceOf(conf, field("aof_enabled"), confErr == nil)
	bound := "unbounded"
	if maxmem > 0 {
		bound = mib(maxmem)
	}
	facts = append(facts, Fact{addr, fmt.Sprintf("%s, redis %s, used %s of maxmemory %s (%s), %d evicted, keyspace hits %d / misses %d, persistence %s",
		role, field("redis_version"), mib(num("used_memory")), bound, policy, evicted, hits, misses, persistence)})

	if maxmem == 0 {
		add(Warning, "redis.maxmemory", "maxmemory is 0: memory is unbounded",
			"a cache grows with every key it ever stored until the host swaps or the OOM killer ends Redis, and then every request is a miss at once",
			"set a bound below the host's memory: CONFIG SET maxmemory 1gb (and maxmemory in redis.conf), with an evicting policy")
	}
	if policy == "noeviction" {
		add(Problem, "redis.maxmemory-policy", "maxmemory-policy is noeviction",
			"once maxmemory is reached every write is refused (OOM command not allowed): the cache stops filling, and invalidations that write (a generation INCR) fail, so users are bypassed or served stale entries",
			"CONFIG SET maxmemory-policy allkeys-lru (or allkeys-lfu for a skewed key set)")
	}
	if evicted > 0 {
		add(Warning, "redis.evictions", fmt.Sprintf("%d keys evicted since the server started", evicted),
			"maxmemory is smaller than the working set: each eviction is a later miss and a database query",
			"raise maxmemory, shorten the TTLs of the classes that hit least, or cache less per user")
	}
	if hits+misses >= MinLookups && float64(hits)/float64(hits+misses) < LowHitRatio {
		add(Warning, "redis.hit-ratio", fmt.Sprintf("keyspace hit ratio %.1f%% over %d lookups", 100*float64(hits)/float64(hits+misses), hits+misses),
			"more than half the cache's reads miss: the cache costs a round trip on most requests and saves few queries",
			"check the TTLs (too short?), maxmemory (evictions?) and whether keys are invalidated more often than read; `bench run` gives the hit rate per class")
	}
	if persistence != "off" && persistence != "unknown" {
		add(Warning, "redis.persistence", "persistence is on ("+persistence+")",
			"a restarted cache reloads a snapshot older than the invalidations made since it was taken, and serves those stale entries until their TTL; the fork of a save also stalls a large Redis",
			`CONFIG SET save "" and CONFIG SET appendonly no on a Redis used only as a cache`)
	}
	switch role {
	case "slave", "replica":
		if link := field("master_link_status"); link != "up" {
			add(Problem, "redis.replica-link", "this replica's link to its master is "+cmp.Or(link, "unknown"),
				"a replica that is not in sync serves old values to reads routed to it, and cannot take over its master's slots with current data",
				"check the master at master_host:master_port is reachable from the replica (replica's log, INFO replication)")
		}
	case "master":
		for i := range num("connected_slaves") {
			line := field("slave" + strconv.FormatInt(i, 10))
			state, lag := replicaState(line)
			if state != "online" || lag > o.MaxReplicaLag {
				add(Problem, "redis.replica-sync", fmt.Sprintf("replica %s is %s, %d s behind", line, state, lag),
					"reads sent to that replica (ReadFromReplicas) see values older than the invalidations the master acknowledged",
					"check the replica's link and load; with replica reads, wait for replicas (WAIT) before answering a write")
			}
		}
	}
	if cluster {
		if conf["cluster-require-full-coverage"] == "yes" {
			add(Problem, "redis.cluster-require-full-coverage", "cluster-require-full-coverage is yes (Redis's default)",
				"while one master is down and its slots are uncovered, EVERY node refuses every command: measured on a 3-master cluster, all 30 of 30 users bypassed the cache until the failover, against 8 (the dead shard's) with the setting off",
				"CONFIG SET cluster-require-full-coverage no on every node (and in redis.conf), so the live shards keep serving")
		}
		if state, err := c.ClusterInfo(ctx).Result(); err == nil {
			if s := strings.TrimSpace(redisproc.InfoField(state, "cluster_state")); s != "ok" {
				add(Problem, "redis.cluster-state", "cluster_state is "+s,
					"some slots have no reachable master: keys in them cannot be cached or invalidated",
					"bring the failed master back or fail over to its replica (CLUSTER FAILOVER on the replica)")
			}
		}
	}
	aclFacts, aclFindings := checkACL(ctx, addr, c)
	return append(facts, aclFacts...), append(out, aclFindings...)
}

// persistenceOf names the persistence a node has: "off", "rdb (save …)", "aof", both, or
// "unknown" when CONFIG GET was refused and INFO does not say.
func persistenceOf(conf map[string]string, aofInfo string, haveConf bool) string {
	var on []string
	if s := strings.TrimSpace(conf["save"]); s != "" {
		on = append(on, "rdb: save "+s)
	}
	if conf["appendonly"] == "yes" || (!haveConf && aofInfo == "1") {
		on = append(on, "aof")
	}
	if len(on) > 0 {
		return strings.Join(on, ", ")
	}
	if !haveConf {
		return "unknown"
	}
	return "off"
}

// replicaState reads state and lag from an INFO replication "slaveN" line
// ("ip=…,port=…,state=online,offset=…,lag=0").
func replicaState(line string) (state string, lag int64) {
	for _, kv := range strings.Split(line, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "state":
			state = v
		case "lag":
			lag, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return state, lag
}

// checkACL judges the server's users: the default user must not be on without a password,
// and no enabled user but the one doctor connects as (an operator's) may run the commands
// in dangerous. A user that may not read the ACL gets a fact, not a finding.
func checkACL(ctx context.Context, addr string, c *redis.Client) ([]Fact, []Finding) {
	me, err := c.Do(ctx, "ACL", "WHOAMI").Text()
	if err != nil {
		return []Fact{{addr + " acl", "not readable (" + err.Error() + ")"}}, nil
	}
	users, err := c.Do(ctx, "ACL", "USERS").StringSlice()
	if err != nil {
		return []Fact{{addr + " acl", "connected as " + me + "; users not readable (" + err.Error() + ")"}}, nil
	}
	var out []Finding
	var judged []string
	for _, u := range users {
		flags, err := aclFlags(ctx, c, u)
		if err != nil {
			return []Fact{{addr + " acl", "connected as " + me + "; ACL GETUSER " + u + ": " + err.Error()}}, nil
		}
		if !slices.Contains(flags, "on") {
			continue
		}
		if u == "default" && slices.Contains(flags, "nopass") {
			out = append(out, Finding{ID: "redis.acl-default-user", Severity: Problem, Where: addr,
				What: "the default user is on with no password",
				Why:  "any client that reaches the port is the default user and, unless its ACL says otherwise, may read every user's cached data, FLUSHALL the cache or reconfigure Redis",
				Fix:  "ACL SETUSER default off (or requirepass / ACL SETUSER default >password), and give the application its own user: ACL SETUSER app on >password ~app:* +@all -@dangerous"})
			continue
		}
		if u == me {
			continue
		}
		judged = append(judged, u)
		var allowed []string
		for _, cmd := range dangerous {
			args := append([]any{"ACL", "DRYRUN", u}, cmd...)
			if res, err := c.Do(ctx, args...).Text(); err == nil && res == "OK" {
				allowed = append(allowed, cmd[0].(string))
			}
		}
		if len(allowed) > 0 {
			out = append(out, Finding{ID: "redis.acl-dangerous", Severity: Warning, Where: addr,
				What: fmt.Sprintf("user %s may run %s", u, strings.Join(allowed, ", ")),
				Why:  "an application user that can flush, scan (KEYS blocks Redis) or reconfigure the cache turns one bug or one leaked password into an outage or a data leak",
				Fix:  "ACL SETUSER " + u + " -@dangerous (keep +@all for the cache's own commands) and limit its keys to the application's prefix (~app:*)"})
		}
	}
	others := "no other enabled user"
	if len(judged) > 0 {
		others = "judged " + strings.Join(judged, ", ")
	}
	return []Fact{{addr + " acl", fmt.Sprintf("connected as %s (not judged: doctor's own user); %s", me, others)}}, out
}

// aclFlags returns the flags of ACL GETUSER user (RESP2 list or RESP3 map).
func aclFlags(ctx context.Context, c *redis.Client, user string) ([]string, error) {
	v, err := c.Do(ctx, "ACL", "GETUSER", user).Result()
	if err != nil {
		return nil, err
	}
	var raw any
	switch v := v.(type) {
	case map[any]any:
		raw = v["flags"]
	case []any:
		for i := 0; i+1 < len(v); i += 2 {
			if v[i] == "flags" {
				raw = v[i+1]
			}
		}
	}
	list, _ := raw.([]any)
	flags := make([]string, 0, len(list))
	for _, f := range list {
		if s, ok := f.(string); ok {
			flags = append(flags, s)
		}
	}
	return flags, nil
}

// checkTLS says whether the connection is encrypted; plain text beyond loopback is a finding.
func checkTLS(addr string, tlsOn bool, sec *Section) []Finding {
	if tlsOn {
		sec.Facts = append(sec.Facts, Fact{"tls", "on (rediss://)"})
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		sec.Facts = append(sec.Facts, Fact{"tls", "off (loopback: nothing leaves the host)"})
		return nil
	}
	return []Finding{{ID: "redis.tls", Severity: Problem, Where: addr,
		What: "plain text (redis://) to " + host,
		Why:  "cached bodies (every user's data) and the Redis password cross the network readable by anyone on the path",
		Fix:  "enable TLS on Redis (tls-port, tls-cert-file, tls-key-file) and use a rediss:// URL; trust its CA with the cache config's redis.caCert"}}
}

// mib renders bytes as MiB with one decimal.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
