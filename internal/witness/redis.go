package witness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/redisproc"
)

// RedisCounters are Redis's own counters, summed over the nodes read.
type RedisCounters struct {
	Nodes  int
	Hits   uint64 // keyspace_hits
	Misses uint64 // keyspace_misses
	// Calls are the INFO commandstats calls by command ("client|setinfo" for subcommands)
	// that clients sent: not the replication stream (a replica re-runs every write of its
	// master, MULTI/EXEC included, and counts it; a master counts its replicas' REPLCONF
	// ACKs), so a replica's count holds only its read-only commands, the reads clients sent
	// it.
	Calls   map[string]uint64
	RunIDs  []string // run_id per node: a different one later means the node restarted
	Replica bool     // one node's (ParseInfo): its role is replica
	// UsedMemory is used_memory (bytes), MaxMemory maxmemory (bytes, 0: no limit) and
	// Evicted evicted_keys, summed over the nodes; Policy is maxmemory_policy (the first node's).
	UsedMemory, MaxMemory, Evicted uint64
	Policy                         string
	// Connections is total_connections_received: connections the nodes accepted since they started.
	Connections uint64
	// CPUSeconds is used_cpu_sys + used_cpu_user (Redis's own CPU time) and Commands
	// total_commands_processed, summed over the nodes.
	CPUSeconds float64
	Commands   uint64

	// nodes are each node's counters by address (Read), which Sub subtracts node by node.
	nodes map[string]nodeCalls
}

// nodeCalls is what one node counted: its commands (replication traffic left out) and,
// of those, the read-only ones (what clients may send a replica).
type nodeCalls struct {
	runID       string
	replica     bool
	calls, read map[string]uint64
}

// replication are the commands of the replication link between a master and its replicas.
func replication(name string) bool {
	return name == "replconf" || name == "psync" || name == "sync"
}

// Sub returns c - before, command by command; restarted is true when a node's run_id
// changed (its counters started again from zero, so the difference means nothing). Read
// counters are subtracted node by node: a node that was a replica at either end (a failover
// between them) counts only its read-only commands, the others every command.
func (c RedisCounters) Sub(before RedisCounters) (d RedisCounters, restarted bool) {
	d = RedisCounters{Nodes: c.Nodes, Hits: c.Hits - before.Hits, Misses: c.Misses - before.Misses, Calls: map[string]uint64{}, RunIDs: c.RunIDs}
	if c.Connections >= before.Connections {
		d.Connections = c.Connections - before.Connections
	}
	sub := func(after, before map[string]uint64) {
		for name, n := range after {
			if n >= before[name] {
				d.Calls[name] += n - before[name]
			}
		}
	}
	if c.nodes == nil || before.nodes == nil {
		sub(c.Calls, before.Calls)
	}
	for addr, a := range c.nodes {
		b, ok := before.nodes[addr]
		switch {
		case !ok || a.runID != b.runID:
			restarted = true
		case a.replica || b.replica:
			sub(a.read, b.read)
		default:
			sub(a.calls, b.calls)
		}
	}
	restarted = restarted || len(c.RunIDs) != len(before.RunIDs) || c.Hits < before.Hits || c.Misses < before.Misses
	for i := range c.RunIDs {
		if i < len(before.RunIDs) && c.RunIDs[i] != before.RunIDs[i] {
			restarted = true
		}
	}
	return d, restarted
}

// ParseInfo reads the counters of one node from the text of INFO server, stats and
// commandstats.
func ParseInfo(text string) (RedisCounters, error) {
	c := RedisCounters{Nodes: 1, Calls: map[string]uint64{}}
	var haveHits, haveMisses bool
	for k, v := range redisproc.ParseInfo(text) {
		switch {
		case k == "run_id":
			c.RunIDs = []string{v}
		case k == "used_memory" || k == "maxmemory" || k == "evicted_keys":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return c, fmt.Errorf("witness: INFO %s %q: %w", k, v, err)
			}
			switch k {
			case "used_memory":
				c.UsedMemory = n
			case "maxmemory":
				c.MaxMemory = n
			default:
				c.Evicted = n
			}
		case k == "maxmemory_policy":
			c.Policy = v
		case k == "used_cpu_sys" || k == "used_cpu_user":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return c, fmt.Errorf("witness: INFO %s %q: %w", k, v, err)
			}
			c.CPUSeconds += f
		case k == "total_commands_processed":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return c, fmt.Errorf("witness: INFO %s %q: %w", k, v, err)
			}
			c.Commands = n
		case k == "total_connections_received":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return c, fmt.Errorf("witness: INFO %s %q: %w", k, v, err)
			}
			c.Connections = n
		case k == "role":
			c.Replica = v == "slave"
		case strings.HasPrefix(k, "cmdstat_") && replication(strings.TrimPrefix(k, "cmdstat_")):
			// the replication link's, not a client's
		case k == "keyspace_hits":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return c, fmt.Errorf("witness: INFO keyspace_hits %q: %w", v, err)
			}
			c.Hits, haveHits = n, true
		case k == "keyspace_misses":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return c, fmt.Errorf("witness: INFO keyspace_misses %q: %w", v, err)
			}
			c.Misses, haveMisses = n, true
		case strings.HasPrefix(k, "cmdstat_"):
			// cmdstat_get:calls=12,usec=30,usec_per_call=2.50,rejected_calls=0,failed_calls=0
			for field := range strings.SplitSeq(v, ",") {
				if n, ok := strings.CutPrefix(field, "calls="); ok {
					calls, err := strconv.ParseUint(n, 10, 64)
					if err != nil {
						return c, fmt.Errorf("witness: INFO %s %q: %w", k, v, err)
					}
					c.Calls[strings.TrimPrefix(k, "cmdstat_")] = calls
				}
			}
		}
	}
	if !haveHits || !haveMisses {
		return c, errors.New("witness: INFO has no keyspace_hits/keyspace_misses (not a Redis server?)")
	}
	return c, nil
}

// Redis reads INFO from a fixed set of Redis nodes.
type Redis struct {
	urls    []string // of clients, index for index
	clients []*redis.Client
	cluster *redis.ClusterClient
	// readOnly are the commands flagged readonly (COMMAND), read once from the first replica
	// met: the commands clients may send a replica.
	readOnly map[string]bool
}

// info reads the INFO sections the witness parses from one node.
func info(ctx context.Context, c *redis.Client) (string, error) {
	return c.Info(ctx, "server", "replication", "memory", "stats", "cpu", "commandstats").Result()
}

// NewRedis returns a reader of the nodes urls name: redis:// or rediss:// URLs of single
// nodes, host:port lists separated by commas (a cluster's nodes, as the stack names a
// cluster it started: each node is read directly), or one redis+cluster://
// (rediss+cluster://) URL whose every node is read.
func NewRedis(urls []string) (*Redis, error) {
	r := &Redis{}
	var each []string
	for _, u := range urls {
		if !strings.Contains(u, "://") && strings.Contains(u, ",") {
			each = append(each, strings.Split(u, ",")...)
		} else {
			each = append(each, u)
		}
	}
	for _, u := range each {
		if u == "" {
			continue
		}
		if scheme, rest, ok := strings.Cut(u, "+cluster://"); ok && (scheme == "redis" || scheme == "rediss") {
			opt, err := redis.ParseClusterURL(scheme + "://" + rest)
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("witness: Redis URL %s: %w", cache.RedactURL(u), err)
			}
			opt.DisableIdentity = true
			r.cluster = redis.NewClusterClient(opt)
			continue
		}
		if !strings.Contains(u, "://") {
			u = "redis://" + u
		}
		opt, err := redis.ParseURL(u)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("witness: Redis URL %s: %w", cache.RedactURL(u), err)
		}
		// No HELLO or CLIENT SETINFO: the witness should add as little as it can to what it reads.
		opt.Protocol, opt.DisableIdentity, opt.MaxRetries, opt.PoolSize = 2, true, -1, 2
		r.urls = append(r.urls, u)
		r.clients = append(r.clients, redis.NewClient(opt))
	}
	return r, nil
}

// Read returns the counters summed over every node, in a fixed node order: each master's
// commands, and each replica's read-only ones (what clients sent it; the rest is its
// master's replication stream).
func (r *Redis) Read(ctx context.Context) (RedisCounters, error) {
	sum := RedisCounters{Calls: map[string]uint64{}, nodes: map[string]nodeCalls{}}
	add := func(ctx context.Context, c *redis.Client, addr, text string) error {
		n, err := ParseInfo(text)
		if err != nil {
			return err
		}
		node := nodeCalls{replica: n.Replica, calls: n.Calls}
		if len(n.RunIDs) == 1 {
			node.runID = n.RunIDs[0]
		}
		if n.Replica && r.readOnly == nil {
			if r.readOnly, err = readOnlyCommands(ctx, c); err != nil {
				return err
			}
		}
		if r.readOnly != nil {
			node.read = map[string]uint64{}
			for name, calls := range n.Calls {
				if r.readOnly[name] {
					node.read[name] = calls
				}
			}
		}
		counted := node.calls
		if node.replica {
			counted = node.read
		}
		sum.nodes[addr] = node
		sum.Nodes++
		sum.Hits += n.Hits
		sum.Misses += n.Misses
		for name, calls := range counted {
			sum.Calls[name] += calls
		}
		sum.RunIDs = append(sum.RunIDs, n.RunIDs...)
		sum.UsedMemory += n.UsedMemory
		sum.MaxMemory += n.MaxMemory
		sum.Evicted += n.Evicted
		sum.Connections += n.Connections
		sum.CPUSeconds += n.CPUSeconds
		sum.Commands += n.Commands
		if sum.Policy == "" {
			sum.Policy = n.Policy
		}
		return nil
	}
	for i, c := range r.clients {
		text, err := info(ctx, c)
		if err != nil {
			return sum, fmt.Errorf("witness: INFO from %s: %w", cache.RedactURL(r.urls[i]), err)
		}
		if err := add(ctx, c, c.Options().Addr, text); err != nil {
			return sum, fmt.Errorf("%w (node %s)", err, cache.RedactURL(r.urls[i]))
		}
	}
	if r.cluster != nil {
		var mu sync.Mutex
		texts := map[string]string{}
		clients := map[string]*redis.Client{}
		err := r.cluster.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
			text, err := info(ctx, c)
			mu.Lock()
			texts[c.Options().Addr], clients[c.Options().Addr] = text, c
			mu.Unlock()
			return err
		})
		if err != nil {
			return sum, fmt.Errorf("witness: INFO from the cluster's nodes: %w", err)
		}
		for _, addr := range sortedKeys(texts) {
			if err := add(ctx, clients[addr], addr, texts[addr]); err != nil {
				return sum, fmt.Errorf("%w (node %s)", err, addr)
			}
		}
	}
	return sum, nil
}

// readOnlyCommands are the commands a node's COMMAND flags readonly, lower case as INFO
// commandstats names them.
func readOnlyCommands(ctx context.Context, c *redis.Client) (map[string]bool, error) {
	cmds, err := c.Command(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("witness: COMMAND (which commands a replica may serve): %w", err)
	}
	out := map[string]bool{}
	for name, info := range cmds {
		if info.ReadOnly {
			out[strings.ToLower(name)] = true
		}
	}
	return out, nil
}

// Close releases the connections.
func (r *Redis) Close() {
	for _, c := range r.clients {
		c.Close()
	}
	if r.cluster != nil {
		r.cluster.Close()
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func mapsKeys(m map[string]bool) func(func(string) bool) { return maps.Keys(m) }
