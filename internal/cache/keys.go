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
func userPrefix(user string) string { return prefixOf(Escape(user)) }

// prefixOf is the prefix of the keys of the user whose escaped ID is escUser.
func prefixOf(escUser string) string { return KeyPrefix + "{u:" + escUser + "}:" }

// IDGenKey is the key of the user's identity generation counter (tier and profile entries).
func IDGenKey(user string) string { return KeyParts{Gen: GenID}.under(userPrefix(user)) }

// DataGenKey is the key of the user's data generation counter (every conversations and apiResponses entry).
func DataGenKey(user string) string { return KeyParts{Gen: GenData}.under(userPrefix(user)) }

// ListGenKey is the key of the user's conversation-list generation counter.
func ListGenKey(user string) string { return KeyParts{Gen: GenList}.under(userPrefix(user)) }

// PathGenKey is the key of the generation counter of one resource path of the
// user (ResourcePath of a ClassAPIResponses resource, e.g. "messages/c12").
func PathGenKey(user, path string) string {
	return KeyParts{Gen: GenPath, Path: Escape(path)}.under(userPrefix(user))
}

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
		return KeyParts{Class: k.Class}.under(p)
	case ClassUserProfile, ClassConversations:
		return KeyParts{Class: k.Class, Tier: Escape(k.Tier)}.under(p)
	case ClassAPIResponses:
		return KeyParts{Class: k.Class, Tier: Escape(k.Tier), Resource: Escape(k.Resource)}.under(p)
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
		return []string{KeyParts{Gen: GenData}.under(p), KeyParts{Gen: GenList}.under(p)}
	case ClassAPIResponses:
		return []string{KeyParts{Gen: GenData}.under(p), KeyParts{Gen: GenPath, Path: Escape(ResourcePath(k.Resource))}.under(p)}
	}
	return []string{KeyParts{Gen: GenID}.under(p)}
}

// Generation counters, as KeyParts.Gen names them.
const (
	GenID   = "id"   // IDGenKey
	GenData = "data" // DataGenKey
	GenList = "list" // ListGenKey
	GenPath = "r"    // PathGenKey
)

// KeyParts are the parts of a key this file builds, as they appear in it: User, Tier, Path
// and Resource escaped (Escape is not inverted: a hashed segment stays "~…").
type KeyParts struct {
	User string // Escape(user)
	// Gen names a generation counter (GenID, GenData, GenList, GenPath); empty for an entry.
	Gen  string
	Path string // for GenPath: Escape(path)
	// Class, Tier and Resource describe an entry: Tier for the tiered classes, Resource
	// for ClassAPIResponses (both escaped).
	Class    Class
	Tier     string
	Resource string
}

// ParseKey takes a key of this package apart; ok is false for any other key (another
// namespace, an unknown shape, a segment Escape could not have produced).
func ParseKey(key string) (p KeyParts, ok bool) {
	rest, found := strings.CutPrefix(key, KeyPrefix+"{u:")
	if !found {
		return p, false
	}
	user, rest, found := strings.Cut(rest, "}:")
	if !found || !escaped(user) {
		return p, false
	}
	p.User = user
	if gen, isGen := strings.CutPrefix(rest, "gen:"); isGen {
		switch gen {
		case GenID, GenData, GenList:
			p.Gen = gen
			return p, true
		}
		path, isPath := strings.CutPrefix(gen, GenPath+":")
		if !isPath || !escaped(path) {
			return KeyParts{}, false
		}
		p.Gen, p.Path = GenPath, path
		return p, true
	}
	if rest == "e:tier" {
		p.Class = ClassTier
		return p, true
	}
	parts := strings.SplitN(rest, ":", 4) // e, tier, class[, resource]
	if len(parts) < 3 || parts[0] != "e" || !escaped(parts[1]) {
		return KeyParts{}, false
	}
	p.Class, p.Tier = Class(parts[2]), parts[1]
	switch p.Class {
	case ClassUserProfile, ClassConversations:
		if len(parts) != 3 {
			return KeyParts{}, false
		}
		return p, true
	case ClassAPIResponses:
		if len(parts) != 4 || !escaped(parts[3]) {
			return KeyParts{}, false
		}
		p.Resource = parts[3]
		return p, true
	}
	return KeyParts{}, false
}

// escaped reports whether s could be a segment Escape made: kept bytes and %XX, or "~"
// and a SHA-256 in hex.
func escaped(s string) bool {
	if h, ok := strings.CutPrefix(s, "~"); ok {
		_, err := hex.DecodeString(h)
		return err == nil && len(h) == 2*sha256.Size
	}
	for i := 0; i < len(s); i++ {
		if keep(s[i]) {
			continue
		}
		if s[i] != '%' || i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
			return false
		}
		i += 2
	}
	return len(s) <= maxEscaped
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// String builds the key from its parts: ParseKey(k) then String gives k back. It is the
// one spelling of the layout after the user's prefix; the builders above call it too.
func (p KeyParts) String() string { return p.under(prefixOf(p.User)) }

// under is the key with the user's prefix given (p.User is not read).
func (p KeyParts) under(prefix string) string {
	switch p.Gen {
	case "":
	case GenPath:
		return prefix + "gen:" + GenPath + ":" + p.Path
	default:
		return prefix + "gen:" + p.Gen
	}
	switch p.Class {
	case ClassTier:
		return prefix + "e:tier"
	case ClassAPIResponses:
		return prefix + "e:" + p.Tier + ":" + string(p.Class) + ":" + p.Resource
	}
	return prefix + "e:" + p.Tier + ":" + string(p.Class)
}

// GenKeys returns the generation counters of an entry (as Key.GenKeys does for the Key it
// was built from); ok is false for a counter, or an apiResponses entry whose resource was
// too long to keep (hashed, so its path is unknown).
func (p KeyParts) GenKeys() (keys []string, ok bool) {
	if p.Gen != "" || p.Class == "" {
		return nil, false
	}
	k := Key{Class: p.Class}
	if p.Class == ClassAPIResponses {
		// Escape maps byte by byte, so the escaped path is the escaped resource up to the
		// escaped '?' ("%3F"; a literal "%3F" in the input would be "%253F").
		if strings.HasPrefix(p.Resource, "~") {
			return nil, false
		}
		path, _, _ := strings.Cut(p.Resource, "%3F")
		prefix := prefixOf(p.User)
		return []string{KeyParts{Gen: GenData}.under(prefix), KeyParts{Gen: GenPath, Path: path}.under(prefix)}, true
	}
	return k.genKeys(prefixOf(p.User)), true
}
