package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Every key this package writes is built in this file.
//
//	atlas:v1:{u:<user>}:gen:id                        identity generation (tier + profile)
//	atlas:v1:{u:<user>}:gen:data                      data generation (every conversations and apiResponses entry)
//	atlas:v1:{u:<user>}:gen:list                      conversation-list generation
//	atlas:v1:{u:<user>}:gen:r:<path>                  generation of one resource path (a conversation's pages)
//	atlas:v1:{u:<user>}:e:tier                        the user's tier
//	atlas:v1:{u:<user>}:e:<tier>:userProfile          GET /api/me
//	atlas:v1:{u:<user>}:e:<tier>:conversations        GET /api/conversations
//	atlas:v1:{u:<user>}:e:<tier>:apiResponses:<res>   any other cached GET
//
// Generations are not part of entry keys: an entry's value starts with the
// generations it was filled under (its tag, see entry.go), so every key a read
// needs is known before the read, and one MGET fetches the counters and the
// entries together (see docs/CACHE.md). <user>, <tier>, <path> and <res> are
// escaped with Escape, so no input can produce ':', '{', '}', '*', '?', '[',
// ']' or '\' inside a key, and the {u:…} hash tag puts all of a user's keys
// in one cluster slot (MGET and MULTI work on Redis Cluster).

// KeyPrefix starts every key of this package; the version changes when the layout does.
const KeyPrefix = "atlas:v1:"

// maxEscaped is the longest escaped form kept verbatim; longer inputs are hashed.
const maxEscaped = 64

// Escape maps s to a key segment: bytes in [A-Za-z0-9._-] are kept, every other
// byte becomes %XX (upper-case hex); when the result would be longer than 64
// bytes it is "~" followed by the hex SHA-256 of s instead. A plain escaped
// form never contains '~', so the mapping is injective.
func Escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if keep(s[i]) {
			n++
		} else {
			n += 3
		}
		if n > maxEscaped {
			sum := sha256.Sum256([]byte(s))
			return "~" + hex.EncodeToString(sum[:])
		}
	}
	if n == len(s) {
		return s
	}
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keep(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

func keep(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// userPrefix is "atlas:v1:{u:<esc(user)>}:".
func userPrefix(user string) string {
	return KeyPrefix + "{u:" + Escape(user) + "}:"
}

// IDGenKey is the key of the user's identity generation counter (tier and profile entries).
func IDGenKey(user string) string { return userPrefix(user) + "gen:id" }

// DataGenKey is the key of the user's data generation counter (every conversations and apiResponses entry).
func DataGenKey(user string) string { return userPrefix(user) + "gen:data" }

// ListGenKey is the key of the user's conversation-list generation counter.
func ListGenKey(user string) string { return userPrefix(user) + "gen:list" }

// PathGenKey is the key of the generation counter of one resource path of the
// user (ResourcePath of a ClassAPIResponses resource, e.g. "messages/c12").
func PathGenKey(user, path string) string { return userPrefix(user) + "gen:r:" + Escape(path) }

// ResourcePath is the part of a ClassAPIResponses resource before its query:
// "messages/c12" for "messages/c12?limit=50". Every entry of one path shares
// one generation counter, so a write to one conversation invalidates its pages
// and nothing else of the user's data.
func ResourcePath(resource string) string {
	if i := strings.IndexByte(resource, '?'); i >= 0 {
		return resource[:i]
	}
	return resource
}

// Key identifies one cache entry. Fields a class does not use are ignored:
// Tier for ClassTier, Resource for every class but ClassAPIResponses.
type Key struct {
	User     string
	Tier     string
	Class    Class
	Resource string
}

// Normalize returns k with the fields its class ignores cleared, so two keys
// are the same entry exactly when their normalized forms are equal.
func (k Key) Normalize() Key {
	if !k.Class.Tiered() {
		k.Tier = ""
	}
	if !k.Class.HasResource() {
		k.Resource = ""
	}
	return k
}

// String returns the Redis key of the entry. Tier and Resource are escaped even
// when valid, so the mapping stays injective for any input; an unknown class
// yields a key under "atlas:v1:{u:…}:invalid:" that Load never reads.
func (k Key) String() string { return k.in(userPrefix(k.User)) }

// in builds the key under p, the user's prefix (escaped once per view).
func (k Key) in(p string) string {
	switch k.Class {
	case ClassTier:
		return p + "e:tier"
	case ClassUserProfile:
		return p + "e:" + Escape(k.Tier) + ":userProfile"
	case ClassConversations:
		return p + "e:" + Escape(k.Tier) + ":conversations"
	case ClassAPIResponses:
		return p + "e:" + Escape(k.Tier) + ":apiResponses:" + Escape(k.Resource)
	}
	return p + "invalid:" + Escape(string(k.Class))
}

// GenKeys returns the keys of the generation counters the entry is tagged
// with, in tag order: the identity counter for tier and profile; the data
// counter and the list counter (conversations) or the resource path's counter
// (apiResponses) for data entries.
func (k Key) GenKeys() []string { return k.genKeys(userPrefix(k.User)) }

func (k Key) genKeys(p string) []string {
	switch k.Class {
	case ClassConversations:
		return []string{p + "gen:data", p + "gen:list"}
	case ClassAPIResponses:
		return []string{p + "gen:data", p + "gen:r:" + Escape(ResourcePath(k.Resource))}
	}
	return []string{p + "gen:id"}
}
