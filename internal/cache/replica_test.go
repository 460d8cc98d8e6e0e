package cache

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// TestReplicaReads: with redis.readFromReplicas a cached read goes to the master or the
// replica of the user's shard at random. A replica that lags (CLIENT PAUSE WRITE: it keeps
// answering reads from what it has) must not serve an entry an acknowledged invalidation
// replaced: the invalidation waits for the replica (WAIT), finds it behind, and the user
// bypasses Redis until the retrier's increment has reached the replica. Without the wait
// (unsafe.skipReplicaWait) the same reads are stale.
func TestReplicaReads(t *testing.T) {
	ctx := context.Background()
	cl, err := redisproc.StartCluster(ctx, redisproc.ClusterOptions{Masters: 1, Replicas: 1, NodeTimeout: 5 * time.Second})
	if errors.Is(err, redisproc.ErrNoBinary) {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Stop() })
	t.Cleanup(func() { cl.UnlagReplicas(context.Background(), "") })
	url := "redis+cluster://" + cl.Nodes()[0].Addr()
	replica, _ := cl.Node("replica-1")

	for _, tc := range []struct {
		name   string
		unsafe bool
	}{{"wait", false}, {"skip-wait", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := relaxed()
			cfg.Redis.ReadFromReplicas = true
			cfg.Unsafe.SkipReplicaWait = tc.unsafe
			c, _ := newTestCache(t, url, Options{Config: cfg})
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			c.Start(cctx)
			user, db := "r-"+tc.name, newFakeDB()
			db.set("convs", "old")
			// Fill, then read until the replica has served reads too (go-redis routes to a
			// replica once the slot map lists it: Start reloads it every second).
			expect(t, c, user, ClassConversations, "core", "", db.loader("convs"), "old", Miss)
			if err := c.Invalidate(ctx, "other-"+user, ScopeData); err != nil {
				t.Fatalf("invalidation with both nodes in sync: %v", err)
			}
			before := replicaReads(t, replica)
			testutil.WaitEvery(t, "reads routed to the replica", 50*time.Millisecond, func() bool {
				for range 10 {
					expect(t, c, user, ClassConversations, "core", "", db.loader("convs"), "old", Hit)
				}
				return replicaReads(t, replica) >= before+5
			})

			if err := cl.LagReplica(ctx, "replica-1"); err != nil {
				t.Fatal(err)
			}
			db.set("convs", "new") // the write commits, then invalidates
			err := c.Invalidate(ctx, user, ScopeData)
			if tc.unsafe {
				if err != nil {
					t.Fatalf("skip-wait invalidation: %v", err)
				}
			} else if !errors.Is(err, ErrPending) || !errors.Is(err, errReplicasBehind) {
				t.Fatalf("invalidation with the replica behind: %v, want pending (replicas behind)", err)
			}
			stale := 0
			for i := 0; i < 40; i++ {
				got, _, err := load(t, c, user, ClassConversations, "core", "", db.loader("convs"))
				if err != nil {
					t.Fatal(err)
				}
				if got == "old" {
					stale++
				}
			}
			t.Logf("%s: %d of 40 reads after the acknowledged write were stale", tc.name, stale)
			if tc.unsafe && stale == 0 {
				t.Fatal("skip-wait: no stale read from the lagging replica; the test does not show the hazard")
			}
			if !tc.unsafe && stale != 0 {
				t.Fatalf("wait: %d stale reads after the acknowledged write", stale)
			}

			if err := cl.UnlagReplicas(ctx, "replica-1"); err != nil {
				t.Fatal(err)
			}
			if tc.unsafe {
				return
			}
			// The retrier's increment reaches both nodes; then the user is served from Redis again.
			testutil.WaitFor(t, "the pending invalidation applied after the replica caught up", func() bool { return c.pending.len() == 0 })
			expect(t, c, user, ClassConversations, "core", "", db.loader("convs"), "new", Miss)
			hits := 0
			for i := 0; i < 40; i++ {
				got, o, err := load(t, c, user, ClassConversations, "core", "", db.loader("convs"))
				if err != nil || got != "new" {
					t.Fatalf("after catching up: %q, %v", got, err)
				}
				if o == Hit {
					hits++
				}
			}
			if hits == 0 {
				t.Error("no hits after the replica caught up")
			}
		})
	}
}

// replicaReads is the number of MGETs the replica has served (INFO commandstats).
func replicaReads(t *testing.T, n *redisproc.Node) int64 {
	t.Helper()
	cl := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
	defer cl.Close()
	info, err := cl.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(info, "cmdstat_mget:calls=")
	if !ok {
		return 0
	}
	calls, _, _ := strings.Cut(rest, ",")
	v, _ := strconv.ParseInt(calls, 10, 64)
	return v
}

func TestReplicaCounts(t *testing.T) {
	nodes := `a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b1 127.0.0.1:7002@17002,host.example master - 0 1 2 connected 5461-10922
c1 127.0.0.1:7003@17003 master,fail - 0 1 3 disconnected
r1 127.0.0.1:7004@17004 slave a1 0 1 1 connected
r2 127.0.0.1:7005@17005 slave,fail? a1 0 1 1 connected
r3 127.0.0.1:7006@17006 slave,fail b1 0 1 2 disconnected
`
	got := replicaCounts(nodes)
	want := map[string]int{"127.0.0.1:7001": 2, "127.0.0.1:7002": 0, "127.0.0.1:7003": 0}
	if len(got) != len(want) {
		t.Fatalf("replicaCounts = %v, want %v", got, want)
	}
	for addr, n := range want {
		if got[addr] != n {
			t.Errorf("replicaCounts[%s] = %d, want %d (all: %v)", addr, got[addr], n, got)
		}
	}
}
