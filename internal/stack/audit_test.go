package stack

import "testing"

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
