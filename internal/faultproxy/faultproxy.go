// Package faultproxy owns the fault-injecting TCP proxy the harness puts
// between the reference server and Redis, so that the fault verbs of a scenario
// (slow-redis, partition-redis, refuse-redis, heal-redis, flap-redis) need no
// root and no network tricks. It embeds Shopify/toxiproxy/v2 as a library: one
// toxiproxy.Proxy per Proxy, driven through Go calls, with no HTTP API, no
// Prometheus collectors and no package-level logger.
//
// A Proxy is always in exactly one state (State). Every verb replaces the
// previous fault: Slow after Partition removes the partition first, any verb
// stops flapping, and Heal removes everything.
//
// The library's global state and how it is contained: toxiproxy's toxics
// package fills a registry of toxic types in init() (a map read by
// toxics.New and toxics.Count); this package only reads it, never registers.
// Its log lines go to a zerolog.Logger given to each toxiproxy server and to
// the contexts passed to it, which this package bridges to the caller's
// slog.Logger; the zerolog package's global logger and settings are never
// changed (only the bandwidth toxic, which this package does not use, logs to
// the global zerolog logger). Its metrics container gets a private, empty
// prometheus.Registry; nothing touches the default registry.
package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
)

// States a Proxy reports through State.
const (
	// StateUp forwards every byte unchanged.
	StateUp = "up"
	// StateSlow delays every reply from Redis (Slow).
	StateSlow = "slow"
	// StatePartitioned accepts connections and lets no byte through, either way (Partition).
	StatePartitioned = "partitioned"
	// StateRefused refuses connections; Redis keeps its data (Refuse).
	StateRefused = "refused"
	// StateFlapping alternates between refused and up (Flap).
	StateFlapping = "flapping"
	// StateClosed is the state after Close.
	StateClosed = "closed"
)

// ErrClosed is returned by the verbs of a closed Proxy.
var ErrClosed = errors.New("faultproxy: proxy closed")

// Toxic names; toxiproxy requires them unique per proxy.
const (
	toxicSlow          = "slow"
	toxicPartitionUp   = "partition_upstream"
	toxicPartitionDown = "partition_downstream"
)

// Proxy is a fault-injecting TCP proxy on a loopback port in front of one
// upstream (Redis). Its methods are safe for concurrent use.
type Proxy struct {
	upstream string
	addr     string
	log      *slog.Logger
	// zctx carries the zerolog bridge: toxiproxy logs toxic changes through
	// zerolog.Ctx(ctx) and would discard them with a bare context.
	zctx context.Context

	mu      sync.Mutex
	tp      *toxiproxy.Proxy
	enabled bool // tp is listening
	state   string
	flap    *flapper
}

// flapper is one Flap's background goroutine.
type flapper struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start listens on a free 127.0.0.1 port and forwards every connection to
// upstream (host:port), in state StateUp. The upstream need not be up yet:
// a connection made while it is down is accepted and closed at once. log
// receives state changes at Info and the library's own lines at Debug (its
// errors at Warn); nil discards. The caller calls Close.
func Start(ctx context.Context, upstream string, log *slog.Logger) (*Proxy, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("faultproxy: start: %w", err)
	}
	if _, _, err := net.SplitHostPort(upstream); err != nil {
		return nil, fmt.Errorf("faultproxy: upstream %q: %w", upstream, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "faultproxy")
	zl := newZerolog(ctx, log) // toxiproxy adds name, listen and upstream itself
	// One server per proxy: it only holds the logger and the metrics container
	// the proxy's links read; its HTTP API (Listen) is never started.
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zl)
	tp := toxiproxy.NewProxy(server, "redis", "127.0.0.1:0", upstream)
	if err := tp.Start(); err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		upstream: upstream,
		// Start has resolved ":0"; later restarts listen on this same address.
		addr:    tp.Listen,
		zctx:    zl.WithContext(context.Background()),
		tp:      tp,
		enabled: true,
		state:   StateUp,
	}
	p.log = log.With("addr", p.addr, "upstream", upstream)
	p.log.Info("faultproxy: started")
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// URL is redis://Addr.
func (p *Proxy) URL() string { return "redis://" + p.addr }

// Upstream is the host:port the proxy forwards to.
func (p *Proxy) Upstream() string { return p.upstream }

// State is the proxy's current state: StateUp, StateSlow, StatePartitioned,
// StateRefused, StateFlapping or StateClosed.
func (p *Proxy) State() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// Slow (slow-redis) delays every reply from the upstream by latency ± jitter,
// on open and new connections. toxiproxy counts in whole milliseconds: both
// are rounded to the millisecond. latency must be > 0 and 0 <= jitter <= latency.
func (p *Proxy) Slow(latency, jitter time.Duration) error {
	lat, jit := millis(latency), millis(jitter)
	if latency <= 0 || lat == 0 || jitter < 0 || jit > lat {
		return fmt.Errorf("faultproxy: slow: want latency >= 1ms and 0 <= jitter <= latency, got latency %s, jitter %s", latency, jitter)
	}
	return p.apply(StateSlow, []any{"latency", latency, "jitter", jitter}, func() error {
		if err := p.enableLocked(); err != nil {
			return err
		}
		return p.addToxicLocked(toxicSlow, "latency", "downstream", map[string]int64{"latency": lat, "jitter": jit})
	})
}

// Partition (partition-redis) lets no byte through in either direction, on
// open and new connections, and never closes them: new connections are
// accepted and then stay silent, so a client sees only its own timeouts —
// the worst case. Nothing reaches Redis, which keeps its data.
func (p *Proxy) Partition() error {
	return p.apply(StatePartitioned, nil, func() error {
		if err := p.enableLocked(); err != nil {
			return err
		}
		// The timeout toxic with timeout 0 drops all data and never closes.
		if err := p.addToxicLocked(toxicPartitionUp, "timeout", "upstream", map[string]int64{"timeout": 0}); err != nil {
			return err
		}
		return p.addToxicLocked(toxicPartitionDown, "timeout", "downstream", map[string]int64{"timeout": 0})
	})
}

// Refuse (refuse-redis) stops listening and drops every open connection: new
// connections are refused. Redis itself keeps running with its data.
func (p *Proxy) Refuse() error {
	return p.apply(StateRefused, nil, func() error {
		p.disableLocked()
		return nil
	})
}

// Heal (heal-redis) removes every toxic, stops flapping and listens again on
// the same address. Connections that were partitioned are closed by the
// removal of the partition (their streams lost data); slowed ones stay open.
// It fails if the address was taken by another process while refused.
func (p *Proxy) Heal() error {
	return p.apply(StateUp, nil, p.enableLocked)
}

// Flap (flap-redis) alternates between refused and up every period/2 in the
// background, starting refused, until another verb (Heal), Close, or ctx's
// end; when ctx ends the proxy is left up. period must be at least 2ms.
func (p *Proxy) Flap(ctx context.Context, period time.Duration) error {
	if period < 2*time.Millisecond {
		return fmt.Errorf("faultproxy: flap: period must be >= 2ms, got %s", period)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("faultproxy: flap: %w", err)
	}
	return p.apply(StateFlapping, []any{"period", period}, func() error {
		p.disableLocked()
		fctx, cancel := context.WithCancel(ctx)
		f := &flapper{cancel: cancel, done: make(chan struct{})}
		p.flap = f
		go p.flapLoop(fctx, f, period/2)
		return nil
	})
}

// Close stops flapping, stops listening and drops every connection. Later
// verbs return ErrClosed; a second Close does nothing.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.state == StateClosed {
		p.mu.Unlock()
		return nil
	}
	f := p.stopFlapLocked()
	p.disableLocked()
	p.state = StateClosed
	p.mu.Unlock()
	f.wait()
	p.log.Info("faultproxy: closed")
	return nil
}

// apply runs one verb under the lock: it stops flapping, removes every toxic,
// runs fn and records state. When fn fails the state says what the proxy
// does now (up or refused) and the error is returned.
func (p *Proxy) apply(state string, attrs []any, fn func() error) error {
	p.mu.Lock()
	if p.state == StateClosed {
		p.mu.Unlock()
		return ErrClosed
	}
	from := p.state
	f := p.stopFlapLocked()
	p.tp.Toxics.ResetToxics(p.zctx)
	err := fn()
	if err != nil {
		state = StateRefused
		if p.enabled {
			state = StateUp
		}
	}
	p.state = state
	p.mu.Unlock()
	f.wait() // outside the lock: a stopped flapper takes it once to see it was stopped

	if err != nil {
		p.log.Warn("faultproxy: fault not applied", append([]any{"from", from, "to", state, "err", err}, attrs...)...)
		return fmt.Errorf("faultproxy: %s: %w", state, err)
	}
	p.log.Info("faultproxy: state", append([]any{"from", from, "to", state}, attrs...)...)
	return nil
}

// enableLocked listens again if the proxy is disabled.
func (p *Proxy) enableLocked() error {
	if p.enabled {
		return nil
	}
	if err := p.tp.Start(); err != nil {
		return fmt.Errorf("listen on %s again: %w", p.addr, err)
	}
	p.enabled = true
	return nil
}

// disableLocked stops listening and closes every open connection.
func (p *Proxy) disableLocked() {
	if !p.enabled {
		return
	}
	p.tp.Stop()
	p.enabled = false
}

// addToxicLocked adds one toxic through toxiproxy's only public entry point,
// the JSON form of its HTTP API.
func (p *Proxy) addToxicLocked(name, typ, stream string, attributes map[string]int64) error {
	body, err := json.Marshal(map[string]any{
		"name":       name,
		"type":       typ,
		"stream":     stream,
		"toxicity":   1.0,
		"attributes": attributes,
	})
	if err != nil {
		return err
	}
	if _, err := p.tp.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		return fmt.Errorf("add %s toxic %q: %w", typ, name, err)
	}
	return nil
}

// stopFlapLocked detaches the running flapper, if any, and cancels it; the
// caller waits for it after unlocking.
func (p *Proxy) stopFlapLocked() *flapper {
	f := p.flap
	if f != nil {
		p.flap = nil
		f.cancel()
	}
	return f
}

// wait blocks until the flapper's goroutine has returned; nil does nothing.
func (f *flapper) wait() {
	if f != nil {
		<-f.done
	}
}

// flapLoop toggles the proxy every half period while f is the current
// flapper. A flapper detached by a verb returns without touching the proxy;
// one whose ctx ended on its own leaves the proxy up.
func (p *Proxy) flapLoop(ctx context.Context, f *flapper, half time.Duration) {
	defer close(f.done)
	t := time.NewTicker(half)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.mu.Lock()
			if p.flap != f {
				p.mu.Unlock()
				return
			}
			p.flap = nil
			err := p.enableLocked()
			p.state = StateUp
			if err != nil {
				p.state = StateRefused
			}
			p.mu.Unlock()
			if err != nil {
				p.log.Warn("faultproxy: flapping ended, proxy left refused", "err", err)
				return
			}
			p.log.Info("faultproxy: state", "from", StateFlapping, "to", StateUp, "reason", "flap context ended")
			return
		case <-t.C:
			p.mu.Lock()
			if p.flap != f {
				p.mu.Unlock()
				return
			}
			if p.enabled {
				p.disableLocked()
			} else if err := p.enableLocked(); err != nil {
				p.log.Warn("faultproxy: flap: listen again failed; retrying next half period", "err", err)
			}
			p.mu.Unlock()
		}
	}
}

// millis converts d to whole milliseconds, toxiproxy's unit, rounding.
func millis(d time.Duration) int64 { return int64(d.Round(time.Millisecond) / time.Millisecond) }
