package refserver

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
)

// lifecycle is the server's side of a deploy: whether it still wants new requests
// (readiness) and how many it is serving now.
type lifecycle struct {
	stopping atomic.Bool  // readiness has failed: the server is shutting down
	inFlight atomic.Int64 // /api/ requests being served now
}

// readyz answers 200 while the server wants new requests and 503 from the moment its
// shutdown began (GET /readyz; /healthz stays the liveness check and keeps answering 200).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.stopping.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// InFlight is the number of API requests being served now.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// Defaults of ShutdownOptions.
const (
	DefaultDrainTimeout = 10 * time.Second
	// cacheDrainTimeout bounds the cache's last work (pending invalidations) at shutdown.
	cacheDrainTimeout = 2 * time.Second
)

// ShutdownOptions say how Shutdown ends the server. The zero value of each field means its
// default.
type ShutdownOptions struct {
	// Delay is how long the server keeps serving after readiness failed, so that load
	// balancers polling /readyz stop sending before the listener closes; default 0.
	Delay time.Duration
	// DrainTimeout bounds how long the requests in flight may take to complete once the
	// listener closed; those still running then are cut off; default DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Abrupt is the weakened server of a demonstration (cache config unsafe.abruptShutdown):
	// readiness never fails, nothing waits and nothing drains; connections close at once.
	Abrupt bool
	// Wait waits d or until ctx ends: the shutdown delay. Default a timer; tests pass one
	// that returns when they say.
	Wait func(ctx context.Context, d time.Duration)
}

// ShutdownReport is what a shutdown drained, and how long each step took.
type ShutdownReport struct {
	// InFlight is the number of API requests being served when the shutdown began.
	InFlight int64
	// AtClose is the number being served when the listener closed (after the delay).
	AtClose int64
	// CutOff is the number still running at the drain timeout; their connections were closed.
	CutOff int64
	// Delay is how long the server kept serving after readiness failed; Drain how long
	// the requests in flight took to complete after the listener closed.
	Delay, Drain time.Duration
	// Cache is what became of the invalidations the cache still owed Redis.
	Cache cache.DrainReport
}

// Shutdown ends hs, which serves s: readiness fails at once (/readyz answers 503), the
// server keeps serving for o.Delay, then the listener closes and the requests in flight
// complete (within o.DrainTimeout; connections of those still running then are closed), and
// the cache finishes its background work (cache.Drain: pending invalidations applied or left
// in the fence log). Closing the Redis and database pools is the caller's, after this. ctx
// ending cuts the delay and the drain short (pass one that has not ended: not the context
// whose end asked for the shutdown).
func (s *Server) Shutdown(ctx context.Context, hs *http.Server, o ShutdownOptions) (ShutdownReport, error) {
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.Wait == nil {
		o.Wait = sleep
	}
	var rep ShutdownReport
	rep.InFlight = s.InFlight()
	if o.Abrupt {
		rep.AtClose, rep.CutOff = rep.InFlight, rep.InFlight
		return rep, hs.Close()
	}
	s.stopping.Store(true)
	start := time.Now()
	if o.Delay > 0 {
		o.Wait(ctx, o.Delay)
	}
	rep.Delay = time.Since(start)
	rep.AtClose = s.InFlight()
	closed := time.Now()
	dctx, cancel := context.WithTimeout(ctx, o.DrainTimeout)
	err := hs.Shutdown(dctx)
	cancel()
	rep.Drain = time.Since(closed)
	if err != nil {
		rep.CutOff = s.InFlight()
		if cerr := hs.Close(); cerr != nil && !errors.Is(cerr, http.ErrServerClosed) {
			err = errors.Join(err, cerr)
		}
	}
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), cacheDrainTimeout)
	rep.Cache = s.cache.Drain(cctx)
	ccancel()
	return rep, err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
