package stack

import "testing"

// CheckRedis accepts every -redis form StartRedis does and refuses the rest before anything starts.
func TestCheckRedis(t *testing.T) {
	for _, tc := range []struct {
		spec string
		ok   bool
	}{
		{"auto", true}, {"process", true}, {"docker", true}, {"embedded", true}, {"cluster", true},
		{"redis://127.0.0.1:6379/0", true}, {"rediss://u:p@h:6380", true},
		{"redis+cluster://h1:7000,h2:7001", true}, {"rediss+cluster://h1:7000", true},
		{"10.0.0.1:7000,10.0.0.2:7001", true}, // a Cluster's seeds
		{"memcached", false}, {"mysql://x", false},
		{"h1:7000,nocolon", false}, // a seed without a port
	} {
		if err := CheckRedis(tc.spec); (err == nil) != tc.ok {
			t.Errorf("CheckRedis(%q) = %v, want ok %v", tc.spec, err, tc.ok)
		}
	}
}
