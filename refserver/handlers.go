package refserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/refserver/store"
)

// requestContext is what an authenticated handler knows about its caller.
type requestContext struct {
	userID      string
	tier        atlas.Tier
	tierOutcome cache.Outcome // how the tier lookup was served
	tierValid   cache.Validator
	view        *cache.UserView
	// commands counts the request's Redis commands; set for conditional GETs only (a 304
	// says how many it cost).
	commands *cache.CommandCount
}

// authenticated verifies the bearer token (the only source of the principal: headers
// such as X-User-Id are ignored), looks the tier up through the cache, and sets
// X-Atlas-Tier and X-Atlas-Tier-Cache before calling the route's handler. A cached
// GET declares its entry first, so the tier lookup's one Redis read fetches it too.
func (s *Server) authenticated(rt route) http.Handler {
	h := rt.handler
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || token == "" {
			s.writeError(w, r, unauthorized("missing bearer token"))
			return
		}
		userID, err := s.tokens.verify(s.cfg.JWTSecret, token, s.cfg.Now())
		if err != nil {
			s.writeError(w, r, unauthorized("invalid token"))
			return
		}
		ctx := r.Context()
		var commands *cache.CommandCount
		if r.Method == http.MethodGet && r.Header.Get("If-None-Match") != "" {
			ctx, commands = cache.WithCommandCount(ctx)
			r = r.WithContext(ctx)
		}
		view := s.cache.User(ctx, userID)
		if r.Method == http.MethodGet && rt.class != "" && rt.class != cache.ClassTier {
			resource, ok := "", true
			if rt.resource != nil {
				resource, ok = rt.resource(r)
			}
			if ok {
				view.Prefetch(rt.class, resource)
			}
		}
		val, outcome, valid, err := view.LoadValidated(ctx, cache.ClassTier, "", "", func(ctx context.Context) ([]byte, error) {
			t, err := s.store.GetTier(ctx, userID)
			if errors.Is(err, store.ErrNotFound) {
				return nil, cache.ErrNotFound
			}
			return []byte(t), err
		})
		w.Header().Set("X-Atlas-Tier-Cache", outcome.String())
		if errors.Is(err, cache.ErrNotFound) {
			s.writeError(w, r, unauthorized("unknown user"))
			return
		}
		if err != nil {
			s.writeError(w, r, fmt.Errorf("tier lookup: %w", err))
			return
		}
		tier := atlas.Tier(val)
		if !tier.Valid() {
			s.writeError(w, r, fmt.Errorf("tier lookup: invalid tier %q", val))
			return
		}
		w.Header().Set("X-Atlas-Tier", string(tier))
		h(w, r, &requestContext{userID: userID, tier: tier, tierOutcome: outcome, tierValid: valid, view: view, commands: commands})
	})
}

// serveCached answers a cacheable GET: the body from the cache, or from load on a miss,
// with its validator; 304 when the request's If-None-Match names the current one, from
// the view's one MGET when Redis vouches for it (no DB query), else from the answer.
func (s *Server) serveCached(w http.ResponseWriter, r *http.Request, rc *requestContext, class cache.Class, resource string, load func(ctx context.Context) ([]byte, error)) {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		var etag string
		v, ok := rc.view.Revalidate(r.Context(), class, string(rc.tier), resource, func(v cache.Validator) bool {
			etag = v.ETag(string(rc.tier))
			return etagMatches(inm, etag, false) // the entry may be a cached "not found"
		})
		if ok {
			w.Header().Set("X-Cache", cache.Hit.String())
			how := revalidatedGenerations
			if v.Stored() {
				how = revalidatedEntry
			}
			s.notModified(w, rc, etag, how)
			return
		}
	}
	body, outcome, valid, err := rc.view.LoadValidated(r.Context(), class, string(rc.tier), resource, func(ctx context.Context) ([]byte, error) {
		b, err := load(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return nil, cache.ErrNotFound
		}
		return b, err
	})
	w.Header().Set("X-Cache", outcome.String())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveValidated(w, r, rc, valid, body, revalidatedBody)
}

func (s *Server) getProfile(w http.ResponseWriter, r *http.Request, rc *requestContext) {
	s.serveCached(w, r, rc, cache.ClassUserProfile, "", func(ctx context.Context) ([]byte, error) {
		u, err := s.store.GetUser(ctx, rc.userID)
		if err != nil {
			return nil, err
		}
		return renderProfile(u), nil
	})
}

// getTier answers from the tier lookup the middleware made: its X-Cache is that lookup's.
func (s *Server) getTier(w http.ResponseWriter, r *http.Request, rc *requestContext) {
	w.Header().Set("X-Cache", rc.tierOutcome.String())
	how := revalidatedBody
	if rc.tierOutcome == cache.Hit {
		how = revalidatedEntry // the tier lookup's MGET alone vouches
	}
	s.serveValidated(w, r, rc, rc.tierValid, renderTier(rc.userID, rc.tier, s.cfg.Limits[rc.tier]), how)
}

func (s *Server) putTier(w http.ResponseWriter, r *http.Request, rc *requestContext) {
	var in struct {
		Tier string `json:"tier"`
	}
	if err := decodeBody(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	tier := atlas.Tier(in.Tier)
	if !tier.Valid() {
		s.writeError(w, r, badRequest(`tier: must be one of "free", "core", "studio"`))
		return
	}
	if err := s.store.SetTier(r.Context(), rc.userID, tier); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.invalidate(r.Context(), rc.userID, cache.ScopeAll); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("X-Atlas-Tier", string(tier))
	writeBody(w, http.StatusOK, renderTier(rc.userID, tier, s.cfg.Limits[tier]))
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, rc *requestContext) {
	s.serveCached(w, r, rc, cache.ClassConversations, "", func(ctx context.Context) ([]byte, error) {
		cs, err := s.store.ListConversations(ctx, rc.userID)
		if err != nil {
			return nil, err
		}
		return renderConversations(rc.userID, cs), nil
	})
}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request, rc *requestContext) {
	var in struct {
		Title string `json:"title"`
	}
	if err := decodeBody(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if n := utf8.RuneCountInString(in.Title); n == 0 || n > 200 || !utf8.ValidString(in.Title) {
		s.writeError(w, r, badRequest("title: must be 1 to 200 characters of valid UTF-8"))
		return
	}
	c, err := s.store.CreateConversation(r.Context(), rc.userID, in.Title, s.cfg.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The list changed, and the new ID's pages may hold a cached "not found".
	if err := s.invalidateConversation(r.Context(), rc.userID, c.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeBody(w, http.StatusCreated, renderConversation(c))
}

// Default and largest page of GET …/messages.
const (
	defaultMessageLimit = 50
	maxMessageLimit     = 200
)

// messagesPage parses GET …/messages: the conversation and the page size.
func messagesPage(r *http.Request) (id int64, limit int, err error) {
	id, ok := parseConversationRef(r.PathValue("id"))
	if !ok {
		return 0, 0, errNotFound
	}
	limit = defaultMessageLimit
	if v, present := r.URL.Query()["limit"]; present {
		n, err := strconv.Atoi(v[0])
		if len(v) != 1 || err != nil || n < 1 || n > maxMessageLimit {
			return 0, 0, badRequest(fmt.Sprintf("limit: must be one integer from 1 to %d", maxMessageLimit))
		}
		limit = n
	}
	return id, limit, nil
}

// pageResource is the cache resource of one page of a conversation's messages: the
// routed resource with the normalised query, never the raw URL. Its resource path
// ("messages/c12") is the conversation's, which a posted message invalidates.
func pageResource(id int64, limit int) string {
	return "messages/" + conversationRef(id) + "?limit=" + strconv.Itoa(limit)
}

// messagesResource is the cache resource GET …/messages will load (route.resource).
func messagesResource(r *http.Request) (string, bool) {
	id, limit, err := messagesPage(r)
	return pageResource(id, limit), err == nil
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, rc *requestContext) {
	id, limit, err := messagesPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resource := pageResource(id, limit)
	s.serveCached(w, r, rc, cache.ClassAPIResponses, resource, func(ctx context.Context) ([]byte, error) {
		if _, err := s.store.GetConversation(ctx, rc.userID, id); err != nil {
			return nil, err
		}
		ms, err := s.store.ListMessages(ctx, id, limit)
		if err != nil {
			return nil, err
		}
		return renderMessages(rc.userID, id, ms), nil
	})
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request, rc *requestContext) {
	id, ok := parseConversationRef(r.PathValue("id"))
	if !ok {
		s.writeError(w, r, errNotFound)
		return
	}
	var in struct {
		Content string `json:"content"`
	}
	if err := decodeBody(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	limits := s.cfg.Limits[rc.tier]
	if in.Content == "" || len(in.Content) > limits.MaxMessageBytes || !utf8.ValidString(in.Content) {
		s.writeError(w, r, badRequest(fmt.Sprintf("content: must be 1 to %d bytes of valid UTF-8 on the %s tier", limits.MaxMessageBytes, rc.tier)))
		return
	}
	now := s.cfg.Now().UTC()
	dayStart := now.Truncate(24 * time.Hour)
	m, err := s.store.CreateMessage(r.Context(), rc.userID, id, in.Content, now, dayStart, limits.MessagesPerDay)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.invalidateConversation(r.Context(), rc.userID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeBody(w, http.StatusCreated, renderMessage(m))
}

// invalidate runs after the DB commit and before the answer. A failure to reach Redis is
// not the client's: the cache layer keeps the user pending (bypassed) and retries. Only an
// invalidation that reached neither Redis nor the other instances (cache.ErrUnconfirmed) is
// returned: the write is then not acknowledged (503), since another instance may still
// serve what it made stale.
func (s *Server) invalidate(ctx context.Context, userID string, scope cache.Scope) error {
	err := s.cache.Invalidate(ctx, userID, scope)
	if errors.Is(err, cache.ErrUnconfirmed) {
		return err
	}
	if err != nil {
		s.log.WarnContext(ctx, "invalidation deferred", "user", userID, "err", err)
	}
	return nil
}

// invalidateConversation is invalidate after a write inside one conversation: its
// pages and the user's conversation list, not the user's other conversations. The
// default page, whose key is known, is deleted in the same Redis transaction.
// Like invalidate, it returns only cache.ErrUnconfirmed.
func (s *Server) invalidateConversation(ctx context.Context, userID string, id int64) error {
	path := cache.ResourcePath(pageResource(id, defaultMessageLimit))
	err := s.cache.InvalidatePath(ctx, userID, path, pageResource(id, defaultMessageLimit))
	if errors.Is(err, cache.ErrUnconfirmed) {
		return err
	}
	if err != nil {
		s.log.WarnContext(ctx, "invalidation deferred", "user", userID, "path", path, "err", err)
	}
	return nil
}

// decodeBody reads one JSON object with only known fields.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return badRequest("body: malformed JSON: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return badRequest("body: trailing data after the JSON object")
	}
	return nil
}
