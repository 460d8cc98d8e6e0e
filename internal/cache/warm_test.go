package cache

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// TestWarmSkipsUnreachableNode: on a 3-master Redis Cluster with master-1 killed and its
// breaker tripped (half-open by the time warming runs, so a call would be let through as
// its probe), warming writes the entries of the users of the two healthy masters and
// sends nothing to the dead one: its client's pool is never asked for a connection and
// the probe is still unused.
func TestWarmSkipsUnreachableNode(t *testing.T) {
	cl := testutil.Cluster(t, redisproc.ClusterOptions{Masters: 3})
	cfg := tight()
	cfg.Warm = true
	warmer := func(_ context.Context, ids []string) ([]WarmEntry, error) {
		var out []WarmEntry
		for _, id := range ids {
			out = append(out, WarmEntry{UserID: id, Tier: "core", Profile: []byte("p-" + id)})
		}
		return out, nil
	}
	c, client := newTestCache(t, strings.Join(cl.Seeds(), ","), Options{Config: cfg, Warmer: warmer})
	if c.nodes == nil {
		t.Fatal("no per-node breakers on a cluster client")
	}
	ctx := context.Background()
	shardOf := func(u string) int { return redisproc.RangeOfSlot(redisproc.KeySlot(IDGenKey(u)), 3) }
	var users, healthy []string
	victim := ""
	for i := 1; len(users) < 60; i++ {
		u := fmt.Sprintf("w%d", i)
		users = append(users, u)
		if shardOf(u) != 1 {
			healthy = append(healthy, u)
		}
	}
	for i := 1; victim == ""; i++ {
		if u := fmt.Sprintf("v%d", i); shardOf(u) == 1 {
			victim = u
		}
	}
	if len(healthy) == len(users) || len(healthy) == 0 {
		t.Fatalf("users not spread over the shards: %d of %d on healthy ones", len(healthy), len(users))
	}
	if err := client.Ping(ctx).Err(); err != nil { // loads the slot map
		t.Fatal(err)
	}
	m1, _ := cl.Node("master-1")
	dead, err := c.nodes.cluster.MasterForKey(ctx, IDGenKey(victim))
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.Options().Addr
	if addr != m1.Announced {
		t.Fatalf("victim %s is served by %s, not master-1 (%s)", victim, addr, m1.Announced)
	}
	if err := m1.Kill(); err != nil {
		t.Fatal(err)
	}
	db := newFakeDB()
	db.set("tier", "core")
	for i := 0; c.nodes.breaker(addr).State() != gobreaker.StateOpen; i++ {
		if i == 50 {
			t.Fatalf("master-1's breaker still %s after %d failed lookups", c.nodes.breaker(addr).State(), i)
		}
		c.User(ctx, victim).Load(ctx, ClassTier, "", "", db.loader("tier"))
	}
	testutil.WaitFor(t, "master-1's breaker half-open", func() bool { return c.nodes.breaker(addr).State() == gobreaker.StateHalfOpen })
	before := dead.PoolStats()

	b := c.newWarmBudget(time.Now())
	err = c.warm(ctx, users, b)
	n := b.report().Keys
	if err != nil {
		t.Fatalf("warm: %v (%d entries written)", err, n)
	}
	if want := 2 * len(healthy); n != want {
		t.Errorf("warm wrote %d entries, want %d (tier and profile of the %d users of healthy masters)", n, want, len(healthy))
	}
	after := dead.PoolStats()
	if after.Hits+after.Misses+after.Timeouts != before.Hits+before.Misses+before.Timeouts {
		t.Errorf("warming used the dead node's pool: before %+v, after %+v", *before, *after)
	}
	if st := c.nodes.breaker(addr).State(); st != gobreaker.StateHalfOpen {
		t.Errorf("master-1's breaker %s after warming, want still half-open (its probe unused)", st)
	}
	for _, u := range healthy {
		if got, err := client.Exists(ctx, Key{User: u, Class: ClassTier}.String()).Result(); err != nil || got != 1 {
			t.Errorf("user %s of a healthy master: tier entry exists = %d, %v", u, got, err)
		}
	}
}

// TestRefusalDoesNotCloseNodeBreaker: a half-open node breaker whose probe comes back
// with a breaker refusal (errBreakerOpen, from inside the call) stays shut: a refusal is
// not a success, and closing would signal recovery warming towards a node that is down.
func TestRefusalDoesNotCloseNodeBreaker(t *testing.T) {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cc.Close()
	closed := 0
	nb := newNodeBreakers(cc, BreakerConfig{Failures: 1, OpenFor: 20 * time.Millisecond}, testLogger(t), func() { closed++ })
	h := nodeHook{nb: nb, addr: "dead:1", cb: nb.breaker("dead:1")}
	h.run(func() error { return io.EOF }) // trips it
	for round := range 5 {
		testutil.WaitFor(t, fmt.Sprintf("round %d: the breaker half-open", round), func() bool { return h.cb.State() == gobreaker.StateHalfOpen })
		h.run(func() error { return errBreakerOpen })
		if st := h.cb.State(); st == gobreaker.StateClosed || closed > 0 {
			t.Fatalf("round %d: a refused probe closed the breaker (state %s, %d recovery signals)", round, st, closed)
		}
		h.run(func() error { return io.EOF }) // the next probe fails: open again
	}
}
