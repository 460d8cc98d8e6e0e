package runner

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// How the stack is chosen: against -target the run only checks that the server answers;
// otherwise it starts Redis (the -redis backend, or the scenario's cluster), the database
// (-db) and the scenario's servers, and describes the Redis it ran on at the end.

// up brings the stack up (Redis, the database, the servers) and checks that it can inject
// the scenario's faults; against a target it only checks that the target answers.
func (m *modeRun) up(ctx context.Context) error {
	e, sc, mode := m.e, m.sc, m.mode
	if e.Target != "" {
		m.bases = []string{e.Target}
		if err := reachable(ctx, e.Target); err != nil {
			return &EnvError{err}
		}
		notes, err := e.learnUsers(ctx)
		m.notes = append(m.notes, notes...)
		return err
	}
	fmt.Fprintf(e.Progress, "%s starting Redis, DB (%d users) and %s…\n", m.label(), sc.Population.Users, plural(max(sc.Servers, 1), "server"))
	rl := e.openRunLog(m.dir)
	m.onClose(func() { rl.close() })
	m.onClose(func() { rl.report(e.Progress, m.label()) })
	var logw io.Writer = io.Discard
	if lf, err := os.Create(filepath.Join(m.dir, fmt.Sprintf("server-%s%s.log", mode, repSuffix(m.rep)))); err == nil {
		m.onClose(func() { lf.Close() })
		logw = lf
	}
	var shape *stack.ClusterShape
	if c := sc.Redis.Cluster; c != nil {
		shape = &stack.ClusterShape{Masters: c.Masters, Replicas: c.Replicas, NodeTimeout: c.NodeTimeout}
	}
	st, err := stack.Up(ctx, stack.Options{
		Binary: e.Binary, Redis: e.Redis, Cluster: shape, Persistence: sc.Redis.Persistence, RedisMemory: e.RedisMemory, DB: e.DB, Mode: string(mode), Config: m.config,
		Seed: sc.Seed, Users: sc.Population.Users, Conversations: sc.Population.Conversations,
		Messages: sc.Population.Messages, Tiers: sc.Population.Tiers.String(),
		DBLatency: sc.DB.Latency, DBJitter: sc.DB.Jitter, Secret: e.Secret, ServerLog: logw, Log: rl.Logger,
		Servers: sc.Servers,
		SeedProgress: func(line string) {
			fmt.Fprintf(e.Progress, "%s %s\n", m.label(), strings.TrimPrefix(line, "atlas: "))
		},
	}.WithShutdown(shutdownFlags(sc)))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &EnvError{fmt.Errorf("runner: %s stack: %w%s", mode, err, logTail(logw, 8))}
	}
	m.onClose(func() { st.Close() })
	m.st, m.bases = st, st.URLs()
	if st.Redis != nil {
		m.backend = st.Redis.Backend
	}
	for _, f := range sc.Faults {
		if err := st.Supports(f); err != nil {
			return &UsageError{fmt.Errorf("runner: scenario %s: %w", sc.Name, err)}
		}
	}
	if st.Redis != nil && st.Redis.Note != "" {
		m.notes = append(m.notes, summary.Note{Kind: summary.NoteRedis, Text: st.Redis.Note})
	}
	return nil
}

// reachable checks that a -target answers /healthz.
func reachable(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("runner: -target %q: %w", base, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("runner: -target %s unreachable: %w", base, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("runner: -target %s/healthz answered %s", base, res.Status)
	}
	return nil
}

// clusterSlotRanges returns a per-slot-range tally of cache lookups when the stack runs a
// Redis Cluster the harness started (whose slot ranges it assigned), else nil.
func clusterSlotRanges(st *stack.Stack) *metrics.SlotRanges {
	if st == nil || st.Redis == nil || st.Redis.Cluster == nil {
		return nil
	}
	masters := st.Redis.Cluster.MasterCount()
	slots := make([]string, masters)
	for i := range slots {
		lo, hi := redisproc.SlotRange(i+1, masters)
		slots[i] = fmt.Sprintf("%d-%d", lo, hi)
	}
	return metrics.NewSlotRanges(slots, func(user string) int {
		// Every key of a user shares the {u:…} hash tag, hence one slot.
		return redisproc.RangeOfSlot(redisproc.KeySlot(cache.IDGenKey(user)), masters)
	})
}

// redisFigures describes the Redis a stack ran on, at the end of the mode: the cluster's
// nodes with their roles now, or the one server. nil for an external Redis.
func redisFigures(ctx context.Context, r *stack.Redis) *summary.Redis {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if c := r.Cluster; c != nil {
		out := &summary.Redis{Topology: summary.Topology{Kind: summary.TopologyCluster, Masters: c.MasterCount(), Replicas: c.ReplicaCount()}}
		for _, n := range c.Topology(ctx) {
			out.Nodes = append(out.Nodes, summary.RedisNode{Name: n.Name, Address: n.Addr, Role: n.Role, Up: n.Up, Keys: n.Keys, UsedMemory: n.UsedBytes})
		}
		return out
	}
	if r.Backend == stack.BackendExternal {
		return nil
	}
	out := &summary.Redis{Topology: summary.Topology{Kind: summary.TopologySingle, Masters: 1}}
	addr := strings.TrimPrefix(r.URL, "redis://")
	keys, used, err := redisproc.NodeStats(ctx, addr)
	out.Nodes = []summary.RedisNode{{Name: "redis", Address: addr, Role: redisproc.RoleMaster, Up: err == nil, Keys: keys, UsedMemory: used}}
	return out
}

// logTail returns the last n lines of the server log w (an *os.File the run wrote), as
// an indented block to append to an error, or "" when there is nothing to show.
func logTail(w io.Writer, n int) string {
	f, ok := w.(*os.File)
	if !ok {
		return ""
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	lines = lines[max(0, len(lines)-n):]
	return "\nthe server's log ended with:\n    " + strings.Join(lines, "\n    ")
}

// plural is "1 server", "3 servers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func dbKind(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return "postgres"
	}
	return "sqlite"
}
