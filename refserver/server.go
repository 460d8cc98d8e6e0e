package refserver

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/refserver/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Limits are what a tier may do; part of the GET /api/me/tier answer.
type Limits struct {
	MessagesPerDay  int `json:"messagesPerDay"` // 0 = unlimited
	MaxMessageBytes int `json:"maxMessageBytes"`
}

// DefaultLimits are the per-tier limits of the reference server.
func DefaultLimits() map[atlas.Tier]Limits {
	return map[atlas.Tier]Limits{
		atlas.TierFree:   {MessagesPerDay: 200, MaxMessageBytes: 4000},
		atlas.TierCore:   {MessagesPerDay: 0, MaxMessageBytes: 16000},
		atlas.TierStudio: {MessagesPerDay: 0, MaxMessageBytes: 32000},
	}
}

// Config configures the server. The zero value of each field means its default.
type Config struct {
	// JWTSecret verifies HS256 tokens. Required.
	JWTSecret []byte
	// Limits per tier; default DefaultLimits().
	Limits map[atlas.Tier]Limits
	// BodyLimit caps request bodies in bytes (413 beyond); default 64 KiB.
	BodyLimit int64
	// Now is the clock; default time.Now. Tests pass a deterministic one.
	Now func() time.Time
	// Log receives the server's logs; default discards.
	Log *slog.Logger
}

// Server is the reference Atlas API. It implements http.Handler.
type Server struct {
	cfg      Config
	store    store.Store
	cache    *cache.Cache
	log      *slog.Logger
	mux      *http.ServeMux
	requests atomic.Uint64
	lifecycle
	tokens   tokenMemo
	registry *prometheus.Registry
	duration *prometheus.HistogramVec
	// slowCached is the test-only slowdown of cache hits (BuildSlowdown), zero normally.
	slowCached Slowdown
}

// New builds the server over a store and a cache. In no-cache mode pass a cache built
// with a nil client (every lookup is then a BYPASS straight to the store).
func New(cfg Config, st store.Store, c *cache.Cache) *Server {
	if cfg.Limits == nil {
		cfg.Limits = DefaultLimits()
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 64 << 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{cfg: cfg, store: st, cache: c, log: cfg.Log, mux: http.NewServeMux()}
	if sd, err := BuildSlowdown(); err != nil {
		s.log.Error("ignoring a bad test-only build knob", "err", err)
	} else if !sd.Zero() {
		s.slowCached = sd
		s.log.Warn("TEST-ONLY build: every cached GET served from the cache is slowed down", "by", sd.String())
	}
	s.initMetrics()
	s.routes()
	return s
}

// Mode is "cache" when a working cache layer is configured, else "nocache".
func (s *Server) Mode() string {
	if s.cache.Enabled() {
		return "cache"
	}
	return "nocache"
}

// Warmer loads what cache warming needs: tier and rendered profile of the given users,
// or the IDs and tiers (no profile) of the most active ones, at most limit, when ids is
// nil. Pass it as cache.Options.Warmer.
func Warmer(st store.Store, limit int) func(ctx context.Context, ids []string) ([]cache.WarmEntry, error) {
	return func(ctx context.Context, ids []string) ([]cache.WarmEntry, error) {
		var users []store.User
		var err error
		if ids == nil {
			users, err = st.ActiveUsers(ctx, limit)
		} else {
			users, err = st.UsersByID(ctx, ids)
		}
		if err != nil {
			return nil, err
		}
		out := make([]cache.WarmEntry, 0, len(users))
		for _, u := range users {
			e := cache.WarmEntry{UserID: u.ID, Tier: string(u.Tier)}
			if ids != nil { // the active population's ask uses the IDs only: no profile for a million users
				e.Profile = renderProfile(u)
			}
			out = append(out, e)
		}
		return out, nil
	}
}

// route is one authenticated API route.
type route struct {
	pattern string
	class   cache.Class // "" for writes
	handler func(w http.ResponseWriter, r *http.Request, rc *requestContext)
	// resource returns the cache resource a ClassAPIResponses GET will load, or
	// false when the request is invalid (the handler then refuses it).
	resource func(r *http.Request) (string, bool)
}

func (s *Server) routes() {
	for _, rt := range []route{
		{"GET /api/me", cache.ClassUserProfile, s.getProfile, nil},
		{"GET /api/me/tier", cache.ClassTier, s.getTier, nil},
		{"PUT /api/me/tier", "", s.putTier, nil},
		{"GET /api/conversations", cache.ClassConversations, s.listConversations, nil},
		{"POST /api/conversations", "", s.createConversation, nil},
		{"GET /api/conversations/{id}/messages", cache.ClassAPIResponses, s.listMessages, messagesResource},
		{"POST /api/conversations/{id}/messages", "", s.createMessage, nil},
	} {
		h := s.authenticated(rt)
		if rt.class != "" {
			h = slowdown(h, s.slowCached)
		}
		s.mux.Handle(rt.pattern, s.instrument(rt.pattern, rt.class != "", h))
	}
	s.mux.Handle("GET /healthz", s.instrument("GET /healthz", false, http.HandlerFunc(s.healthz)))
	s.mux.Handle("GET /readyz", s.instrument("GET /readyz", false, http.HandlerFunc(s.readyz)))
	s.mux.Handle("GET /metrics", s.metricsHandler())
	s.mux.HandleFunc("/", s.notFound)
}

// requestIDPattern is what an echoed X-Request-Id may look like.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ServeHTTP applies what every request gets, refuses non-canonical paths, and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic", "value", v, "path", r.URL.Path)
			s.writeError(w, r, &Error{http.StatusInternalServerError, "internal", "internal error"})
		}
	}()
	if id := r.Header.Get("X-Request-Id"); id != "" && requestIDPattern.MatchString(id) {
		w.Header().Set("X-Request-Id", id)
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		s.requests.Add(1)
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		h := w.Header()
		h.Set("Cache-Control", "private, no-store")
		h.Set("X-Cache", cache.Bypass.String())
		h.Set("X-Atlas-Tier", "none")
	}
	if !canonicalPath(r) {
		s.writeError(w, r, errNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.BodyLimit)
	s.mux.ServeHTTP(w, r)
}

// canonicalPath refuses every path variant that could alias a route: percent-encoded
// characters, empty, dot or matrix (;) segments, and trailing slashes. They get 404,
// never a redirect and never another key.
func canonicalPath(r *http.Request) bool {
	p := r.URL.Path
	if r.URL.RawPath != "" || p == "" || p[0] != '/' {
		return false
	}
	if p == "/" {
		return true
	}
	if strings.HasSuffix(p, "/") || strings.ContainsAny(p, ";\\%") {
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// notFound answers every unrouted request: 405 when the path exists under another method.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			s.writeError(w, r, errMethodNotAllowed)
			return
		}
	}
	s.writeError(w, r, errNotFound)
}
