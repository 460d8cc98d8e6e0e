package stack

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/testutil"
)

// TestCapacity fills a real Redis with the cache's key shapes for 40 users and checks the
// counts, the classes sampled, and the extrapolation.
func TestCapacity(t *testing.T) {
	srv := testutil.Redis(t)
	ctx := context.Background()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	defer client.Close()
	const users = 40
	for i := 1; i <= users; i++ {
		// Half the users' IDs start with "gen", which a generation counter's key also holds.
		u := fmt.Sprintf("u%d", i)
		if i%2 == 0 {
			u = fmt.Sprintf("gen%d", i)
		}
		entry := func(class cache.Class, resource string) string {
			return cache.Key{User: u, Tier: "core", Class: class, Resource: resource}.String()
		}
		for k, v := range map[string]string{
			cache.IDGenKey(u): "7", cache.DataGenKey(u): "9",
			entry(cache.ClassTier, ""):           "vcore",
			entry(cache.ClassUserProfile, ""):    "v" + strings.Repeat("p", 150),
			entry(cache.ClassConversations, ""):  "v" + strings.Repeat("c", 400),
			entry(cache.ClassAPIResponses, "m/"): "v" + strings.Repeat("m", 900),
		} {
			if err := client.Set(ctx, k, v, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := &Stack{Redis: &Redis{Backend: BackendProcess, URL: srv.URL()}}
	c, err := st.Capacity(ctx, 400) // one user in ten cached
	if err != nil {
		t.Fatal(err)
	}
	if c.Keys != 6*users || c.CachedUsers != users || c.KeysPerUser != 6 {
		t.Errorf("keys %d, users %d, keys per user %.1f; want %d, %d, 6", c.Keys, c.CachedUsers, c.KeysPerUser, 6*users, users)
	}
	for _, class := range []string{"gen", "tier", "userProfile", "conversations", "apiResponses"} {
		if c.BytesPerKeyClass[class] <= 0 {
			t.Errorf("class %s: no MEMORY USAGE (%v)", class, c.BytesPerKeyClass)
		}
	}
	if !(c.BytesPerKeyClass["apiResponses"] > c.BytesPerKeyClass["conversations"] && c.BytesPerKeyClass["conversations"] > c.BytesPerKeyClass["tier"]) {
		t.Errorf("bytes per class do not follow the value sizes: %v", c.BytesPerKeyClass)
	}
	if c.BytesPerUser < 1500 || c.UsedMemoryBytes <= c.BaselineBytes {
		t.Errorf("bytes per user %.0f (used %d, baseline %d); want above the 1450 bytes of values each user holds",
			c.BytesPerUser, c.UsedMemoryBytes, c.BaselineBytes)
	}
	// 1M users with a tenth cached: 100,000 cached users' worth over the baseline; 10M: ten times that.
	grow1, grow10 := c.Extrapolated["1M"]-c.BaselineBytes, c.Extrapolated["10M"]-c.BaselineBytes
	if want := int64(c.BytesPerUser * 1e5); grow1 < want-1 || grow1 > want+1 || grow10 < 10*want-10 || grow10 > 10*want+10 {
		t.Errorf("extrapolated %v over baseline %d; want %d and ten times that above it", c.Extrapolated, c.BaselineBytes, want)
	}
}

// TestKeyOwner: every key the cache builds is owned by its user and counted in its class,
// whatever the user's ID looks like; other keys are nobody's.
func TestKeyOwner(t *testing.T) {
	for _, tc := range []struct {
		key, user, class string
	}{
		{cache.IDGenKey("u1"), "u1", "gen"},
		{cache.PathGenKey("u1", "messages/c3"), "u1", "gen"},
		{cache.Key{User: "genius", Class: cache.ClassTier}.String(), "genius", "tier"}, // not a counter: the ID starts with "gen"
		{cache.Key{User: "gen", Tier: "core", Class: cache.ClassUserProfile}.String(), "gen", "userProfile"},
		{cache.Key{User: "u:apiResponses", Tier: "free", Class: cache.ClassConversations}.String(), "u%3AapiResponses", "conversations"},
		{cache.Key{User: "u2", Tier: "studio", Class: cache.ClassAPIResponses, Resource: "messages/c1?limit=5"}.String(), "u2", "apiResponses"},
		{"session:42", "", "other"},
		{"atlas:v1:{u:u1}:e:core:userProfile:extra", "", "other"},
	} {
		if user, class := keyOwner(tc.key); user != tc.user || class != tc.class {
			t.Errorf("keyOwner(%q) = %q, %q; want %q, %q", tc.key, user, class, tc.user, tc.class)
		}
	}
}
