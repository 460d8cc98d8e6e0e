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
// harness's and the servers' GC counters at both ends. The returned function stops it and
// puts the figures into f; with a nil f it only stops (safe after the first call).
func watchProcesses(ctx context.Context, st *stack.Stack, bases []string, total time.Duration) (finish func(f *summary.Figures)) {
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
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
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
	return func(f *summary.Figures) {
		stop()
		<-done
		if f == nil {
			return
		}
		f.Processes = sampler.Series()
		g := procstat.SelfGC().Sub(selfStart)
		f.GC = append(f.GC, summary.GCPauses{Process: "harness", Count: g.Count, PauseMS: ms(g.Pause)})
		for i, end := range serverGC() {
			if start := serversStart[i]; start != nil && end != nil {
				g := end.Sub(*start)
				f.GC = append(f.GC, summary.GCPauses{Process: fmt.Sprintf("server-%d", i+1), Count: g.Count, PauseMS: ms(g.Pause)})
			}
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
