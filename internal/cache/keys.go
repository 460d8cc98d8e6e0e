package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Every key this package writes is built in this file.
//
//	atlas:v1:{u:<user>}:gen:id                               identity generation (tier + profile)
//	atlas:v1:{u:<user>}:gen:data                             data generation (conversations + apiResponses)
//	atlas:v1:{u:<user>}:i<idgen>:tier                        the user's tier
//	atlas:v1:{u:<user>}:i<idgen>:userProfile:<tier>          GET /api/me
//	atlas:v1:{u:<user>}:d<datagen>:<tier>:conversations      GET /api/conversations
//	atlas:v1:{u:<user>}:d<datagen>:<tier>:apiResponses:<res> any other cached GET
//
// <user>, <tier> and <res> are escaped with Escape, so no input can produce
// ':', '{', '}', '*', '?', '[', ']' or '\' inside a key, and the {u:…} hash
// tag puts all of a user's keys in one cluster slot (MGET of both
// generations and MULTI work on Redis Cluster).

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

// DataGenKey is the key of the user's data generation counter (conversations and apiResponses entries).
func DataGenKey(user string) string { return userPrefix(user) + "gen:data" }

// Key identifies one cache entry. Fields a class does not use are ignored:
// Tier for ClassTier, Resource for every class but ClassAPIResponses. Gen is
// the identity generation for ClassTier and ClassUserProfile and the data
// generation for the other two.
type Key struct {
	User     string
	Tier     string
	Class    Class
	Resource string
	Gen      uint64
}

// Normalize returns k with the fields its class ignores cleared, so two keys
// are the same entry exactly when their normalized forms are equal.
func (k Key) Normalize() Key {
	if !k.Class.tiered() {
		k.Tier = ""
	}
	if !k.Class.hasResource() {
		k.Resource = ""
	}
	return k
}

// String returns the Redis key of the entry. Tier and Resource are escaped even
// when valid, so the mapping stays injective for any input; an unknown class
// yields a key under "atlas:v1:{u:…}:invalid:" that Load never reads.
func (k Key) String() string {
	gen := strconv.FormatUint(k.Gen, 10)
	p := userPrefix(k.User)
	switch k.Class {
	case ClassTier:
		return p + "i" + gen + ":tier"
	case ClassUserProfile:
		return p + "i" + gen + ":userProfile:" + Escape(k.Tier)
	case ClassConversations:
		return p + "d" + gen + ":" + Escape(k.Tier) + ":conversations"
	case ClassAPIResponses:
		return p + "d" + gen + ":" + Escape(k.Tier) + ":apiResponses:" + Escape(k.Resource)
	}
	return p + "invalid:" + Escape(string(k.Class))
}
