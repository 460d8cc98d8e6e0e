package stack

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/atlasbench/atlasbench/internal/faultproxy"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/scenarios"
)

// Supports reports why the stack cannot inject the fault, or nil when it can.
func (st *Stack) Supports(f scenarios.Fault) error {
	verb := f.Do
	if f.Server != 0 {
		if _, err := st.Server(f.Server); err != nil {
			return fmt.Errorf("%s: %w", verb, err)
		}
	}
	switch verb {
	case scenarios.FaultKillServer, scenarios.FaultStartServer:
		if f.Server == 0 {
			return fmt.Errorf("stack: %s needs the instance it acts on (server: N)", verb)
		}
		return nil
	}
	if st.Redis == nil {
		return nil // no-cache mode: faults are recorded as phases, nothing to break
	}
	switch verb {
	case scenarios.FaultKillRedis, scenarios.FaultStartRedis:
		if st.Redis.kill == nil {
			return fmt.Errorf("stack: %s needs a Redis the harness runs (process, docker or embedded), not %s", verb, st.Redis.Backend)
		}
		return nil
	case scenarios.FaultFlushRedis:
		return nil
	case scenarios.FaultSlowRedis, scenarios.FaultPartitionRedis, scenarios.FaultRefuseRedis,
		scenarios.FaultHealRedis, scenarios.FaultFlapRedis:
		if st.Proxy == nil {
			return fmt.Errorf("stack: %s needs the fault proxy, which runs only in front of a Redis the harness starts (not %s)", verb, st.Redis.Backend)
		}
		return nil
	default:
		return fmt.Errorf("stack: unknown fault %q", verb)
	}
}

// Fault injects one scenario fault. A fault-proxy verb with Server 0 acts on every
// instance's link to Redis, with Server N on instance N's only. In no-cache mode the Redis
// verbs do nothing: the fault is only a phase boundary there, so both modes are measured
// over the same windows; kill-server and start-server act in both modes.
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
	}
	if st.Redis == nil {
		return nil
	}
	switch f.Do {
	case scenarios.FaultSlowRedis, scenarios.FaultPartitionRedis, scenarios.FaultRefuseRedis,
		scenarios.FaultHealRedis, scenarios.FaultFlapRedis:
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

// proxyFault applies a fault-proxy verb to one instance's proxy.
func proxyFault(ctx context.Context, p *faultproxy.Proxy, f scenarios.Fault) error {
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
