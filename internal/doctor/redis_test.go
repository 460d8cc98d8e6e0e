package doctor_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/atlasbench/atlasbench/internal/doctor"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
)

// A Redis set up right for a cache: bounded with an evicting policy, no persistence
// (redisproc's default), the default user off, an operator user doctor connects as and an
// application user without dangerous commands.
var rightArgs = users("off", "-@dangerous", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")

// users returns Redis arguments declaring the default user (defaultACL), ops (an
// operator: everything) and app (appACL after +@all), then extra (a setting Redis
// allows once per command line cannot be given twice: users are declared here).
func users(defaultACL, appACL string, extra ...string) []string {
	args := append([]string{"--user", "default"}, strings.Fields(defaultACL)...)
	args = append(args, "--user", "ops", "on", ">ops-pw", "~*", "&*", "+@all")
	args = append(args, "--user", "app", "on", ">app-pw", "~app:*", "+@all")
	args = append(args, strings.Fields(appACL)...)
	return append(args, extra...)
}

// opsURL is the URL doctor uses on a server started with rightArgs (or a variant).
func opsURL(s *redisproc.Server) string { return "redis://ops:ops-pw@" + s.Addr() }

func check(t *testing.T, url string) doctor.Section {
	t.Helper()
	sec, err := doctor.CheckRedis(context.Background(), url, doctor.RedisOptions{Pings: 5})
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func ids(sec doctor.Section) []string {
	var out []string
	for _, f := range sec.Findings {
		out = append(out, f.ID)
	}
	return out
}

// withArg returns rightArgs with extra settings appended (a later setting wins).
func withArgs(extra ...string) []string { return append(slices.Clone(rightArgs), extra...) }

func TestRedisConfiguredRightHasNoFinding(t *testing.T) {
	s := testutil.Redis(t, rightArgs...)
	sec := check(t, opsURL(s))
	if len(sec.Findings) != 0 {
		t.Fatalf("findings on a Redis set up right: %+v", sec.Findings)
	}
	var text strings.Builder
	doctor.Report{Sections: []doctor.Section{sec}}.WriteText(&text)
	for _, want := range []string{"ping", "allkeys-lru", "maxmemory 64.0 MiB", "persistence off", "connected as ops", "judged app", "nothing wrong"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
}

// Each row starts a redis-server configured to trigger exactly one finding.
func TestRedisFindings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		url  func(*redisproc.Server) string
		fill func(t *testing.T, c *redis.Client) // load that makes the counters move
		want string
	}{
		// maxmemory 0: unbounded.
		{"unbounded", withArgs("--maxmemory", "0"), opsURL, nil, "redis.maxmemory"},
		// noeviction refuses writes once full.
		{"noeviction", withArgs("--maxmemory-policy", "noeviction"), opsURL, nil, "redis.maxmemory-policy"},
		// RDB snapshots on.
		{"persistence", withArgs("--save", "3600 1"), opsURL, nil, "redis.persistence"},
		// The default user on without a password (Redis's default), connected as ops.
		{"default user", users("on nopass ~* +@all", "-@dangerous", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"), opsURL, nil, "redis.acl-default-user"},
		// The application's user may FLUSHALL.
		{"dangerous", users("off", "", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"), opsURL, nil, "redis.acl-dangerous"},
		// A replica whose master does not answer.
		{"replica link", withArgs("--replicaof", "127.0.0.1", "1", "--masteruser", "ops", "--masterauth", "ops-pw"), opsURL, nil, "redis.replica-link"},
		// 2 MiB fill a 3 MiB bound beyond the server's own memory: keys are evicted.
		{"evictions", withArgs("--maxmemory", "3mb"), opsURL, func(t *testing.T, c *redis.Client) {
			v := strings.Repeat("x", 4096)
			for i := range 2000 {
				if err := c.Set(context.Background(), fmt.Sprintf("k%d", i), v, 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}, "redis.evictions"},
		// 1,200 reads of absent keys.
		{"hit ratio", rightArgs, opsURL, func(t *testing.T, c *redis.Client) {
			for i := range 1200 {
				if err := c.Get(context.Background(), fmt.Sprintf("absent%d", i)).Err(); !errors.Is(err, redis.Nil) {
					t.Fatal(err)
				}
			}
		}, "redis.hit-ratio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testutil.Redis(t, tc.args...)
			if tc.fill != nil {
				c := redis.NewClient(&redis.Options{Addr: s.Addr(), Username: "ops", Password: "ops-pw"})
				defer c.Close()
				tc.fill(t, c)
			}
			sec := check(t, tc.url(s))
			if got := ids(sec); !slices.Equal(got, []string{tc.want}) {
				t.Fatalf("findings %v, want exactly [%s]: %+v", got, tc.want, sec.Findings)
			}
			f := sec.Findings[0]
			if f.What == "" || f.Why == "" || f.Fix == "" || f.Where != s.Addr() {
				t.Errorf("finding lacks what, why, fix or where: %+v", f)
			}
		})
	}
}

// A Redis as redis-server starts with no configuration: unbounded, noeviction, RDB
// snapshots, the default user open.
func TestRedisDefaults(t *testing.T) {
	s := testutil.Redis(t, "--save", "3600 1 300 100 60 10000")
	sec := check(t, s.URL())
	want := []string{"redis.maxmemory", "redis.maxmemory-policy", "redis.persistence", "redis.acl-default-user"}
	if got := ids(sec); !slices.Equal(got, want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
}

// Plain text to an address beyond loopback is a finding; the same server over loopback is not.
func TestRedisPlainTextBeyondLoopback(t *testing.T) {
	ip := nonLoopbackIPv4(t)
	s := testutil.Redis(t, withArgs("--bind", "127.0.0.1", ip)...)
	if got := ids(check(t, opsURL(s))); len(got) != 0 {
		t.Fatalf("over loopback: findings %v", got)
	}
	url := "redis://ops:ops-pw@" + net.JoinHostPort(ip, fmt.Sprint(s.Port()))
	if got := ids(check(t, url)); !slices.Equal(got, []string{"redis.tls"}) {
		t.Fatalf("over %s: findings %v, want [redis.tls]", ip, got)
	}
}

func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this host: the plain-text finding needs one to bind Redis to")
	return ""
}

func TestRedisUnreachableAndBadURL(t *testing.T) {
	port, err := redisproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = doctor.CheckRedis(context.Background(), fmt.Sprintf("redis://127.0.0.1:%d", port), doctor.RedisOptions{Pings: 1, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, doctor.ErrUnreachable) {
		t.Errorf("nothing listening: err %v, want ErrUnreachable", err)
	}
	_, err = doctor.CheckRedis(context.Background(), "redis://127.0.0.1:notaport/x", doctor.RedisOptions{})
	if !errors.Is(err, doctor.ErrBadInput) {
		t.Errorf("bad URL: err %v, want ErrBadInput", err)
	}
}

// A cluster left at Redis's default cluster-require-full-coverage yes is a problem on every
// node; redisproc's clusters turn it off and get no such finding.
func TestRedisClusterFullCoverage(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		replicas int
		want     bool
	}{
		{[]string{"--cluster-require-full-coverage", "yes"}, 0, true},
		{nil, 1, false}, // replicas too: every node is read, not only the masters
	} {
		c := testutil.Cluster(t, redisproc.ClusterOptions{Masters: 3, Replicas: tc.replicas, Args: tc.args})
		sec := check(t, "redis+cluster://"+c.Seeds()[0]+"?addr="+strings.Join(c.Seeds()[1:], "&addr="))
		var found *doctor.Finding
		for i, f := range sec.Findings {
			if f.ID == "redis.cluster-require-full-coverage" {
				found = &sec.Findings[i]
			}
		}
		if (found != nil) != tc.want {
			t.Fatalf("args %v: coverage finding %v, want %v; findings %+v", tc.args, found != nil, tc.want, sec.Findings)
		}
		if found != nil && strings.Count(found.Where, ",") != 3*(1+tc.replicas)-1 {
			t.Errorf("finding should name the 3 nodes once: %q", found.Where)
		}
		mode := fmt.Sprintf("Redis Cluster, %d nodes", 3*(1+tc.replicas))
		if !slices.ContainsFunc(sec.Facts, func(f doctor.Fact) bool { return f.Value == mode }) {
			t.Errorf("facts do not say %q: %+v", mode, sec.Facts)
		}
		if tc.replicas > 0 {
			// A node that stops answering is a problem named by its address.
			n, _ := c.Node("replica-1")
			if err := n.Kill(); err != nil {
				t.Fatal(err)
			}
			sec := check(t, "redis+cluster://"+c.Seeds()[0])
			var down []string
			for _, f := range sec.Findings {
				if f.ID == "redis.node-down" {
					down = append(down, f.Where)
				}
			}
			if !slices.Equal(down, []string{n.Addr()}) {
				t.Errorf("node-down findings on %v, want [%s]", down, n.Addr())
			}
		}
		c.Stop()
	}
}

// pollFinding runs the check until a finding with id appears (the event the test waits
// for), or fails after a generous deadline.
func pollFinding(t *testing.T, url, id string, o doctor.RedisOptions) doctor.Finding {
	t.Helper()
	var found doctor.Finding
	testutil.WaitEvery(t, "a "+id+" finding", 200*time.Millisecond, func() bool {
		sec, err := doctor.CheckRedis(context.Background(), url, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sec.Findings {
			if f.ID == id {
				found = f
				return true
			}
		}
		return false
	})
	return found
}

// A master whose replica stops acknowledging (the replica process stopped) reports it
// behind: a finding on the master once the lag passes the bound.
func TestRedisReplicaBehind(t *testing.T) {
	master := testutil.Redis(t, rightArgs...)
	replica := testutil.Redis(t, withArgs("--replicaof", "127.0.0.1", fmt.Sprint(master.Port()), "--masteruser", "ops", "--masterauth", "ops-pw")...)
	o := doctor.RedisOptions{Pings: 1, MaxReplicaLag: 1}
	c := redis.NewClient(&redis.Options{Addr: master.Addr(), Username: "ops", Password: "ops-pw"})
	defer c.Close()
	testutil.WaitFor(t, "the replica online", func() bool {
		info, _ := c.Info(context.Background(), "replication").Result()
		return strings.Contains(info, "state=online")
	})
	if got := ids(check(t, opsURL(master))); len(got) != 0 {
		t.Fatalf("master with its replica in sync: findings %v", got)
	}
	if err := syscall.Kill(replica.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(replica.Pid(), syscall.SIGCONT)
	f := pollFinding(t, opsURL(master), "redis.replica-sync", o)
	if f.Where != master.Addr() || !strings.Contains(f.What, "behind") {
		t.Errorf("finding %+v", f)
	}
}

// A cluster left at cluster-require-full-coverage yes whose master dies: the other nodes
// say cluster_state fail, the dead node does not answer.
func TestRedisClusterStateFail(t *testing.T) {
	c := testutil.Cluster(t, redisproc.ClusterOptions{Masters: 3, NodeTimeout: 300 * time.Millisecond,
		Args: []string{"--cluster-require-full-coverage", "yes"}})
	n, _ := c.Node("master-2")
	if err := n.Kill(); err != nil {
		t.Fatal(err)
	}
	url := "redis+cluster://" + c.Masters()[0].Addr()
	f := pollFinding(t, url, "redis.cluster-state", doctor.RedisOptions{Pings: 1})
	if !strings.Contains(f.What, "fail") || strings.Contains(f.Where, n.Addr()) {
		t.Errorf("finding %+v (the dead node is %s)", f, n.Addr())
	}
}
