package runner

import (
	"context"
	"fmt"

	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/live"
)

// openLive starts the run's live view when asked for (Options.MetricsAddr, Options.JSONL);
// nil otherwise. Its methods are no-ops on nil.
func (o *engine) openLive(ctx context.Context) (*live.View, error) {
	if o.MetricsAddr == "" && o.JSONL == nil {
		return nil, nil
	}
	v := live.New(o.JSONL)
	if o.MetricsAddr != "" {
		if err := v.Serve(ctx, o.MetricsAddr); err != nil {
			return nil, &EnvError{err}
		}
		fmt.Fprintf(o.lines, "live view: http://%s/metrics\n", v.Addr())
		fmt.Fprintf(o.Progress, "live view: http://%s/metrics\n", v.Addr())
	}
	return v, nil
}

// livePhase names the phase an attack's event starts, for the live view: the measured
// window's steady state after the warm-up, else the event (a fault) itself.
func livePhase(event string) string {
	if event == driver.EventWarmupEnd {
		return "steady"
	}
	return event
}
