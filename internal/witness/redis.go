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
	Hits   uint64            // keyspace_hits
	Misses uint64            // keyspace_misses
	Calls  map[string]uint64 // INFO commandstats calls by command ("client|setinfo" for subcommands)
	RunIDs []string          // run_id per node: a different one later means the node restarted
	// UsedMemory is used_memory (bytes), MaxMemory maxmemory (bytes, 0: no limit) and
	// Evicted evicted_keys, summed over the nodes; Policy is maxmemory_policy (the first node's).
	UsedMemory, MaxMemory, Evicted uint64
	Policy                         string
	// Connections is total_connections_received: connections the nodes accepted since they started.
	Connections uint64
}

// Sub returns c - before, command by command; restarted is true when a node's run_id
// changed (its counters started again from zero, so the difference means nothing).
func (c RedisCounters) Sub(before RedisCounters) (d RedisCounters, restarted bool) {
	d = RedisCounters{Nodes: c.Nodes, Hits: c.Hits - before.Hits, Misses: c.Misses - before.Misses, Calls: map[string]uint64{}, RunIDs: c.RunIDs}
	if c.Connections >= before.Connections {
		d.Connections = c.Connections - before.Connections
	}
	for name, n := range c.Calls {
		if n >= before.Calls[name] {
			d.Calls[name] = n - before.Calls[name]
		}
	}
	restarted = len(c.RunIDs) != len(before.RunIDs) || c.Hits < before.Hits || c.Misses < before.Misses
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
		case k == "total_connections_received":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return c, fmt.Errorf("witness: INFO %s %q: %w", k, v, err)
			}
			c.Connections = n
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

// Read returns the counters summed over every node, in a fixed node order.
func (r *Redis) Read(ctx context.Context) (RedisCounters, error) {
	sum := RedisCounters{Calls: map[string]uint64{}}
	add := func(text string) error {
		c, err := ParseInfo(text)
		if err != nil {
			return err
		}
		sum.Nodes++
		sum.Hits += c.Hits
		sum.Misses += c.Misses
		for name, n := range c.Calls {
			sum.Calls[name] += n
		}
		sum.RunIDs = append(sum.RunIDs, c.RunIDs...)
		sum.UsedMemory += c.UsedMemory
		sum.MaxMemory += c.MaxMemory
		sum.Evicted += c.Evicted
		sum.Connections += c.Connections
		if sum.Policy == "" {
			sum.Policy = c.Policy
		}
		return nil
	}
	for i, c := range r.clients {
		text, err := c.Info(ctx, "server", "memory", "stats", "commandstats").Result()
		if err != nil {
			return sum, fmt.Errorf("witness: INFO from %s: %w", cache.RedactURL(r.urls[i]), err)
		}
		if err := add(text); err != nil {
			return sum, err
		}
	}
	if r.cluster != nil {
		var mu sync.Mutex
		texts := map[string]string{}
		err := r.cluster.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
			text, err := c.Info(ctx, "server", "memory", "stats", "commandstats").Result()
			mu.Lock()
			texts[c.Options().Addr] = text
			mu.Unlock()
			return err
		})
		if err != nil {
			return sum, fmt.Errorf("witness: INFO from the cluster's nodes: %w", err)
		}
		for _, addr := range sortedKeys(texts) {
			if err := add(texts[addr]); err != nil {
				return sum, fmt.Errorf("%w (node %s)", err, addr)
			}
		}
	}
	return sum, nil
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
