package stack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/faultproxy"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/scenarios"
)

// proxyVerbs are the faults a fault proxy injects.
var proxyVerbs = []string{scenarios.FaultSlowRedis, scenarios.FaultPartitionRedis, scenarios.FaultRefuseRedis,
	scenarios.FaultHealRedis, scenarios.FaultFlapRedis}

// Supports reports why the stack cannot inject the fault, or nil when it can. On a cluster
// f.Node names one node (empty: every node); elsewhere it must be empty.
func (st *Stack) Supports(f scenarios.Fault) error {
	verb := f.Do
	if f.Server != 0 {
		if _, err := st.Server(f.Server); err != nil {
			return fmt.Errorf("%s: %w", verb, err)
		}
	}
	switch verb {
	case scenarios.FaultKillServer, scenarios.FaultStartServer, scenarios.FaultStopServer, scenarios.FaultRestartServer:
		if f.Server == 0 {
			return fmt.Errorf("stack: %s needs the instance it acts on (server: N)", verb)
		}
		return nil
	case scenarios.FaultRollingRestart:
		return nil
	}
	if st.Redis == nil {
		return nil // no-cache mode: faults are recorded as phases, nothing to break
	}
	if c := st.Redis.Cluster; c != nil {
		if f.Node != "" {
			if _, ok := c.Node(f.Node); !ok {
				return fmt.Errorf("stack: %s: node %q: the cluster's nodes are %s", verb, f.Node, strings.Join(c.NodeNames(), ", "))
			}
		}
		if f.Server != 0 {
			return fmt.Errorf("stack: %s {server: %d}: on a Redis Cluster faults are aimed at a node (node: master-1…), not at one instance's link", verb, f.Server)
		}
	} else if f.Node != "" || verb == scenarios.FaultFailover || verb == scenarios.FaultLagReplica {
		return fmt.Errorf("stack: %s {node: %s} needs a Redis Cluster the harness starts (-redis cluster or the scenario's redis.cluster), not %s", verb, f.Node, st.Redis.Backend)
	}
	switch verb {
	case scenarios.FaultKillRedis, scenarios.FaultStartRedis:
		if st.Redis.kill == nil {
			return fmt.Errorf("stack: %s needs a Redis the harness runs (process, cluster, docker or embedded), not %s", verb, st.Redis.Backend)
		}
		return nil
	case scenarios.FaultFlushRedis, scenarios.FaultFailover, scenarios.FaultLagReplica:
		return nil
	}
	if slices.Contains(proxyVerbs, verb) {
		if st.Proxy == nil && st.Redis.Proxies == nil {
			return fmt.Errorf("stack: %s needs the fault proxy, which runs only in front of a Redis the harness starts (not %s)", verb, st.Redis.Backend)
		}
		return nil
	}
	return fmt.Errorf("stack: unknown fault %q", verb)
}

// Fault injects one scenario fault. A fault-proxy verb with Server 0 acts on every
// instance's link to Redis, with Server N on instance N's only; on a cluster it acts on
// Node's proxy (every node's when Node is empty). In no-cache mode the Redis verbs do
// nothing: the fault is only a phase boundary there, so both modes are measured over the
// same windows; the verbs on server instances (kill-, start-, stop-, restart-server,
// rolling-restart) act in both modes.
func (st *Stack) Fault(ctx context.Context, f scenarios.Fault) error {
	if err := st.Supports(f); err != nil {
		return err
	}
	switch f.Do {
	case scenarios.FaultKillServer:
		srv, _ := st.Server(f.Server)
		return srv.Kill()
	case scenarios.FaultStartServer:
		srv, _ := st.Server(f.Server)
		return srv.Start(ctx)
	case scenarios.FaultStopServer, scenarios.FaultRestartServer:
		srv, _ := st.Server(f.Server)
		return st.restartOne(ctx, srv, f.Do == scenarios.FaultRestartServer)
	case scenarios.FaultRollingRestart:
		return st.rollingRestart(ctx, f.Interval)
	}
	if st.Redis == nil {
		return nil
	}
	if c := st.Redis.Cluster; c != nil {
		return st.clusterFault(ctx, c, f)
	}
	if slices.Contains(proxyVerbs, f.Do) {
		var errs []error
		for _, srv := range st.Servers {
			if f.Server == 0 || f.Server == srv.Index {
				errs = append(errs, proxyFault(ctx, srv.Proxy, f))
			}
		}
		return errors.Join(errs...)
	}
	switch f.Do {
	case scenarios.FaultKillRedis:
		return st.Redis.Kill()
	case scenarios.FaultStartRedis:
		return st.Redis.Start(ctx)
	case scenarios.FaultFlushRedis:
		u, err := url.Parse(st.Redis.URL)
		if err != nil {
			return err
		}
		return redisproc.FlushAll(u.Host)
	}
	return nil
}

// clusterFault injects f into one node of the cluster, or into every node when f.Node is empty.
func (st *Stack) clusterFault(ctx context.Context, c *redisproc.Cluster, f scenarios.Fault) error {
	switch f.Do {
	case scenarios.FaultFailover:
		return c.Failover(ctx, f.Node)
	case scenarios.FaultLagReplica:
		return c.LagReplica(ctx, f.Node)
	case scenarios.FaultFlushRedis:
		if f.Node == "" {
			return c.FlushAll(ctx)
		}
		n, _ := c.Node(f.Node)
		return redisproc.FlushAll(n.Addr())
	case scenarios.FaultKillRedis:
		if f.Node == "" {
			return st.Redis.Kill()
		}
		n, _ := c.Node(f.Node)
		role, _ := c.Role(ctx, n)
		if err := n.Kill(); err != nil {
			return err
		}
		if role == redisproc.RoleMaster && c.ReplicaCount() > 0 {
			go st.watchPromotion(c, n, time.Now())
		}
		return nil
	case scenarios.FaultStartRedis:
		if f.Node == "" {
			return st.Redis.Start(ctx)
		}
		n, _ := c.Node(f.Node)
		return n.Start(ctx)
	}
	var errs []error
	if f.Do == scenarios.FaultHealRedis {
		errs = append(errs, c.UnlagReplicas(ctx, f.Node)) // heal ends a lag-replica as well
	}
	if f.Node != "" {
		return errors.Join(append(errs, proxyFault(ctx, st.Redis.Proxies[f.Node], f))...)
	}
	for _, name := range c.NodeNames() {
		if err := proxyFault(ctx, st.Redis.Proxies[name], f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// proxyFault applies a fault-proxy verb to one proxy (an instance's link, or a cluster node's).
func proxyFault(ctx context.Context, p *faultproxy.Proxy, f scenarios.Fault) error {
	if p == nil {
		return fmt.Errorf("stack: %s: no fault proxy", f.Do)
	}
	switch f.Do {
	case scenarios.FaultSlowRedis:
		return p.Slow(f.Latency, f.Jitter)
	case scenarios.FaultPartitionRedis:
		return p.Partition()
	case scenarios.FaultRefuseRedis:
		return p.Refuse()
	case scenarios.FaultHealRedis:
		return p.Heal()
	case scenarios.FaultFlapRedis:
		// Flapping outlives this call: it runs until heal-redis or the stack closes.
		return p.Flap(context.WithoutCancel(ctx), f.Period)
	}
	return fmt.Errorf("stack: %s is not a fault-proxy verb", f.Do)
}

// watchPromotion logs (run.log) when a replica of the killed master's slot range reports itself
// master, and how long after the kill: the failover window. It gives up after ten node
// timeouts plus 30 s.
func (st *Stack) watchPromotion(c *redisproc.Cluster, killed *redisproc.Node, at time.Time) {
	if st.log == nil {
		return // a Stack built without New has nowhere to say it
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*c.NodeTimeout()+30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, n := range c.Nodes() {
			if n == killed || n.Range != killed.Range || !n.Running() {
				continue
			}
			rctx, rcancel := context.WithTimeout(ctx, 200*time.Millisecond)
			role, err := c.Role(rctx, n)
			rcancel()
			if err == nil && role == redisproc.RoleMaster {
				st.log.Info("redis cluster: replica promoted", "node", n.Name, "killed", killed.Name,
					"slot_range", killed.Range, "after_ms", time.Since(at).Milliseconds())
				return
			}
		}
		select {
		case <-ctx.Done():
			st.log.Warn("redis cluster: no replica promoted", "killed", killed.Name, "slot_range", killed.Range, "waited", time.Since(at).Round(time.Millisecond))
			return
		case <-tick.C:
		}
	}
}
