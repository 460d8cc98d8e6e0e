package refserver

import (
	"context"
	"net/http"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/refserver/store"
)

// Health is the answer of GET /healthz; the harness decodes it with this type.
type Health struct {
	Status string            `json:"status"` // ok, or unavailable when the DB is down
	Mode   string            `json:"mode"`   // cache or nocache
	Redis  cache.RedisHealth `json:"redis"`
	DB     DBHealth          `json:"db"`
	Stats  *Stats            `json:"stats,omitempty"` // with ?includeStats=true
}

// DBHealth says whether the database answers.
type DBHealth struct {
	Up     bool   `json:"up"`
	Driver string `json:"driver"`
}

// Stats are the counters since the server started.
type Stats struct {
	Requests uint64                           `json:"requests"` // requests under /api/
	Cache    map[cache.Class]cache.ClassStats `json:"cache"`
	DB       store.QueryStats                 `json:"db"`
	// Redis is what the cache's Redis client sent and read (absent without a cache client).
	Redis *cache.RedisStats `json:"redis,omitempty"`
}

// Health checks Redis and the DB (each within a short timeout) and reads the counters.
func (s *Server) Health(ctx context.Context, withStats bool) Health {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	h := Health{Status: "ok", Mode: s.Mode(), Redis: s.cache.Health(ctx), DB: DBHealth{Up: true, Driver: s.store.Driver()}}
	if err := s.store.Ping(ctx); err != nil {
		h.DB.Up, h.Status = false, "unavailable"
	}
	if withStats {
		h.Stats = &Stats{Requests: s.requests.Load(), Cache: s.cache.Stats(), DB: s.store.Stats()}
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
