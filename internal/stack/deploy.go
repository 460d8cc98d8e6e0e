package stack

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Drain is what an instance said it drained when it shut down (its "atlas: drained" line;
// refserver.ShutdownReport).
type Drain struct {
	InFlight int64         // requests in flight at the SIGTERM
	AtClose  int64         // requests in flight when the listener closed
	CutOff   int64         // requests cut off at the drain timeout (or by an abrupt exit)
	Delay    time.Duration // how long it served after readiness failed
	Took     time.Duration // how long the requests in flight took to complete after the close
	// Pending invalidations at the shutdown, and what became of them.
	Pending, Applied, HandedOver, Lost int
}

// parseDrain reads the fields of an "atlas: drained k=v …" line; false when it is not one.
func parseDrain(line string) (Drain, bool) {
	rest, ok := strings.CutPrefix(line, "atlas: drained ")
	if !ok {
		return Drain{}, false
	}
	var d Drain
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		n, _ := strconv.ParseInt(v, 10, 64)
		dur, _ := time.ParseDuration(v)
		switch k {
		case "in_flight":
			d.InFlight = n
		case "at_close":
			d.AtClose = n
		case "cut_off":
			d.CutOff = n
		case "delay":
			d.Delay = dur
		case "drain":
			d.Took = dur
		case "pending":
			d.Pending = int(n)
		case "applied":
			d.Applied = int(n)
		case "handed_over":
			d.HandedOver = int(n)
		case "lost":
			d.Lost = int(n)
		}
	}
	return d, true
}

// WithShutdown returns o with the instances' -shutdown-delay and -drain-timeout set.
func (o Options) WithShutdown(delay, drain time.Duration) Options {
	o.ShutdownDelay, o.DrainTimeout = delay, drain
	return o
}

// Restart is one graceful stop of an instance (stop-server), and its start again
// (restart-server, rolling-restart), as the stack saw it.
type Restart struct {
	Server int       // 1-based instance
	Term   time.Time // SIGTERM sent
	Exited time.Time // the process was gone
	Ready  time.Time // answering again on its address; zero when it was not started again
	// Drain is what the instance said it drained; nil when it said nothing (it was killed).
	Drain *Drain
}

// stopGrace is how much longer than its shutdown delay plus drain timeout an instance may
// take to exit after SIGTERM before it is SIGKILLed.
const stopGrace = 10 * time.Second

// Terminate ends the instance gracefully (the stop-server fault): SIGTERM, then it waits until
// the process exited (SIGKILL when it outlasts its shutdown delay and drain timeout by
// stopGrace). Its address stays reserved for Start.
func (s *Server) Terminate(ctx context.Context) (Restart, error) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	r := Restart{Server: s.Index}
	if cmd == nil {
		return r, fmt.Errorf("stack: server %d is not running", s.Index)
	}
	s.sampleRSS()
	r.Term = time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return r, fmt.Errorf("stack: server %d: SIGTERM: %w", s.Index, err)
	}
	limit := time.NewTimer(s.o.ShutdownDelay + s.o.DrainTimeout + stopGrace)
	defer limit.Stop()
	var err error
	select {
	case <-done:
	case <-limit.C:
		cmd.Process.Kill()
		<-done
		err = fmt.Errorf("stack: server %d did not exit within %s of SIGTERM: killed", s.Index, s.o.ShutdownDelay+s.o.DrainTimeout+stopGrace)
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		err = ctx.Err()
	}
	r.Exited = time.Now()
	s.mu.Lock()
	s.cmd = nil
	r.Drain, s.drain = s.drain, nil
	s.mu.Unlock()
	return r, err
}

// Restart stops the instance gracefully and starts it again on its address once it has
// exited (the restart-server fault); it returns when the instance answers again.
func (s *Server) Restart(ctx context.Context) (Restart, error) {
	r, err := s.Terminate(ctx)
	if err != nil && r.Exited.IsZero() {
		return r, err
	}
	if serr := s.Start(ctx); serr != nil {
		return r, fmt.Errorf("stack: server %d: start after stop: %w", s.Index, serr)
	}
	r.Ready = time.Now()
	return r, err
}

// rollingRestart restarts every instance in turn (the rolling-restart fault): the next is
// stopped interval after the one before answers again.
func (st *Stack) rollingRestart(ctx context.Context, interval time.Duration) error {
	for i, srv := range st.Servers {
		if i > 0 && interval > 0 {
			t := time.NewTimer(interval)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if err := st.restartOne(ctx, srv, true); err != nil {
			return err
		}
	}
	return nil
}

// restartOne stops srv gracefully, starts it again when again is set, and records it.
func (st *Stack) restartOne(ctx context.Context, srv *Server, again bool) error {
	var r Restart
	var err error
	if again {
		r, err = srv.Restart(ctx)
	} else {
		r, err = srv.Terminate(ctx)
	}
	if !r.Term.IsZero() {
		st.mu.Lock()
		st.restarts = append(st.restarts, r)
		st.mu.Unlock()
	}
	return err
}

// Restarts lists the graceful stops and restarts of instances so far, in order.
func (st *Stack) Restarts() []Restart {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]Restart(nil), st.restarts...)
}
