package refserver

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
)

// Headers of the conditional GETs (docs/API.md, "Validators").
const (
	// headerRevalidated says how a 304 was vouched for: revalidatedEntry or
	// revalidatedGenerations (from the one MGET, no DB query), or revalidatedBody (the
	// answer was read or loaded, then not sent).
	headerRevalidated = "X-Atlas-Revalidated"
	// headerRedisCommands is, on a 304, the Redis commands the request sent.
	headerRedisCommands = "X-Atlas-Redis-Commands"

	revalidatedEntry       = "entry"       // Redis held the entry: the MGET alone vouched
	revalidatedGenerations = "generations" // Redis held the counters but not the entry: a DB load saved
	revalidatedBody        = "body"        // the body was read or loaded; only its sending was saved
)

// Header values every cached GET's answer shares: net/http only reads them.
var (
	privateNoCache = []string{"private, no-cache"}
	varyAuth       = []string{"Authorization"}
)

// cacheableHeaders marks an answer a client may keep and must revalidate: only the
// requester's (private), and only per Authorization.
func cacheableHeaders(h http.Header, etag string) {
	h["Cache-Control"] = privateNoCache
	h["Vary"] = varyAuth
	h["Etag"] = []string{etag} // the canonical form of ETag
}

// bodyETag is the validator of an answer that did not come through Redis (no-cache mode,
// Redis down, the user bypassed): derived from what the database answered, a SHA-256
// prefix of the body, and the tier it was served as, so that a copy made under another
// tier never validates. `"b.<tier>.<24 hex digits>"`.
func bodyETag(tier atlas.Tier, body []byte) string {
	sum := sha256.Sum256(body)
	var b strings.Builder
	b.Grow(32 + len(tier))
	b.WriteString(`"b.`)
	b.WriteString(string(tier))
	b.WriteByte('.')
	b.WriteString(hex.EncodeToString(sum[:12]))
	b.WriteByte('"')
	return b.String()
}

// answerETag is the ETag of a 200 served as tier: the cache's validator when it vouches
// for the body, else the body's.
func answerETag(v cache.Validator, tier atlas.Tier, body []byte) string {
	if v.Valid() {
		return v.ETag(string(tier))
	}
	return bodyETag(tier, body)
}

// etagMatches is If-None-Match's comparison (RFC 9110 §13.1.2: weak) of the header's list
// against etag. "*" matches any current representation, so it counts only when the caller
// knows one exists (exists: the answer is a 200), never from the validator alone.
func etagMatches(header, etag string, exists bool) bool {
	if header == "" || etag == "" {
		return false
	}
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" {
			if exists {
				return true
			}
			continue
		}
		if strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

// notModified answers 304 with the validator: no body.
func (s *Server) notModified(w http.ResponseWriter, rc *requestContext, etag, how string) {
	h := w.Header()
	cacheableHeaders(h, etag)
	h.Set(headerRevalidated, how)
	if rc.commands != nil {
		h.Set(headerRedisCommands, strconv.FormatInt(rc.commands.Load(), 10))
	}
	w.WriteHeader(http.StatusNotModified)
}

// serveValidated answers a cached GET's body with its validator, or 304 (X-Atlas-Revalidated:
// how) when the request's If-None-Match names it.
func (s *Server) serveValidated(w http.ResponseWriter, r *http.Request, rc *requestContext, v cache.Validator, body []byte, how string) {
	etag := answerETag(v, rc.tier, body)
	if etagMatches(r.Header.Get("If-None-Match"), etag, true) {
		s.notModified(w, rc, etag, how)
		return
	}
	cacheableHeaders(w.Header(), etag)
	writeBody(w, http.StatusOK, body)
}
