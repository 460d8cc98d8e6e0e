package stack

import (
	"testing"

	"github.com/atlasbench/atlasbench/internal/cache"
)

func TestLegitKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"atlas:v1:{u:u12}:gen:id", true},                                               // identity generation
		{"atlas:v1:{u:u12}:gen:data", true},                                             // data generation
		{"atlas:v1:{u:u12}:gen:list", true},                                             // conversation-list generation
		{"atlas:v1:{u:u12}:gen:r:messages%2Fc34", true},                                 // one conversation's generation
		{"atlas:v1:{u:u12}:e:tier", true},                                               // tier lookup
		{"atlas:v1:{u:u1%2A}:e:tier", true},                                             // negative tier lookup of a hostile subject, escaped
		{"atlas:v1:{u:u1%2A}:gen:id", true},                                             // its identity generation
		{"atlas:v1:{u:u12}:e:core:userProfile", true},                                   // profile
		{"atlas:v1:{u:u12}:e:studio:conversations", true},                               // list
		{"atlas:v1:{u:u12}:e:free:apiResponses:messages%2Fc34%3Flimit%3D50", true},      // routed resource
		{"atlas:v1:{u:u1%2A}:e:free:conversations", false},                              // data of a user that does not exist
		{"atlas:v1:{u:u1%2A}:gen:r:messages%2Fc34", false},                              // a conversation counter of a user that does not exist
		{"atlas:v1:{u:u12}:gen:r:messages%2Fc34.css", false},                            // an unrouted path variant
		{"atlas:v1:{u:u12}:e:free:apiResponses:messages%2Fc34.css%3Flimit%3D50", false}, // an unrouted path variant
		{"atlas:v1:{u:u12}:e:free:apiResponses:messages%2Fc34", false},                  // unnormalised resource
		{"atlas:v1:{u:u12}:e:gold:conversations", false},                                // a tier outside the three
		{"atlas:v1:{u:u12}:i9:userProfile:core", false},                                 // the layout before generations left the keys
		{"atlas:v2:{u:u12}:gen:id", false},                                              // another namespace version
		{"session:u12", false},                                                          // outside the namespace
		{"atlas:v1:{u:u12}:e:tier:extra", false},                                        // trailing data
	} {
		if got := legitKey(tc.key); got != tc.want {
			t.Errorf("legitKey(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}

// TestLegitKeyOnBuilderKeys: the audit's own pattern accepts every key the cache's builder
// makes for a legitimate request, and refuses the data keys it makes for a user that does
// not exist (keyShape copies the layout on purpose; this keeps the copy true).
func TestLegitKeyOnBuilderKeys(t *testing.T) {
	keys := func(user string) (identity, data []string) {
		// A request's first reads, before its subject is known to exist: any subject's.
		identity = []string{cache.IDGenKey(user), cache.DataGenKey(user), cache.Key{User: user, Class: cache.ClassTier}.String()}
		data = []string{cache.ListGenKey(user), cache.PathGenKey(user, "messages/c34")}
		for _, tier := range []string{"free", "core", "studio"} {
			for _, k := range []cache.Key{
				{User: user, Tier: tier, Class: cache.ClassUserProfile},
				{User: user, Tier: tier, Class: cache.ClassConversations},
				{User: user, Tier: tier, Class: cache.ClassAPIResponses, Resource: "messages/c34?limit=50"},
			} {
				data = append(data, k.String())
			}
		}
		return identity, data
	}
	identity, data := keys("u12")
	for _, k := range append(identity, data...) {
		if !legitKey(k) {
			t.Errorf("legitKey(%q) = false for a key the builder makes for seeded user u12", k)
		}
	}
	identity, data = keys("u1*")
	for _, k := range identity {
		if !legitKey(k) {
			t.Errorf("legitKey(%q) = false: a hostile subject's identity keys are legitimate", k)
		}
	}
	for _, k := range data {
		if legitKey(k) {
			t.Errorf("legitKey(%q) = true for data of a user that does not exist", k)
		}
	}
}
