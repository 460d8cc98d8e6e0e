package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/singleflight"
)

// slotReloadEvery is the shortest interval between two slot-map reloads asked for by
// failing nodes (go-redis coalesces reloads itself as well).
const slotReloadEvery = 100 * time.Millisecond

// nodeBreakers gives every node of a Redis Cluster its own circuit breaker, applied by a
// go-redis hook on the node's client: a failing node bypasses only the users whose slots
// it serves, never the users of healthy slot ranges. A failure of a node (or a call its open
// breaker refused) also asks for a slot-map reload, so after a failover the promoted
// replica is used as soon as the cluster knows it, not at the next periodic reload.
type nodeBreakers struct {
	cluster *redis.ClusterClient
	cfg     BreakerConfig
	log     *slog.Logger
	closed  func() // a node's breaker closed again: recovery warming is due

	mu     sync.Mutex
	byAddr map[string]*gobreaker.CircuitBreaker[struct{}]
	// pings holds one plain client per node address for the health PINGs (not through the
	// breaker), created on first use and closed by close; pingsClosed refuses new ones.
	pings       map[string]*redis.Client
	pingsClosed bool

	lastReload atomic.Int64 // unix nanoseconds of the last reload asked for

	// The number of replicas of each master (by announced address), for the WAIT of an
	// invalidation with replica reads; read again when older than replicaCountsMaxAge,
	// after a slot-map reload, or when a master is not in it.
	rmu      sync.Mutex
	replicas map[string]int
	readAt   time.Time
	// rflight lets one CLUSTER NODES per master address refresh the replica counts when
	// they are stale, however many invalidations ask at once.
	rflight singleflight.Group
}

// replicaCountsMaxAge is how long a reading of the replicas per master is used.
const replicaCountsMaxAge = time.Second

// replicasOf returns the number of replicas the cluster knows (CLUSTER NODES, asked on
// conn, a connection to that master) for the master at addr: every replica not flagged as
// failed, whether or not it is in sync or listed in CLUSTER SLOTS yet, a superset of the
// nodes go-redis may route that slot range's reads to, so that a WAIT for all of them leaves none
// behind. No lock is held while asking; concurrent callers for one master share one
// CLUSTER NODES (sent on the first caller's conn).
func (nb *nodeBreakers) replicasOf(ctx context.Context, conn *redis.Conn, addr string) (int, error) {
	nb.rmu.Lock()
	n, ok := nb.replicas[addr]
	fresh := ok && time.Since(nb.readAt) < replicaCountsMaxAge
	nb.rmu.Unlock()
	if fresh {
		return n, nil
	}
	v, err, _ := nb.rflight.Do(addr, func() (any, error) {
		out, err := conn.ClusterNodes(ctx).Result()
		if err != nil {
			return nil, err
		}
		counts := replicaCounts(out)
		nb.rmu.Lock()
		nb.replicas, nb.readAt = counts, time.Now()
		nb.rmu.Unlock()
		return counts, nil
	})
	if err != nil {
		return 0, err
	}
	if n, ok = v.(map[string]int)[addr]; !ok {
		return 0, fmt.Errorf("cache: %s is not a master in the cluster's node table", addr)
	}
	return n, nil
}

// replicaCounts reads a CLUSTER NODES reply: for each master's address (host:port), the
// number of its replicas that are not flagged "fail" (a suspected "fail?" one counts).
func replicaCounts(nodes string) map[string]int {
	type line struct{ addr, flags, master string }
	byID := map[string]line{}
	for _, l := range strings.Split(nodes, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@") // ip:port@cport[,hostname]
		byID[f[0]] = line{addr: addr, flags: f[2], master: f[3]}
	}
	out := map[string]int{}
	for _, l := range byID {
		if hasFlag(l.flags, "master") {
			out[l.addr] += 0
		}
	}
	for _, l := range byID {
		if (hasFlag(l.flags, "slave") || hasFlag(l.flags, "replica")) && !hasFlag(l.flags, "fail") {
			if m, ok := byID[l.master]; ok {
				out[m.addr]++
			}
		}
	}
	return out
}

func hasFlag(flags, flag string) bool { return slices.Contains(strings.Split(flags, ","), flag) }

// newNodeBreakers installs a breaker hook on every node client cc creates from now on;
// it must run before cc sends its first command (cache.New does).
func newNodeBreakers(cc *redis.ClusterClient, cfg BreakerConfig, log *slog.Logger, closed func()) *nodeBreakers {
	nb := &nodeBreakers{cluster: cc, cfg: cfg, log: log, closed: closed,
		byAddr: map[string]*gobreaker.CircuitBreaker[struct{}]{}, pings: map[string]*redis.Client{}}
	cc.OnNewNode(func(rdb *redis.Client) {
		addr := rdb.Options().Addr
		rdb.AddHook(nodeHook{nb: nb, addr: addr, cb: nb.breaker(addr)})
	})
	return nb
}

// breaker returns the breaker of the node at addr, creating it closed.
func (nb *nodeBreakers) breaker(addr string) *gobreaker.CircuitBreaker[struct{}] {
	nb.mu.Lock()
	defer nb.mu.Unlock()
	if cb, ok := nb.byAddr[addr]; ok {
		return cb
	}
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        addr,
		MaxRequests: 1, // one half-open probe
		Timeout:     nb.cfg.OpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool {
			return n.ConsecutiveFailures >= uint32(nb.cfg.Failures)
		},
		IsSuccessful: func(err error) bool { return !nodeFailure(err) },
		// A refusal (errBreakerOpen) that reaches this breaker from inside a call says
		// nothing about this node: neither a success nor a failure. Counted as a success,
		// it closed a dead master's breaker once a second in redis-shard-kill (the half-open
		// probe's MGET came back refused), and every close started recovery warming, which
		// dialled the dead node.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) || errors.Is(err, errBreakerOpen) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			// Runs under the breaker's lock: log and signal only.
			nb.log.Warn("cache: redis node circuit breaker", "node", name, "from", from.String(), "to", to.String())
			if to == gobreaker.StateClosed {
				nb.closed()
			}
		},
	})
	nb.byAddr[addr] = cb
	return cb
}

// breakerState is the state of the breaker of the node at addr without creating one: a
// node whose client was never made has no breaker and counts as closed.
func (nb *nodeBreakers) breakerState(addr string) gobreaker.State {
	nb.mu.Lock()
	cb := nb.byAddr[addr]
	nb.mu.Unlock()
	if cb == nil {
		return gobreaker.StateClosed
	}
	return cb.State()
}

// pinger returns the health-ping client of the node at addr, creating it on first use
// (timeout bounds its dial, read and write); nil after close.
func (nb *nodeBreakers) pinger(addr string, timeout time.Duration) *redis.Client {
	nb.mu.Lock()
	defer nb.mu.Unlock()
	if nb.pingsClosed {
		return nil
	}
	if c, ok := nb.pings[addr]; ok {
		return c
	}
	// A plain client: the cluster client's own node would go through the breaker.
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, PoolTimeout: timeout,
		PoolSize: 1, DialerRetries: 1})
	nb.pings[addr] = c
	return c
}

// close closes the health-ping clients; later health reports show every node down.
func (nb *nodeBreakers) close() {
	nb.mu.Lock()
	pings := nb.pings
	nb.pings, nb.pingsClosed = nil, true
	nb.mu.Unlock()
	for _, c := range pings {
		_ = c.Close()
	}
}

// nodeFailure reports whether err says the node itself failed (it did not answer in time,
// the connection broke or was refused), as opposed to a reply: redis.Nil and every error
// reply (MOVED, ASK, READONLY, LOADING…) come from a node that works.
func nodeFailure(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, errBreakerOpen) {
		return false
	}
	var reply redis.Error
	return !errors.As(err, &reply)
}

// reloadSlots asks for a slot-map reload unless one was asked for very recently.
func (nb *nodeBreakers) reloadSlots() {
	now := time.Now().UnixNano()
	last := nb.lastReload.Load()
	if now-last < int64(slotReloadEvery) || !nb.lastReload.CompareAndSwap(last, now) {
		return
	}
	nb.cluster.ReloadState(context.Background()) // asynchronous in go-redis
	nb.rmu.Lock()
	nb.readAt = time.Time{} // the replicas per master may have changed as well
	nb.rmu.Unlock()
}

// slotMapEvery is how often the slot map is reloaded with replica reads, so that a replica
// that joined or came back gets its share of the reads within about a second (go-redis
// reloads by itself only on errors and every ten seconds or so).
const slotMapEvery = time.Second

// reloadLoop reloads the slot map every slotMapEvery until ctx ends.
func (nb *nodeBreakers) reloadLoop(ctx context.Context) {
	every(ctx, slotMapEvery, func() { nb.cluster.ReloadState(ctx) })
}

// worst is the most open state among the nodes' breakers: open, else half-open, else closed.
func (nb *nodeBreakers) worst() gobreaker.State {
	nb.mu.Lock()
	defer nb.mu.Unlock()
	w := gobreaker.StateClosed
	for _, cb := range nb.byAddr {
		switch st := cb.State(); {
		case st == gobreaker.StateOpen:
			return st
		case st == gobreaker.StateHalfOpen:
			w = st
		}
	}
	return w
}

// health reports every node the client knows of (from its slot map, plus nodes whose
// breaker exists but that serve no slot any more), pinging each within timeout.
func (nb *nodeBreakers) health(ctx context.Context, timeout time.Duration) []atlas.RedisNodeHealth {
	roles := map[string]string{}
	var order []string
	if slots, err := nb.cluster.ClusterSlots(ctx).Result(); err == nil {
		for _, s := range slots {
			for i, n := range s.Nodes {
				if _, seen := roles[n.Addr]; seen {
					continue
				}
				roles[n.Addr] = "replica"
				if i == 0 {
					roles[n.Addr] = "master"
				}
				order = append(order, n.Addr)
			}
		}
	}
	nb.mu.Lock()
	for addr := range nb.byAddr {
		if _, ok := roles[addr]; !ok {
			roles[addr] = "unknown"
			order = append(order, addr)
		}
	}
	nb.mu.Unlock()
	slices.Sort(order)
	out := make([]atlas.RedisNodeHealth, len(order))
	var wg sync.WaitGroup
	for i, addr := range order {
		out[i] = atlas.RedisNodeHealth{Address: addr, Role: roles[addr], Breaker: nb.breakerState(addr).String()}
		c := nb.pinger(addr, timeout)
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			out[i].Up = c.Ping(pctx).Err() == nil
		}()
	}
	wg.Wait()
	return out
}

// nodeHook is the go-redis hook of one node's client.
type nodeHook struct {
	nb   *nodeBreakers
	addr string
	cb   *gobreaker.CircuitBreaker[struct{}]
}

func (h nodeHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h nodeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if warming(ctx) {
			return h.warm(func() error { return next(ctx, cmd) })
		}
		return h.run(func() error { return next(ctx, cmd) })
	}
}

func (h nodeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if warming(ctx) {
			return h.warm(func() error { return next(ctx, cmds) })
		}
		return h.run(func() error { return next(ctx, cmds) })
	}
}

// warm runs one of warming's calls (withWarming) outside the node's breaker counts,
// refused while the breaker is not closed.
func (h nodeHook) warm(fn func() error) error {
	if h.cb.State() != gobreaker.StateClosed {
		return fmt.Errorf("%w (node %s)", errBreakerOpen, h.addr)
	}
	return fn()
}

// run passes one call through the node's breaker; a refusal is errBreakerOpen, wrapped
// with the node's address.
func (h nodeHook) run(fn func() error) error {
	ran := false
	_, err := h.cb.Execute(func() (struct{}, error) {
		ran = true
		return struct{}{}, fn()
	})
	if !ran && err != nil {
		h.nb.reloadSlots()
		return fmt.Errorf("%w (node %s)", errBreakerOpen, h.addr)
	}
	if nodeFailure(err) && !errors.Is(err, context.Canceled) {
		h.nb.reloadSlots()
	}
	return err
}
