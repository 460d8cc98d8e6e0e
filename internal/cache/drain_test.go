package cache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/testutil"
)

// TestPendingSurvivesRestart: Redis is cut off from instance A when a write goes through it,
// so A owes the invalidation. A drains and exits while Redis is still cut off, and starts
// again (a restart during a deploy); only then does Redis come back. The old entry, still in
// Redis, must never be served afterwards: the fence log carried the invalidation over the
// restart. With unsafe.localPendingOnly the invalidation dies with the process and the old
// entry is served again, which is what the test must be able to see.
func TestPendingSurvivesRestart(t *testing.T) {
	for _, tc := range []struct {
		name      string
		localOnly bool
	}{{"fence log", false}, {"local pending only", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.Redis(t)
			proxy := testutil.NewProxy(t, srv.Addr())
			log := &memFences{leases: map[string][2]int64{}}
			db := newFakeDB()
			db.set("list", "old")
			// A reader without a lease of its own, straight on Redis, fills the entry.
			reader, _ := newTestCache(t, srv.URL(), Options{Config: relaxed()})
			expect(t, reader, "u1", ClassConversations, "core", "", db.loader("list"), "old", Miss)
			expect(t, reader, "u1", ClassConversations, "core", "", db.loader("list"), "old", Hit)

			cfg := tight()
			cfg.Unsafe.LocalPendingOnly = tc.localOnly
			a, _ := newTestCache(t, proxy.URL(), Options{Config: cfg, Fences: log})
			ctxA, stopA := context.WithCancel(context.Background())
			defer stopA()
			a.Start(ctxA)

			proxy.Refuse()
			db.set("list", "new") // the write commits…
			err := a.Invalidate(context.Background(), "u1", ScopeData)
			if !errors.Is(err, ErrPending) {
				t.Fatalf("Invalidate through a refused Redis = %v, want ErrPending", err)
			}
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			rep := a.Drain(dctx)
			cancel()
			stopA() // the process exits
			want := DrainReport{Pending: 1, HandedOver: 1}
			if tc.localOnly {
				want = DrainReport{Pending: 1, Lost: 1}
			}
			if rep != want {
				t.Fatalf("Drain with Redis cut off = %+v, want %+v", rep, want)
			}

			// The successor starts with Redis still cut off, then Redis comes back.
			a2, _ := newTestCache(t, proxy.URL(), Options{Config: cfg, Fences: log})
			ctxA2, stopA2 := context.WithCancel(context.Background())
			defer stopA2()
			a2.Start(ctxA2)
			if !tc.localOnly {
				expect(t, a2, "u1", ClassConversations, "core", "", db.loader("list"), "new", Bypass)
			}
			proxy.Restore(t)
			if tc.localOnly {
				got, o, _ := load(t, reader, "u1", ClassConversations, "core", "", db.loader("list"))
				if got != "old" || o != Hit {
					t.Fatalf("local pending only: after the restart the reader got %q (%v); the weakened layer was expected to serve the stale entry", got, o)
				}
				return
			}
			// The successor applies the increment once Redis answers, and deletes the fence.
			testutil.WaitFor(t, "no fence left once the restarted instance could reach Redis", func() bool { return log.count() == 0 })
			expect(t, reader, "u1", ClassConversations, "core", "", db.loader("list"), "new", Miss)
		})
	}
}

// TestDrainAppliesWhenRedisAnswers: a pending invalidation is applied by Drain itself when
// Redis answers again before the instance exits, and its fence is deleted.
func TestDrainAppliesWhenRedisAnswers(t *testing.T) {
	srv := testutil.Redis(t)
	proxy := testutil.NewProxy(t, srv.Addr())
	log := &memFences{leases: map[string][2]int64{}}
	a, _ := newTestCache(t, proxy.URL(), Options{Config: tight(), Fences: log})
	// No Start: the retrier must not apply it first; Drain does.
	proxy.Refuse()
	if err := a.Invalidate(context.Background(), "u1", ScopeAll); !errors.Is(err, ErrPending) {
		t.Fatalf("Invalidate through a refused Redis = %v, want ErrPending", err)
	}
	proxy.Restore(t)
	var rep DrainReport
	// The breaker may still be open for its openFor after the refusals: Drain skips nothing
	// but may fail the increment; try until it applies (each call is one attempt).
	testutil.WaitFor(t, "Drain applying the pending invalidation", func() bool {
		rep = a.Drain(context.Background())
		return rep.Applied > 0
	})
	if rep.Applied != 1 || rep.Lost != 0 {
		t.Fatalf("Drain with Redis back = %+v, want 1 applied", rep)
	}
	if n := log.count(); n != 0 {
		t.Fatalf("%d fences left after Drain applied the invalidation", n)
	}
}
