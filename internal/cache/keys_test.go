package cache

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/testutil"
)

func TestEscape(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	for _, tc := range []struct {
		in, want string
	}{
		{"u1", "u1"},           // plain IDs stay readable
		{"A-z_0.9", "A-z_0.9"}, // the whole kept set
		{"", ""},               // empty stays empty (still a distinct segment)
		{"a*", "a%2A"},         // glob star
		{"u1:x", "u1%3Ax"},     // colon: the key separator
		{"[ab]", "%5Bab%5D"},   // glob class
		{`\`, "%5C"},           // glob escape
		{"%41", "%2541"},       // a literal escape sequence is escaped again
		{"{x}", "%7Bx%7D"},     // cluster hash-tag braces
		{"~", "%7E"},           // '~' only ever starts a hashed form
		{"é", "%C3%A9"},        // bytes, not runes
		{strings.Repeat("a", 64), strings.Repeat("a", 64)}, // 64 bytes: kept
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Longer than 64 bytes escaped: "~" + 64 hex digits.
	for _, in := range []string{strings.Repeat("a", 65), strings.Repeat(":", 22), long} {
		got := Escape(in)
		if len(got) != 65 || got[0] != '~' {
			t.Errorf("Escape(%d bytes) = %q, want ~ + sha256 hex", len(in), got)
		}
	}
}

// forbiddenInSegment are the characters no escaped input may contribute to a key.
const forbiddenInSegment = ":{}*?[]\\ \t\r\n"

func TestKeyHostileUsers(t *testing.T) {
	users := []string{
		"u1", "a*", "ab", "a?", "u1:x", "u1", "[ab]", `\`, "%41", "A", "{x}", "}", "{", "",
		strings.Repeat("z", 10_000), strings.Repeat("z", 9_999) + "y", "u1}:i1:tier", "u1%3Ax",
		"a b", "a\nb", "\x00",
	}
	seen := map[string]string{}
	for _, u := range uniq(users) {
		esc := Escape(u)
		if strings.ContainsAny(esc, forbiddenInSegment) {
			t.Errorf("Escape(%.20q) = %q contains a forbidden character", u, esc)
		}
		for _, class := range Classes() {
			k := Key{User: u, Tier: "core", Class: class, Resource: "messages/c1?limit=50"}.String()
			if !strings.HasPrefix(k, KeyPrefix+"{u:"+esc+"}:") {
				t.Errorf("key %q does not start with atlas:v1:{u:<escaped>}:", k)
			}
			if strings.Count(k, "{") != 1 || strings.Count(k, "}") != 1 {
				t.Errorf("key %q: want exactly one hash tag", k)
			}
			if strings.ContainsAny(k, "*?[]\\") {
				t.Errorf("key %q contains a glob character", k)
			}
			if prev, dup := seen[k]; dup {
				t.Errorf("users %.20q and %.20q share key %q", prev, u, k)
			}
			seen[k] = u
		}
		for _, k := range []string{IDGenKey(u), DataGenKey(u), ListGenKey(u), PathGenKey(u, "messages/c1")} {
			if prev, dup := seen[k]; dup {
				t.Errorf("users %.20q and %.20q share key %q", prev, u, k)
			}
			seen[k] = u
		}
	}
}

func TestKeyLayout(t *testing.T) {
	for _, tc := range []struct {
		key  Key
		want string
	}{
		{Key{User: "u1", Class: ClassTier}, "atlas:v1:{u:u1}:e:tier"},
		{Key{User: "u1", Tier: "core", Class: ClassTier, Resource: "x"}, "atlas:v1:{u:u1}:e:tier"}, // tier and resource ignored
		{Key{User: "u1", Tier: "free", Class: ClassUserProfile}, "atlas:v1:{u:u1}:e:free:userProfile"},
		{Key{User: "u1", Tier: "studio", Class: ClassConversations}, "atlas:v1:{u:u1}:e:studio:conversations"},
		{Key{User: "u1", Tier: "core", Class: ClassAPIResponses, Resource: "messages/c12?limit=50"},
			"atlas:v1:{u:u1}:e:core:apiResponses:messages%2Fc12%3Flimit%3D50"},
		{Key{User: "a*", Tier: "core", Class: ClassConversations}, "atlas:v1:{u:a%2A}:e:core:conversations"},
		{Key{User: "u1", Tier: "co:re", Class: ClassConversations}, "atlas:v1:{u:u1}:e:co%3Are:conversations"}, // an invalid tier is still escaped
	} {
		if got := tc.key.String(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.key, got, tc.want)
		}
	}
	if got, want := IDGenKey("u:1"), "atlas:v1:{u:u%3A1}:gen:id"; got != want {
		t.Errorf("IDGenKey = %q, want %q", got, want)
	}
	if got, want := DataGenKey("u1"), "atlas:v1:{u:u1}:gen:data"; got != want {
		t.Errorf("DataGenKey = %q, want %q", got, want)
	}
	if got, want := ListGenKey("u1"), "atlas:v1:{u:u1}:gen:list"; got != want {
		t.Errorf("ListGenKey = %q, want %q", got, want)
	}
	if got, want := PathGenKey("u1", "messages/c1"), "atlas:v1:{u:u1}:gen:r:messages%2Fc1"; got != want {
		t.Errorf("PathGenKey = %q, want %q", got, want)
	}
	// The counters an entry is tagged with, in tag order.
	for _, tc := range []struct {
		key  Key
		want []string
	}{
		{Key{User: "u1", Class: ClassTier}, []string{IDGenKey("u1")}},
		{Key{User: "u1", Tier: "core", Class: ClassUserProfile}, []string{IDGenKey("u1")}},
		{Key{User: "u1", Tier: "core", Class: ClassConversations}, []string{DataGenKey("u1"), ListGenKey("u1")}},
		{Key{User: "u1", Tier: "core", Class: ClassAPIResponses, Resource: "messages/c1?limit=5"},
			[]string{DataGenKey("u1"), PathGenKey("u1", "messages/c1")}},
	} {
		if got := tc.key.GenKeys(); !slices.Equal(got, tc.want) {
			t.Errorf("%+v.GenKeys() = %q, want %q", tc.key, got, tc.want)
		}
	}
	if ResourcePath("messages/c1?limit=5") != "messages/c1" || ResourcePath("messages/c1") != "messages/c1" {
		t.Error("ResourcePath")
	}
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// FuzzKey checks that the key builder is injective on normalized keys, keeps
// the prefix and the single hash tag, and never lets input add a separator.
func FuzzKey(f *testing.F) {
	f.Add("u1", "core", "messages/c1?limit=50", byte(3), uint64(1), "u1", "core", "messages/c1?limit=5", byte(3), uint64(1))
	f.Add("a*", "free", "", byte(0), uint64(0), "ab", "free", "", byte(0), uint64(0))
	f.Add("u1:x", "core", "", byte(2), uint64(10), "u1", "x:core", "", byte(2), uint64(10))
	f.Add("{x}", "studio", "r", byte(1), uint64(5), "%7Bx%7D", "studio", "r", byte(1), uint64(5))
	f.Add("~abc", "core", "", byte(0), uint64(1), "%7Eabc", "core", "", byte(0), uint64(1))
	f.Add("u1", "core", "a:b", byte(3), uint64(1), "u1", "core:apiResponses:a", "b", byte(2), uint64(1))
	f.Fuzz(func(t *testing.T, u1, t1, r1 string, c1 byte, _ uint64, u2, t2, r2 string, c2 byte, _ uint64) {
		classes := Classes()
		k1 := Key{User: u1, Tier: t1, Class: classes[int(c1)%len(classes)], Resource: r1}
		k2 := Key{User: u2, Tier: t2, Class: classes[int(c2)%len(classes)], Resource: r2}
		s1, s2 := k1.String(), k2.String()
		for _, s := range []string{s1, s2} {
			if !strings.HasPrefix(s, KeyPrefix+"{u:") {
				t.Fatalf("key %q lost the prefix", s)
			}
			if strings.Count(s, "{") != 1 || strings.Count(s, "}") != 1 || strings.ContainsAny(s, "*?[]\\") {
				t.Fatalf("key %q: input reached the key unescaped", s)
			}
		}
		for _, k := range []Key{k1, k2} {
			want := map[Class]int{ClassTier: 5, ClassUserProfile: 6, ClassConversations: 6, ClassAPIResponses: 7}[k.Class]
			if n := strings.Count(k.String(), ":"); n != want {
				t.Fatalf("key %q has %d colons, want %d", k.String(), n, want)
			}
		}
		if same := k1.Normalize() == k2.Normalize(); same != (s1 == s2) {
			t.Fatalf("%+v and %+v: same entry %v, same key %v (%q, %q)", k1, k2, same, s1 == s2, s1, s2)
		}
		if s1 == IDGenKey(u2) || s1 == DataGenKey(u2) || s1 == ListGenKey(u2) || s1 == PathGenKey(u2, r2) {
			t.Fatalf("entry key %q equals a generation key", s1)
		}
	})
}

// TestEntryGenKeys: the counters read back from an entry's key are the ones the entry
// was tagged with; counters and foreign keys are not entries.
func TestEntryGenKeys(t *testing.T) {
	for _, k := range []Key{
		{User: "u1", Class: ClassTier}, {User: "a*:b", Tier: "core", Class: ClassUserProfile},
		{User: "u1", Tier: "free", Class: ClassConversations},
		{User: "u1", Tier: "studio", Class: ClassAPIResponses, Resource: "messages/c12?limit=50"},
		{User: "u1", Tier: "core", Class: ClassAPIResponses, Resource: "odd%3F/x?y=%3F"},
	} {
		p, parsed := ParseKey(k.String())
		got, ok := p.GenKeys()
		if want := k.GenKeys(); !parsed || !ok || !slices.Equal(got, want) {
			t.Errorf("GenKeys of %q = %q, %v, %v; want %q", k.String(), got, parsed, ok, want)
		}
	}
	long := Key{User: "u1", Tier: "core", Class: ClassAPIResponses, Resource: strings.Repeat("r", 100)}
	for _, key := range []string{IDGenKey("u1"), PathGenKey("u1", "messages/c1"), "session:1", long.String(), "atlas:v1:{u:u1}:e:core:userProfile:x"} {
		p, _ := ParseKey(key)
		if gks, ok := p.GenKeys(); ok {
			t.Errorf("GenKeys of %q = %q, want not an entry", key, gks)
		}
	}
}

// TestParseKeyRejects: keys the builder cannot make do not parse.
func TestParseKeyRejects(t *testing.T) {
	for _, key := range []string{
		"session:1",                            // another namespace
		"atlas:v2:{u:u1}:gen:id",               // another version
		"atlas:v1:{u:u1}:gen:other",            // an unknown counter
		"atlas:v1:{u:u1}:e:core:userProfile:x", // trailing data
		"atlas:v1:{u:u1}:e:core:apiResponses",  // no resource
		"atlas:v1:{u:u1}:e:core:sessions",      // an unknown class
		"atlas:v1:{u:u*1}:e:tier",              // an unescaped user
		"atlas:v1:{u:u%2a}:e:tier",             // lower-case hex: Escape writes upper case
		"atlas:v1:{u:u%2}:e:tier",              // a cut escape
		"atlas:v1:{u:~abc}:e:tier",             // a hash of the wrong length
		"atlas:v1:{u:u1}:invalid:x",            // the key of an unknown class
		"atlas:v1:{u:u1}:e:c*re:conversations", // an unescaped tier
		"atlas:v1:{u:u1}:gen:r:messages/c1",    // an unescaped path
		"atlas:v1:{u:u1}e:tier",                // no separator after the tag
	} {
		if p, ok := ParseKey(key); ok {
			t.Errorf("ParseKey(%q) = %+v, want no parse", key, p)
		}
	}
}

// FuzzKeyRoundTrip: every key the builder makes parses back to its parts (escaped), and
// the parts build the same key again.
func FuzzKeyRoundTrip(f *testing.F) {
	f.Add("u1", "core", "messages/c1?limit=50", byte(3), "messages/c1")
	f.Add("gen1", "free", "", byte(0), "")
	f.Add("u1:x}", "x:core", "a:b?c=%3F", byte(3), "a?b")
	f.Add(strings.Repeat("u", 70), "studio", strings.Repeat("r", 70), byte(3), strings.Repeat("p", 70))
	f.Fuzz(func(t *testing.T, user, tier, resource string, class byte, path string) {
		classes := Classes()
		k := Key{User: user, Tier: tier, Class: classes[int(class)%len(classes)], Resource: resource}.Normalize()
		want := KeyParts{User: Escape(user), Class: k.Class}
		if k.Class.Tiered() {
			want.Tier = Escape(k.Tier)
		}
		if k.Class.HasResource() {
			want.Resource = Escape(k.Resource)
		}
		check := func(key string, want KeyParts) {
			got, ok := ParseKey(key)
			if !ok || got != want {
				t.Fatalf("ParseKey(%q) = %+v, %v; want %+v", key, got, ok, want)
			}
			if back := got.String(); back != key {
				t.Fatalf("parts of %q build %q", key, back)
			}
		}
		check(k.String(), want)
		if gks, ok := want.GenKeys(); ok && !slices.Equal(gks, k.GenKeys()) {
			t.Fatalf("GenKeys of %q: %q, the builder's %q", k.String(), gks, k.GenKeys())
		}
		u := Escape(user)
		check(IDGenKey(user), KeyParts{User: u, Gen: GenID})
		check(DataGenKey(user), KeyParts{User: u, Gen: GenData})
		check(ListGenKey(user), KeyParts{User: u, Gen: GenList})
		check(PathGenKey(user, path), KeyParts{User: u, Gen: GenPath, Path: Escape(path)})
	})
}

// TestSampleGenerations: entries left behind by invalidations are counted dead, live ones not.
func TestSampleGenerations(t *testing.T) {
	srv := testutil.Redis(t)
	c, client := newTestCache(t, srv.URL(), Options{})
	ctx := context.Background()
	body := func(context.Context) ([]byte, error) { return []byte("x"), nil }
	for i := range 10 {
		user := fmt.Sprintf("s%d", i)
		for _, res := range []string{"messages/c1?limit=50", "messages/c1?limit=7", "messages/c2?limit=50"} {
			if _, _, err := c.User(ctx, user).Load(ctx, ClassAPIResponses, "core", res, body); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := SampleGenerations(ctx, client, 300)
	if err != nil {
		t.Fatal(err)
	}
	if s.Entries == 0 || s.Dead != 0 {
		t.Fatalf("before any write: %+v, want live entries only", s)
	}
	// Half the users post to c1 without naming the page to delete: c1's two pages are dead.
	for i := range 5 {
		if err := c.InvalidatePath(ctx, fmt.Sprintf("s%d", i), "messages/c1"); err != nil {
			t.Fatal(err)
		}
	}
	s, err = SampleGenerations(ctx, client, 2000)
	if err != nil {
		t.Fatal(err)
	}
	// 30 entries, 10 dead: a 2000-key sample sees both kinds, in about that proportion.
	if share := s.DeadShare(); s.Dead == 0 || share < 0.2 || share > 0.5 {
		t.Errorf("after the writes: %+v (dead share %.2f), want about 1/3", s, share)
	}
}
