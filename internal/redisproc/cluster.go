package redisproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Slots is the number of hash slots of a Redis Cluster.
const Slots = 16384

// Defaults of ClusterOptions.
const (
	DefaultMasters          = 3
	DefaultNodeTimeout      = 2 * time.Second
	DefaultClusterStartWait = 60 * time.Second
	busPortOffset           = 10000 // the cluster bus listens on port+10000
)

// Node roles, as Topology reports them.
const (
	RoleMaster  = "master"
	RoleReplica = "replica"
)

// ClusterOptions configure a child Redis Cluster. The zero value is 3 masters without
// replicas, a 2s node timeout and no persistence.
type ClusterOptions struct {
	// Binary is the redis-server executable; default: redis-server from PATH.
	Binary string
	// Masters is the number of slot ranges, each with a master; default 3, at most 16.
	Masters int
	// Replicas is the number of replicas per master; 0 means none, at most 4.
	Replicas int
	// NodeTimeout is cluster-node-timeout: how long a master may be unreachable before
	// its replica is promoted; default 2s, at least 100ms.
	NodeTimeout time.Duration
	// Persistence is PersistenceNone (default) or PersistenceAOF, for every node.
	Persistence string
	// Announce, when set, is called with each node's name and address before the node
	// starts and returns the host:port the node announces to clients (in CLUSTER SLOTS
	// and MOVED redirections), e.g. a fault proxy in front of it. The cluster bus is
	// announced at the node's own bus port, so gossip and failover never pass through it.
	Announce func(ctx context.Context, name, addr string) (string, error)
	// StartTimeout bounds the wait for cluster_state:ok and replicas in sync; default 60s.
	StartTimeout time.Duration
	// Args are extra arguments for every node, after the cluster's own (a setting given
	// again wins: "--cluster-require-full-coverage", "yes").
	Args []string
}

// Node is one node of a Cluster. Name is its role at creation: master-1 … master-N
// own the slot ranges in order, replica-K replicates master-((K-1) mod N + 1); after a
// failover a node keeps its name while its role changes (see Cluster.Topology).
type Node struct {
	*Server
	Name string
	// Announced is the host:port clients are sent to (Addr() when there is no Announce).
	Announced string
	// Range is the 1-based index of the slot range the node serves or replicates at creation.
	Range int
	id    string
	// admin runs the cluster's admin commands and polls on this node over kept connections
	// (at most two, for callers at once; go-redis redials after a kill or restart, and its
	// pool drops a connection the server closed before reusing it).
	admin *redis.Client
}

// Cluster is a Redis Cluster of child redis-server processes on loopback. Its methods are
// safe for concurrent use.
type Cluster struct {
	opts  ClusterOptions
	dir   string
	nodes []*Node
	once  sync.Once
}

// NodeState is one node as Topology sees it.
type NodeState struct {
	Name      string
	Addr      string // the announced address
	Role      string // RoleMaster or RoleReplica; the creation role when the node is down
	Range     int    // 1-based slot range at creation
	Up        bool
	Keys      int64 // DBSIZE; 0 when down
	UsedBytes int64 // INFO memory used_memory; 0 when down
}

// StartCluster launches Masters×(1+Replicas) nodes with --cluster-enabled yes on free
// loopback ports (each with its bus port, port+10000, free and <= 65535), gives every
// master an equal slot range, joins them (CLUSTER MEET), attaches the replicas (CLUSTER
// REPLICATE) and waits until every node reports cluster_state:ok and every replica is in
// sync. A slot range losing its master does not stop the others (cluster-require-full-coverage
// no). On error everything started is stopped; otherwise the caller calls Stop.
func StartCluster(ctx context.Context, opts ClusterOptions) (c *Cluster, err error) {
	if opts.Masters == 0 {
		opts.Masters = DefaultMasters
	}
	if opts.NodeTimeout == 0 {
		opts.NodeTimeout = DefaultNodeTimeout
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultClusterStartWait
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Binary == "" {
		if opts.Binary, err = Binary(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "atlasbench-cluster-")
	if err != nil {
		return nil, fmt.Errorf("redisproc: cluster dir: %w", err)
	}
	c = &Cluster{opts: opts, dir: dir}
	defer func() {
		if err != nil {
			c.Stop()
			c = nil
		}
	}()
	for i := range opts.Masters * (1 + opts.Replicas) {
		name, rng := fmt.Sprintf("master-%d", i+1), i+1
		if i >= opts.Masters {
			k := i - opts.Masters
			name, rng = fmt.Sprintf("replica-%d", k+1), k%opts.Masters+1
		}
		n, err := c.startNode(ctx, name, rng)
		if err != nil {
			return c, err
		}
		c.nodes = append(c.nodes, n)
	}
	wctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := c.create(wctx); err != nil {
		return c, fmt.Errorf("redisproc: cluster: %w", err)
	}
	if err := c.WaitHealthy(wctx); err != nil {
		return c, err
	}
	return c, nil
}

func (o ClusterOptions) validate() error {
	var errs []error
	if o.Masters < 1 || o.Masters > 16 {
		errs = append(errs, fmt.Errorf("masters must be 1…16, got %d", o.Masters))
	}
	if o.Replicas < 0 || o.Replicas > 4 {
		errs = append(errs, fmt.Errorf("replicas must be 0…4, got %d", o.Replicas))
	}
	if o.NodeTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("node timeout must be >= 100ms, got %s", o.NodeTimeout))
	}
	if o.Persistence != "" && o.Persistence != PersistenceNone && o.Persistence != PersistenceAOF {
		errs = append(errs, fmt.Errorf("persistence must be none or aof, got %q", o.Persistence))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redisproc: cluster: %w", err)
	}
	return nil
}

// startNode picks a port whose bus port is free too, asks for the announced address
// and starts the node in its own directory (its nodes.conf survives a kill, so a
// restarted node rejoins the cluster).
func (c *Cluster) startNode(ctx context.Context, name string, rng int) (*Node, error) {
	dir := filepath.Join(c.dir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("redisproc: cluster: %w", err)
	}
	port, err := clusterPort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	announced := addr
	if c.opts.Announce != nil {
		if announced, err = c.opts.Announce(ctx, name, addr); err != nil {
			return nil, fmt.Errorf("redisproc: cluster node %s: announce: %w", name, err)
		}
	}
	ahost, aport, err := net.SplitHostPort(announced)
	if err != nil {
		return nil, fmt.Errorf("redisproc: cluster node %s: announced address %q: %w", name, announced, err)
	}
	args := []string{
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", strconv.FormatInt(c.opts.NodeTimeout.Milliseconds(), 10),
		"--cluster-require-full-coverage", "no",
		// A replica (or a restarted old master) syncs at once, not after the default 5s.
		"--repl-diskless-sync-delay", "0",
		// A replica whose link to its master is down answers reads with -MASTERDOWN instead of
		// its old data: with replica reads, a node restarted from its AOF must not serve the
		// counters it had before the writes its slot range took while it was away.
		"--replica-serve-stale-data", "no",
		"--cluster-announce-ip", ahost, "--cluster-announce-port", aport,
		"--cluster-announce-bus-port", strconv.Itoa(port + busPortOffset),
	}
	args = append(args, c.opts.Args...)
	s, err := Start(ctx, Options{Binary: c.opts.Binary, Port: port, Args: args, Dir: dir, Persistence: c.opts.Persistence})
	if err != nil {
		return nil, fmt.Errorf("redisproc: cluster node %s: %w", name, err)
	}
	return &Node{Server: s, Name: name, Announced: announced, Range: rng, admin: adminClient(addr, 2)}, nil
}

// clusterPort returns a free loopback port whose bus port (port+10000) is free as well.
func clusterPort() (int, error) {
	for range 50 {
		port, err := FreePort()
		if err != nil {
			return 0, err
		}
		if port+busPortOffset > 65535 {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+busPortOffset)))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("redisproc: cluster: no free port with a free bus port (port+10000 <= 65535) after 50 tries")
}

// create assigns slots, joins the nodes and attaches the replicas.
func (c *Cluster) create(ctx context.Context) error {
	for _, n := range c.nodes {
		id, err := c.do(ctx, n, "CLUSTER", "MYID").Text()
		if err != nil {
			return fmt.Errorf("%s: CLUSTER MYID: %w", n.Name, err)
		}
		n.id = id
	}
	for i, n := range c.Masters() {
		lo, hi := SlotRange(i+1, c.opts.Masters)
		if err := c.do(ctx, n, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			return fmt.Errorf("%s: CLUSTER ADDSLOTSRANGE %d %d: %w", n.Name, lo, hi, err)
		}
		// Distinct epochs up front, as redis-cli --cluster create does.
		if err := c.do(ctx, n, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return fmt.Errorf("%s: CLUSTER SET-CONFIG-EPOCH: %w", n.Name, err)
		}
	}
	first := c.nodes[0]
	for _, n := range c.nodes[1:] {
		if err := c.do(ctx, first, "CLUSTER", "MEET", "127.0.0.1", n.Port(), n.Port()+busPortOffset).Err(); err != nil {
			return fmt.Errorf("CLUSTER MEET %s: %w", n.Name, err)
		}
	}
	// A replica can attach only once it knows its master.
	for _, n := range c.nodes {
		if strings.HasPrefix(n.Name, "replica-") {
			if err := c.waitKnown(ctx, n); err != nil {
				return err
			}
			m := c.nodes[n.Range-1]
			if err := c.do(ctx, n, "CLUSTER", "REPLICATE", m.id).Err(); err != nil {
				return fmt.Errorf("%s: CLUSTER REPLICATE %s: %w", n.Name, m.Name, err)
			}
		}
	}
	return nil
}

// waitKnown waits until n knows every node of the cluster (the gossip of MEET arrived).
func (c *Cluster) waitKnown(ctx context.Context, n *Node) error {
	return poll(ctx, func() error {
		out, err := c.do(ctx, n, "CLUSTER", "NODES").Text()
		if err != nil {
			return err
		}
		for _, m := range c.nodes {
			if !strings.Contains(out, m.id) {
				return fmt.Errorf("%s does not know %s yet", n.Name, m.Name)
			}
		}
		if strings.Contains(out, "handshake") {
			return fmt.Errorf("%s: handshake in progress", n.Name)
		}
		return nil
	})
}

// WaitHealthy waits until every running node reports cluster_state:ok with every slot
// assigned, every running replica's link to its master is up and not syncing, and every
// running node's CLUSTER SLOTS lists every running replica: gossip brings a replica into the
// other nodes' views seconds after it is in sync, and until then a client that loads the
// topology from them (go-redis does, from any node) sends every read to the masters.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	return poll(ctx, func() error {
		var replicas []string // the running replicas' node IDs
		for _, n := range c.nodes {
			if !n.Running() {
				continue
			}
			info, err := c.do(ctx, n, "CLUSTER", "INFO").Text()
			if err != nil {
				return fmt.Errorf("%s: CLUSTER INFO: %w", n.Name, err)
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") {
				return fmt.Errorf("%s: cluster_state not ok", n.Name)
			}
			repl, err := c.do(ctx, n, "INFO", "replication").Text()
			if err != nil {
				return fmt.Errorf("%s: INFO replication: %w", n.Name, err)
			}
			if InfoField(repl, "role") == "slave" {
				if InfoField(repl, "master_link_status") != "up" || InfoField(repl, "master_sync_in_progress") != "0" {
					return fmt.Errorf("%s: replica not in sync with its master", n.Name)
				}
				replicas = append(replicas, n.id)
			}
		}
		for _, n := range c.nodes {
			if !n.Running() {
				continue
			}
			slots, err := n.admin.ClusterSlots(ctx).Result()
			if err != nil {
				return fmt.Errorf("%s: CLUSTER SLOTS: %w", n.Name, err)
			}
			listed := map[string]bool{}
			for _, s := range slots {
				for _, r := range s.Nodes[min(1, len(s.Nodes)):] {
					listed[r.ID] = true
				}
			}
			for _, id := range replicas {
				if !listed[id] {
					return fmt.Errorf("%s: CLUSTER SLOTS does not list replica %s yet", n.Name, id)
				}
			}
		}
		return nil
	})
}

// poll calls try every 50ms until it succeeds or ctx ends (then with try's last error).
func poll(ctx context.Context, try func() error) error {
	for {
		err := try()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redisproc: cluster: %w (%v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// do runs one admin command on n directly (not through its announced address).
func (c *Cluster) do(ctx context.Context, n *Node, args ...any) *redis.Cmd {
	return n.admin.Do(ctx, args...)
}

// adminClient is a client of at most conns connections for admin commands to the server at
// addr: no retries, RESP2, no client identity.
func adminClient(addr string, conns int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: addr, Protocol: 2, DisableIdentity: true,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: time.Second,
		MaxRetries: -1, PoolSize: conns,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// NodeStats reports the number of keys (DBSIZE) and the used memory in bytes (INFO
// memory's used_memory) of the Redis server at addr (host:port, no password).
func NodeStats(ctx context.Context, addr string) (keys, usedBytes int64, err error) {
	cl := adminClient(addr, 1)
	defer cl.Close()
	return stats(ctx, cl, addr)
}

// stats is NodeStats through cl.
func stats(ctx context.Context, cl *redis.Client, addr string) (keys, usedBytes int64, err error) {
	if keys, err = cl.DBSize(ctx).Result(); err != nil {
		return 0, 0, fmt.Errorf("redisproc: DBSIZE %s: %w", addr, err)
	}
	mem, err := cl.Info(ctx, "memory").Result()
	if err != nil {
		return keys, 0, fmt.Errorf("redisproc: INFO memory %s: %w", addr, err)
	}
	usedBytes, _ = strconv.ParseInt(InfoField(mem, "used_memory"), 10, 64)
	return keys, usedBytes, nil
}

// Nodes lists every node: the masters in slot-range order, then the replicas.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// Masters lists the nodes created as masters, in slot-range order.
func (c *Cluster) Masters() []*Node { return c.nodes[:c.opts.Masters] }

// Node returns the node of this name (master-1…, replica-1…).
func (c *Cluster) Node(name string) (*Node, bool) {
	for _, n := range c.nodes {
		if n.Name == name {
			return n, true
		}
	}
	return nil, false
}

// NodeNames lists the nodes' names in Nodes order.
func (c *Cluster) NodeNames() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Name
	}
	return out
}

// Seeds are the announced addresses of every node, for a cluster client to start from.
func (c *Cluster) Seeds() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Announced
	}
	return out
}

// MasterCount and ReplicaCount are the shape the cluster was created with.
func (c *Cluster) MasterCount() int  { return c.opts.Masters }
func (c *Cluster) ReplicaCount() int { return c.opts.Replicas }

// NodeTimeout is the cluster-node-timeout the nodes run with.
func (c *Cluster) NodeTimeout() time.Duration { return c.opts.NodeTimeout }

// role asks n for its current role (RoleMaster or RoleReplica) and, for a replica, the ID
// of its master.
func (c *Cluster) role(ctx context.Context, n *Node) (role, master string, err error) {
	out, err := c.do(ctx, n, "CLUSTER", "NODES").Text()
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.Contains(f[2], "myself") {
			continue
		}
		if strings.Contains(f[2], "slave") {
			return RoleReplica, f[3], nil
		}
		return RoleMaster, "", nil
	}
	return "", "", fmt.Errorf("%s: no myself line in CLUSTER NODES", n.Name)
}

// Role is n's current role, RoleMaster or RoleReplica, as n itself reports it.
func (c *Cluster) Role(ctx context.Context, n *Node) (string, error) {
	role, _, err := c.role(ctx, n)
	return role, err
}

// Failover promotes a replica of the slot range that node serves: when node is a replica
// now, it is promoted; when it is a master, one of its running replicas is. It runs
// CLUSTER FAILOVER (FORCE when the master is down, or after two attempts that timed out)
// and returns once the replica reports itself master and the old master, when running,
// reports itself replica (so the roles are settled when the fault is done).
func (c *Cluster) Failover(ctx context.Context, node string) error {
	target, ok := c.Node(node)
	if !ok {
		return fmt.Errorf("redisproc: cluster: no node %q (nodes: %s)", node, strings.Join(c.NodeNames(), ", "))
	}
	var candidate *Node
	force := false
	if target.Running() {
		if role, _, err := c.role(ctx, target); err == nil && role == RoleReplica {
			candidate = target
		}
	} else {
		force = true
	}
	if candidate == nil {
		for _, n := range c.nodes {
			if n == target || !n.Running() {
				continue
			}
			if role, master, err := c.role(ctx, n); err == nil && role == RoleReplica && master == target.id {
				candidate = n
				break
			}
		}
	}
	if candidate == nil {
		return fmt.Errorf("redisproc: cluster: failover %s: no running replica of it", node)
	}
	// The slot range's master now: once the replica is promoted it must turn into a replica too.
	var oldMaster *Node
	if _, id, err := c.role(ctx, candidate); err == nil {
		for _, n := range c.nodes {
			if n.id == id && n.Running() {
				oldMaster = n
			}
		}
	}
	// A manual failover gives up after 5s (Redis's own limit) when the replica cannot catch
	// up with its master in time, e.g. on a loaded machine: try again, the third time with FORCE.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		args := []any{"CLUSTER", "FAILOVER"}
		if force || attempt == 3 {
			args = append(args, "FORCE")
		}
		if err = c.do(ctx, candidate, args...).Err(); err != nil {
			return fmt.Errorf("redisproc: cluster: failover %s on %s: %w", node, candidate.Name, err)
		}
		wctx, cancel := context.WithTimeout(ctx, max(6*time.Second, 3*c.opts.NodeTimeout))
		err = poll(wctx, func() error {
			role, _, err := c.role(wctx, candidate)
			if err != nil {
				return err
			}
			if role != RoleMaster {
				return fmt.Errorf("%s not promoted yet", candidate.Name)
			}
			if oldMaster != nil {
				if role, _, err := c.role(wctx, oldMaster); err == nil && role != RoleReplica {
					return fmt.Errorf("%s promoted, but %s still reports itself master", candidate.Name, oldMaster.Name)
				}
			}
			return nil
		})
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("redisproc: cluster: failover %s on %s: %w", node, candidate.Name, err)
}

// replicaLagFor is how long LagReplica pauses a replica at most (until UnlagReplicas).
const replicaLagFor = 10 * time.Minute

// LagReplica makes the replica node fall behind its master while it keeps answering
// reads: CLIENT PAUSE WRITE on it stops it from applying its master's replication stream
// (reads are served from what it has), until UnlagReplicas. It is an error when node is
// not a running replica.
func (c *Cluster) LagReplica(ctx context.Context, node string) error {
	n, ok := c.Node(node)
	if !ok {
		return fmt.Errorf("redisproc: cluster: no node %q (nodes: %s)", node, strings.Join(c.NodeNames(), ", "))
	}
	if role, _, err := c.role(ctx, n); err != nil || role != RoleReplica {
		return fmt.Errorf("redisproc: cluster: lag %s: not a running replica (role %q, %v)", node, role, err)
	}
	if err := c.do(ctx, n, "CLIENT", "PAUSE", replicaLagFor.Milliseconds(), "WRITE").Err(); err != nil {
		return fmt.Errorf("redisproc: cluster: lag %s: CLIENT PAUSE: %w", node, err)
	}
	return nil
}

// UnlagReplicas lets node (every running node when empty) apply its replication stream
// again (CLIENT UNPAUSE; a no-op on a node that was not lagging).
func (c *Cluster) UnlagReplicas(ctx context.Context, node string) error {
	var errs []error
	for _, n := range c.nodes {
		if (node != "" && n.Name != node) || !n.Running() {
			continue
		}
		if err := c.do(ctx, n, "CLIENT", "UNPAUSE").Err(); err != nil {
			errs = append(errs, fmt.Errorf("redisproc: cluster: unlag %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Topology reports every node's role, liveness, key count and memory. A node that is
// down is reported with its creation role and Up false.
func (c *Cluster) Topology(ctx context.Context) []NodeState {
	out := make([]NodeState, len(c.nodes))
	for i, n := range c.nodes {
		st := NodeState{Name: n.Name, Addr: n.Announced, Range: n.Range, Role: RoleMaster}
		if strings.HasPrefix(n.Name, "replica-") {
			st.Role = RoleReplica
		}
		if n.Running() {
			if role, _, err := c.role(ctx, n); err == nil {
				st.Role, st.Up = role, true
				st.Keys, st.UsedBytes, _ = stats(ctx, n.admin, n.Addr())
			}
		}
		out[i] = st
	}
	return out
}

// FlushAll empties every running master (replicas follow).
func (c *Cluster) FlushAll(ctx context.Context) error {
	var errs []error
	for _, n := range c.nodes {
		if !n.Running() {
			continue
		}
		if role, _, err := c.role(ctx, n); err != nil || role != RoleMaster {
			continue
		}
		if err := c.do(ctx, n, "FLUSHALL").Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: FLUSHALL: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Stop stops every node and removes the cluster's directory. Safe to call twice.
func (c *Cluster) Stop() error {
	var errs []error
	c.once.Do(func() {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, n := range c.nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := n.Stop(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, n := range c.nodes {
			n.admin.Close()
		}
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// SlotRange is the first and last hash slot of slot range rng (1-based) of masters equal ranges,
// as StartCluster assigns them.
func SlotRange(rng, masters int) (lo, hi int) {
	return (rng - 1) * Slots / masters, rng*Slots/masters - 1
}

// RangeOfSlot is the 1-based slot range whose creation range holds slot.
func RangeOfSlot(slot, masters int) int {
	for rng := 1; rng <= masters; rng++ {
		if _, hi := SlotRange(rng, masters); slot <= hi {
			return rng
		}
	}
	return masters
}

// KeySlot is the Redis Cluster hash slot of key: CRC16 (XMODEM) of the key's hash tag
// (the part between the first { and the next }, when not empty), modulo 16384.
func KeySlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % Slots)
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial 0), the checksum Redis Cluster uses.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
