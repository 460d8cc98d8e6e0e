package stack

import (
	"context"
	"fmt"
	"net/url"

	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/scenarios"
)

// Supports reports why the stack cannot inject the fault verb, or nil when it can.
func (st *Stack) Supports(verb string) error {
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

// Fault injects one scenario fault. In no-cache mode it does nothing: the fault is only a
// phase boundary there, so both modes are measured over the same windows.
func (st *Stack) Fault(ctx context.Context, f scenarios.Fault) error {
	if st.Redis == nil {
		return nil
	}
	if err := st.Supports(f.Do); err != nil {
		return err
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
	case scenarios.FaultSlowRedis:
		return st.Proxy.Slow(f.Latency, f.Jitter)
	case scenarios.FaultPartitionRedis:
		return st.Proxy.Partition()
	case scenarios.FaultRefuseRedis:
		return st.Proxy.Refuse()
	case scenarios.FaultHealRedis:
		return st.Proxy.Heal()
	case scenarios.FaultFlapRedis:
		// Flapping outlives this call: it runs until heal-redis or the stack closes.
		return st.Proxy.Flap(context.WithoutCancel(ctx), f.Period)
	}
	return nil
}
