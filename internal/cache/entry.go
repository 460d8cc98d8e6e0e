package cache

import (
	"encoding/binary"
	"strconv"
)

// Entry encoding: one type byte, the entry's tag (8 bytes big-endian per
// generation counter the entry depends on, in Key.GenKeys order), then the
// value. An entry whose tag differs from the counters read with it was filled
// before an invalidation (or under a counter that has since expired) and is
// never served; the next fill overwrites it in place.
const (
	entryValue    = 'v' // 'v' + tag + the cached bytes
	entryNotFound = 'n' // exactly 'n' + tag: a negative entry
)

// maxTagGens is the most counters an entry depends on.
const maxTagGens = 2

// tag is the generations an entry was filled under, in Key.GenKeys order.
type tag struct {
	n int
	g [maxTagGens]uint64
}

// size is the tag's length in an entry.
func (t tag) size() int { return 8 * t.n }

// appendTo appends the tag's encoding to b.
func (t tag) appendTo(b []byte) []byte {
	for i := range t.n {
		b = binary.BigEndian.AppendUint64(b, t.g[i])
	}
	return b
}

// matches reports whether s starts with the tag's encoding.
func (t tag) matches(s string) bool {
	if len(s) < t.size() {
		return false
	}
	for i := range t.n {
		if be64(s[8*i:]) != t.g[i] {
			return false
		}
	}
	return true
}

// be64 reads a big-endian uint64 from the first 8 bytes of s.
func be64(s string) uint64 {
	_ = s[7]
	return uint64(s[0])<<56 | uint64(s[1])<<48 | uint64(s[2])<<40 | uint64(s[3])<<32 |
		uint64(s[4])<<24 | uint64(s[5])<<16 | uint64(s[6])<<8 | uint64(s[7])
}

// String is the tag in decimal, "g1.g2": part of a fill's singleflight key.
func (t tag) String() string {
	b := make([]byte, 0, 40)
	for i := range t.n {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, t.g[i], 10)
	}
	return string(b)
}

// encode builds an entry: a value, or a negative entry when neg.
func encode(t tag, val []byte, neg bool) []byte {
	if neg {
		return t.appendTo(append(make([]byte, 0, 1+t.size()), entryNotFound))
	}
	b := make([]byte, 0, 1+t.size()+len(val))
	b = t.appendTo(append(b, entryValue))
	return append(b, val...)
}

// entryState is what decode found.
type entryState int

const (
	entryFresh entryState = iota // written under the current generations: servable
	entryStale                   // well-formed, written under other generations: unreachable
	entryBad                     // not written by this package
)

// decode reads an entry (as MGET returns it) against the current generations
// t. A ClassTier value must name a valid tier; anything else this package did
// not write is entryBad. val is a copy the caller owns.
func decode(class Class, raw string, t tag) (val []byte, neg bool, st entryState) {
	if len(raw) < 1+t.size() {
		return nil, false, entryBad
	}
	body := raw[1+t.size():]
	switch raw[0] {
	case entryValue:
		if class == ClassTier && !validTier(body) {
			return nil, false, entryBad
		}
	case entryNotFound:
		if len(body) != 0 {
			return nil, false, entryBad
		}
		neg = true
	default:
		return nil, false, entryBad
	}
	if !t.matches(raw[1:]) {
		return nil, false, entryStale
	}
	if !neg {
		val = []byte(body)
	}
	return val, neg, entryFresh
}
