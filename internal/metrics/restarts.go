package metrics

import (
	"math"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// RestartEvent is one graceful stop (and start) of an instance, in offsets from the end of
// warm-up: what the stack saw (stack.Restart), for Restarts.Figures.
type RestartEvent struct {
	Server int           // 1-based instance
	Term   time.Duration // SIGTERM sent
	Exited time.Duration // the process was gone
	// Ready is when it answered again; Restarted is false for a stop without a start.
	Ready     time.Duration
	Restarted bool
	Drain     *summary.Drain // the server's own account; nil when it gave none
}

// Restarts keeps what the per-restart figures need of every measured record (a few words
// each): it is used only by runs whose scenario restarts instances.
type Restarts struct {
	mu   sync.Mutex
	recs []restartRec
}

type restartRec struct {
	server         int
	sent, end, lat time.Duration // from the end of warm-up; lat from the intended send time
	err            bool
	hits, lookups  int8
}

// NewRestarts returns an empty tally.
func NewRestarts() *Restarts { return &Restarts{} }

// Add keeps a measured record (warm-up records are ignored).
func (r *Restarts) Add(v check.Verdict) {
	if v.Warmup {
		return
	}
	hits, lookups := headerLookups(v)
	r.mu.Lock()
	r.recs = append(r.recs, restartRec{server: v.Server, sent: v.Sent, end: v.End(), lat: v.Latency,
		err: v.Error != "", hits: int8(hits), lookups: int8(lookups)})
	r.mu.Unlock()
}

// Figures measures each restart: requests to the instance in flight at the SIGTERM; errors
// (any instance) of requests in flight then or sent until it answered again (until it
// exited, when it was not started again); and, for a restart, the instance's requests, hit
// rate and p99 over the first window after it answered again.
func (r *Restarts) Figures(events []RestartEvent, window time.Duration) []summary.Restart {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]summary.Restart, 0, len(events))
	for _, e := range events {
		s := summary.Restart{Server: e.Server, TermS: secs(e.Term), ExitS: secs(e.Exited - e.Term), Drain: e.Drain}
		until := e.Exited
		if e.Restarted {
			ready := secs(e.Ready - e.Term)
			s.ReadyS, until = &ready, e.Ready
		}
		var first *hist
		var fw summary.FirstWindow
		var hits, lookups int64
		if e.Restarted {
			first = newHist(histDigits)
			fw.Seconds = window.Seconds()
		}
		for _, rec := range r.recs {
			mine := rec.server == e.Server-1
			if mine && rec.sent < e.Term && rec.end > e.Term {
				s.InFlight++
			}
			if rec.err && rec.end >= e.Term && rec.sent <= until {
				s.Errors++
			}
			if first != nil && mine && rec.sent >= e.Ready && rec.sent < e.Ready+window {
				fw.Requests++
				if rec.err {
					fw.Errors++
				}
				first.record(rec.lat)
				hits += int64(rec.hits)
				lookups += int64(rec.lookups)
			}
		}
		if first != nil {
			fw.HitRate = -1
			if lookups > 0 {
				fw.HitRate = float64(hits) / float64(lookups)
			}
			fw.P99 = first.quantileMS(99)
			s.First = &fw
		}
		out = append(out, s)
	}
	return out
}

// secs is d in seconds, to the millisecond.
func secs(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }
