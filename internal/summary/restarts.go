package summary

// Restart is one graceful stop of a server instance during the measured window (the
// stop-server, restart-server and rolling-restart faults), measured from the harness's side
// and, in Drain, from the server's own account.
type Restart struct {
	Server int     `json:"server"`    // 1-based instance, as in faults' server: N
	TermS  float64 `json:"sigterm_s"` // when SIGTERM was sent, seconds from the end of warm-up
	// ExitS is how long after the SIGTERM the process was gone (shutdown delay + drain).
	ExitS float64 `json:"exit_s"`
	// ReadyS is how long after the SIGTERM the instance answered again; nil when it was not
	// started again (stop-server).
	ReadyS *float64 `json:"ready_s,omitempty"`
	// InFlight is the number of requests to the instance sent before the SIGTERM and
	// answered after it, as the harness saw them.
	InFlight int64 `json:"in_flight"`
	// Errors are the failed requests, to any instance, that were in flight at the SIGTERM
	// or sent until the instance answered again (until it exited, after a stop-server).
	Errors int64 `json:"errors"`
	// Drain is what the server said it drained; nil when it said nothing (it was killed).
	Drain *Drain `json:"drain,omitempty"`
	// First is the restarted instance over its first seconds after it answered again;
	// nil when it was not started again.
	First *FirstWindow `json:"first,omitempty"`
}

// Drain is a server's own account of its graceful shutdown ("atlas: drained" line).
type Drain struct {
	InFlight int64   `json:"in_flight"` // requests in flight at the SIGTERM
	AtClose  int64   `json:"at_close"`  // requests in flight when the listener closed
	CutOff   int64   `json:"cut_off"`   // requests cut off (drain timeout, or an abrupt exit)
	DelayMS  float64 `json:"delay_ms"`  // how long it kept serving after readiness failed
	DrainMS  float64 `json:"drain_ms"`  // how long the requests in flight took after the close
	// Pending invalidations at the shutdown: applied before the exit, handed over to the
	// fence log (taken over by the other instances), or lost (no fence log held them).
	Pending    int `json:"pending"`
	Applied    int `json:"applied"`
	HandedOver int `json:"handed_over"`
	Lost       int `json:"lost"`
}

// FirstWindow is a restarted instance's figures over its first seconds: its cold local state.
type FirstWindow struct {
	Seconds  float64 `json:"seconds"`  // the window's length (scenario deploy.firstWindow)
	Requests int64   `json:"requests"` // answered by the instance in the window
	Errors   int64   `json:"errors"`
	// HitRate is the share of cache lookups that hit among its answers (X-Cache and
	// X-Atlas-Tier-Cache headers); -1 when it made none.
	HitRate float64 `json:"hit_rate"`
	P99     float64 `json:"p99_ms"` // latency from the intended send time
}

// RestartTotals are the restarts of a run added up, so that thresholds (which address no
// list by position) can judge them all at once: restarts_total.cut_off == 0.
type RestartTotals struct {
	Count     int   `json:"count"`     // graceful stops in the window
	Restarted int   `json:"restarted"` // of them, started again and answering
	Drained   int   `json:"drained"`   // of them, with the server's own account of a drain
	InFlight  int64 `json:"in_flight"` // requests in flight at the SIGTERMs, as the harness saw them
	Errors    int64 `json:"errors"`    // restarts[].errors added up
	CutOff    int64 `json:"cut_off"`   // requests the drains cut off
	Lost      int   `json:"lost"`      // pending invalidations lost with a process
	// DrainMaxMS and ExitMaxS are the longest drain (server's account) and the longest time
	// from a SIGTERM until the process was gone.
	DrainMaxMS float64 `json:"drain_max_ms"`
	ExitMaxS   float64 `json:"exit_max_s"`
}

// TotalRestarts adds up restarts; nil when there were none.
func TotalRestarts(restarts []Restart) *RestartTotals {
	if len(restarts) == 0 {
		return nil
	}
	t := &RestartTotals{Count: len(restarts)}
	for _, r := range restarts {
		if r.ReadyS != nil {
			t.Restarted++
		}
		t.InFlight += r.InFlight
		t.Errors += r.Errors
		t.ExitMaxS = max(t.ExitMaxS, r.ExitS)
		if d := r.Drain; d != nil {
			t.Drained++
			t.CutOff += d.CutOff
			t.Lost += d.Lost
			t.DrainMaxMS = max(t.DrainMaxMS, d.DrainMS)
		}
	}
	return t
}
