package runner

import (
	"context"

	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/witness"
)

// openWitnesses names the second witnesses of one mode: the stack's Redis and run
// database (or -target-redis and -target-db), and every server's /metrics. Its own
// poller reads the server's counters, so the recorder's snapshots stay the attack's.
func (e *engine) openWitnesses(ctx context.Context, st *stack.Stack, bases []string) *witness.Session {
	own := metrics.NewPoller(bases[0], metrics.PollerOptions{More: bases[1:]})
	src := witness.Sources{Server: own.Poll}
	for _, b := range bases {
		src.MetricsURLs = append(src.MetricsURLs, b+"/metrics")
	}
	switch {
	case st != nil:
		if st.Redis != nil {
			src.Redis = []string{st.Redis.URL}
		}
		if st.DBName != "" {
			src.PGDSN, src.PGDatabase = e.DB, st.DBName
		}
	default:
		if e.TargetRedis != "" {
			src.Redis = []string{e.TargetRedis}
		}
		src.PGDSN = e.TargetDB
	}
	return witness.Open(ctx, src)
}
