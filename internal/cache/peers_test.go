package cache

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/testutil"
)

// memFences is the database side of the fence protocol in memory, with the semantics the
// SQL implementation has (refserver/store/fences.go, tested there on both backends).
type memFences struct {
	mu     sync.Mutex
	next   int64
	fences []Fence
	leases map[string][2]int64 // id → seen, lease until (unix ms)
}

func (m *memFences) AddFence(_ context.Context, user string, scope Scope) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	m.fences = append(m.fences, Fence{Seq: m.next, User: user, Scope: scope})
	return m.next, nil
}

func (m *memFences) FencesAfter(_ context.Context, seq int64) ([]Fence, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Fence
	for _, f := range m.fences {
		if f.Seq > seq {
			out = append(out, f)
		}
	}
	return out, nil
}

func (m *memFences) DeleteFences(_ context.Context, user string, upTo int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.fences[:0]
	for _, f := range m.fences {
		if f.User != user || f.Seq > upTo {
			kept = append(kept, f)
		}
	}
	m.fences = kept
	return nil
}

func (m *memFences) RenewInstance(_ context.Context, id string, seen int64, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leases[id] = [2]int64{seen, until.UnixMilli()}
	return nil
}

func (m *memFences) Lagging(_ context.Context, self string, seq int64, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exists := false
	for _, f := range m.fences {
		exists = exists || f.Seq == seq
	}
	n := 0
	for id, l := range m.leases {
		if exists && id != self && l[0] < seq && l[1] > now.UnixMilli() {
			n++
		}
	}
	return n, nil
}

func (m *memFences) RemoveInstance(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.leases, id)
	return nil
}

func (m *memFences) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.fences)
}

// TestFencesAcrossInstances: two caches over one Redis; A reaches it through a proxy that
// refuses. A write through A cannot invalidate in Redis, where B's entry stays; once A's
// Invalidate has returned, B must not serve that entry. With unsafe.localPendingOnly, B does.
func TestFencesAcrossInstances(t *testing.T) {
	for _, tc := range []struct {
		name      string
		localOnly bool
	}{{"fence log", false}, {"local pending only", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.Redis(t)
			proxy := testutil.NewProxy(t, srv.Addr())
			log := &memFences{leases: map[string][2]int64{}}
			cfgA, cfgB := tight(), relaxed()
			cfgA.Unsafe.LocalPendingOnly, cfgB.Unsafe.LocalPendingOnly = tc.localOnly, tc.localOnly
			a, _ := newTestCache(t, proxy.URL(), Options{Config: cfgA, Fences: log})
			b, _ := newTestCache(t, srv.URL(), Options{Config: cfgB, Fences: log})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a.Start(ctx)
			b.Start(ctx)

			db := newFakeDB()
			db.set("list", "old")
			expect(t, b, "u1", ClassConversations, "core", "", db.loader("list"), "old", Miss)
			expect(t, b, "u1", ClassConversations, "core", "", db.loader("list"), "old", Hit)

			proxy.Refuse()
			db.set("list", "new") // the write commits…
			err := a.Invalidate(ctx, "u1", ScopeData)
			if err == nil {
				t.Fatal("Invalidate through a refused Redis succeeded")
			}
			// … and is acknowledged now: B must see it.
			got, o, _ := load(t, b, "u1", ClassConversations, "core", "", db.loader("list"))
			if tc.localOnly {
				if got != "old" {
					t.Fatalf("local pending only: B answered %q (%v); the weakened layer was expected to serve the stale entry", got, o)
				}
				return
			}
			// B bypasses its entry while the fence is pending, or, when its fence loop already
			// ran (a starved CPU can reorder the two), applied the increment and missed: either
			// way never the old entry.
			if got != "new" || (o != Bypass && o != Miss) {
				t.Fatalf("after A's acknowledged write B answered %q (%v), want \"new\" (Bypass, or Miss once B applied the fence)", got, o)
			}
			// B applies the increment itself (it reaches Redis) and the fence goes away.
			testutil.WaitFor(t, "B applying the fence and removing it", func() bool { return log.count() == 0 })
			expect(t, b, "u1", ClassConversations, "core", "", db.loader("list"), "new", Miss)
			expect(t, b, "u1", ClassConversations, "core", "", db.loader("list"), "new", Hit)
		})
	}
}

// TestFencesLeaseLapses: an instance that cannot read the fence log stops using Redis once
// its lease has run out.
func TestFencesLeaseLapses(t *testing.T) {
	srv := testutil.Redis(t)
	var c *Cache
	log := &memFences{leases: map[string][2]int64{}}
	c, _ = newTestCache(t, srv.URL(), Options{Config: relaxed(), Fences: log})
	db := newFakeDB()
	db.set("p", "v")
	// Before the first read of the log nothing is trusted.
	expect(t, c, "u1", ClassUserProfile, "core", "", db.loader("p"), "v", Bypass)
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	expect(t, c, "u1", ClassUserProfile, "core", "", db.loader("p"), "v", Miss)
	expect(t, c, "u1", ClassUserProfile, "core", "", db.loader("p"), "v", Hit)
	cancel() // the poller stops: the lease is no longer renewed
	time.Sleep(DefaultLease)
	expect(t, c, "u1", ClassUserProfile, "core", "", db.loader("p"), "v", Bypass)
}
