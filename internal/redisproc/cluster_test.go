package redisproc_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// TestKeySlot checks the slot function against values Redis documents and computes
// (TestCluster compares more keys with CLUSTER KEYSLOT).
func TestKeySlot(t *testing.T) {
	for _, tc := range []struct {
		key  string
		slot int
	}{
		{"foo", 12182},       // the example of the Redis Cluster specification
		{"123456789", 12739}, // CRC-16/XMODEM's check value 0x31C3
	} {
		if got := redisproc.KeySlot(tc.key); got != tc.slot {
			t.Errorf("KeySlot(%q) = %d, want %d", tc.key, got, tc.slot)
		}
	}
}

// TestRangeOfSlot checks that every slot falls in the slot range RangeOfSlot names.
func TestRangeOfSlot(t *testing.T) {
	for _, masters := range []int{1, 3, 5, 7} {
		for slot := 0; slot < redisproc.Slots; slot++ {
			s := redisproc.RangeOfSlot(slot, masters)
			lo, hi := redisproc.SlotRange(s, masters)
			if slot < lo || slot > hi {
				t.Fatalf("masters %d: slot %d → shard %d [%d, %d]", masters, slot, s, lo, hi)
			}
		}
		if _, hi := redisproc.SlotRange(masters, masters); hi != redisproc.Slots-1 {
			t.Fatalf("masters %d: last range ends at %d", masters, hi)
		}
	}
}

// TestCluster starts a 3×1 cluster, writes through a cluster client, kills a master,
// waits for its replica's promotion, restarts the old master (it rejoins as a replica)
// and runs a manual failover back.
func TestCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	announced := map[string]string{}
	c := testutil.Cluster(t, redisproc.ClusterOptions{
		Masters: 3, Replicas: 1, NodeTimeout: 500 * time.Millisecond,
		Announce: func(_ context.Context, name, addr string) (string, error) {
			announced[name] = addr
			return addr, nil
		},
	})
	if len(c.Nodes()) != 6 || len(announced) != 6 {
		t.Fatalf("nodes %v, announced %v", c.NodeNames(), announced)
	}
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Seeds()})
	defer cl.Close()
	for i := range 300 {
		if err := cl.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// The slot function agrees with the server's, hash tags included.
	m1direct := redis.NewClient(&redis.Options{Addr: c.Nodes()[0].Addr()})
	defer m1direct.Close()
	for _, k := range []string{"foo", "{user1000}.following", "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap", "atlas:v1:{u:u17}:g", "{}", "{a"} {
		want, err := m1direct.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := redisproc.KeySlot(k); int64(got) != want {
			t.Errorf("KeySlot(%q) = %d, CLUSTER KEYSLOT says %d", k, got, want)
		}
	}
	top := c.Topology(ctx)
	var keys int64
	for _, n := range top {
		if !n.Up {
			t.Fatalf("%s down: %+v", n.Name, n)
		}
		if n.Role == redisproc.RoleMaster {
			keys += n.Keys
			if n.Keys == 0 || n.UsedBytes == 0 {
				t.Errorf("%s: %d keys, %d bytes", n.Name, n.Keys, n.UsedBytes)
			}
		}
	}
	if keys != 300 {
		t.Fatalf("masters hold %d keys, want 300", keys)
	}

	m1, _ := c.Node("master-1")
	if err := m1.Kill(); err != nil {
		t.Fatal(err)
	}
	waitRole(t, ctx, c, "replica-1", redisproc.RoleMaster)
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitRole(t, ctx, c, "master-1", redisproc.RoleReplica)
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	// Manual failover back: master-1 is a replica now, so it is the one promoted.
	if err := c.Failover(ctx, "master-1"); err != nil {
		t.Fatal(err)
	}
	waitRole(t, ctx, c, "replica-1", redisproc.RoleReplica)
	if err := c.Failover(ctx, "nope"); err == nil {
		t.Fatal("failover of an unknown node: no error")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes() {
		if n.Running() {
			t.Fatalf("%s still running after Stop", n.Name)
		}
	}
}

func waitRole(t *testing.T, ctx context.Context, c *redisproc.Cluster, name, role string) {
	t.Helper()
	for ctx.Err() == nil {
		for _, n := range c.Topology(ctx) {
			if n.Name == name && n.Up && n.Role == role {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became %s: %+v", name, role, c.Topology(context.Background()))
}

// TestClusterOptionsInvalid names every bad field at once.
func TestClusterOptionsInvalid(t *testing.T) {
	_, err := redisproc.StartCluster(context.Background(), redisproc.ClusterOptions{Masters: 40, Replicas: -1, NodeTimeout: time.Millisecond, Persistence: "rdb"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"masters", "replicas", "node timeout", "persistence"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
