package refserver

import (
	"context"
	"net/http"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// Health checks Redis and the DB (each within a short timeout) and reads the counters: the
// answer of GET /healthz, atlas.Health, which the harness decodes with the same type.
func (s *Server) Health(ctx context.Context, withStats bool) atlas.Health {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	h := atlas.Health{Status: "ok", Mode: s.Mode(), Redis: s.cache.Health(ctx), DB: atlas.DBHealth{Up: true, Driver: s.store.Driver()}}
	if err := s.store.Ping(ctx); err != nil {
		h.DB.Up, h.Status = false, "unavailable"
	}
	if withStats {
		h.Redis.Nodes = s.cache.NodesHealth(ctx)
		h.Stats = &atlas.Stats{Requests: s.requests.Load(), Cache: s.cache.Stats(), DB: s.store.Stats()}
		if s.cache.Enabled() {
			rs := s.cache.RedisStats()
			h.Stats.Redis = &rs
		}
	}
	return h
}

// healthz answers 200 while the DB is up, even with Redis down; 503 otherwise.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := s.Health(r.Context(), r.URL.Query().Get("includeStats") == "true")
	status := http.StatusOK
	if !h.DB.Up {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, h)
}
