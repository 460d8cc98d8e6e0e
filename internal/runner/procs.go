package runner

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/atlasbench/atlasbench/internal/procstat"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// maxRSSSamples bounds the RSS series of a process: a long soak samples less often.
const maxRSSSamples = 600

// watchProcesses samples the resident memory of the run's processes (the harness, every
// server instance, every Redis node the harness runs) over an attack of total, and reads the
// harness's and the servers' GC counters at both ends. figures stops it and returns the
// figures; stop only stops it (either may be called after the other).
func watchProcesses(ctx context.Context, st *stack.Stack, bases []string, total time.Duration) (figures func() ([]summary.ProcessRSS, []summary.GCPauses), stop func()) {
	sources := []procstat.Source{procstat.Self()}
	if st != nil {
		for _, sv := range st.Servers {
			sources = append(sources, procstat.Source{Name: fmt.Sprintf("server-%d", sv.Index), Pids: func() []int { return []int{sv.Pid()} }})
		}
		if st.Redis != nil && len(st.Redis.Pids()) > 0 {
			sources = append(sources, procstat.Source{Name: "redis", Pids: st.Redis.Pids})
		}
	}
	every := max(time.Second, (total / maxRSSSamples).Round(time.Second))
	sampler := procstat.NewSampler(every, sources...)
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { sampler.Run(sctx); close(done) }()

	client := &http.Client{Timeout: 2 * time.Second}
	serverGC := func() []*procstat.GC {
		out := make([]*procstat.GC, len(bases))
		for i, b := range bases {
			if g, err := procstat.ServerGC(context.WithoutCancel(ctx), client, b); err == nil {
				out[i] = &g
			}
		}
		return out
	}
	selfStart, serversStart := procstat.SelfGC(), serverGC()
	stop = func() {
		cancel()
		<-done
	}
	return func() ([]summary.ProcessRSS, []summary.GCPauses) {
		stop()
		g := procstat.SelfGC().Sub(selfStart)
		gc := []summary.GCPauses{{Process: "harness", Count: g.Count, PauseMS: ms(g.Pause)}}
		for i, end := range serverGC() {
			if start := serversStart[i]; start != nil && end != nil {
				g := end.Sub(*start)
				gc = append(gc, summary.GCPauses{Process: fmt.Sprintf("server-%d", i+1), Count: g.Count, PauseMS: ms(g.Pause)})
			}
		}
		return sampler.Series(), gc
	}, stop
}
