package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// populationWarmer serves a seeded population u1…uN (most active first) with profiles
// of profileBytes bytes; asked counts its calls for data (not the nil ask).
type populationWarmer struct {
	n, profileBytes int
	mu              sync.Mutex
	dataCalls       int
}

func (p *populationWarmer) warm(_ context.Context, ids []string) ([]WarmEntry, error) {
	if ids == nil {
		for i := 1; i <= p.n; i++ {
			ids = append(ids, fmt.Sprintf("u%d", i))
		}
	} else {
		p.mu.Lock()
		p.dataCalls++
		p.mu.Unlock()
	}
	out := make([]WarmEntry, 0, len(ids))
	for _, id := range ids {
		out = append(out, WarmEntry{UserID: id, Tier: "core", Profile: []byte(id + ":" + strings.Repeat("p", p.profileBytes))})
	}
	return out, nil
}

// warmedUsers counts the users of u1…un whose tier and profile entries exist.
func warmedUsers(t *testing.T, client redis.UniversalClient, n int) (tiers, profiles int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		u := fmt.Sprintf("u%d", i)
		got, err := client.Exists(ctx, Key{User: u, Class: ClassTier}.String()).Result()
		if err != nil {
			t.Fatal(err)
		}
		tiers += int(got)
		got, err = client.Exists(ctx, Key{User: u, Tier: "core", Class: ClassUserProfile}.String()).Result()
		if err != nil {
			t.Fatal(err)
		}
		profiles += int(got)
	}
	return tiers, profiles
}

// TestWarmCoversActivePopulation: 3,000 active users (more than the 1,000 warming used to
// stop at) are all warmed within the default budget, in batches of warmBatch users, each
// batch heard by WarmProgress; the pace counted is one command per generation read and
// creation and per SET NX, at the config's opsPerSec.
func TestWarmCoversActivePopulation(t *testing.T) {
	srv := testutil.Redis(t)
	const n = 3000
	pw := &populationWarmer{n: n, profileBytes: 100}
	var mu sync.Mutex
	var progress []WarmReport
	cfg := relaxed()
	cfg.Warming.OpsPerSec = 1_000_000 // the pace is checked by count, not by time
	c, client := newTestCache(t, srv.URL(), Options{Config: cfg, Warmer: pw.warm, WarmProgress: func(r WarmReport) {
		mu.Lock()
		progress = append(progress, r)
		mu.Unlock()
	}})
	r, err := c.WarmStart(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Active != n || r.Users != n || r.Keys != 2*n || r.Stopped != WarmDone {
		t.Errorf("report %+v, want %d active and warmed users, %d keys, stopped %q", r, n, 2*n, WarmDone)
	}
	// Fresh users: a generation read, a creation (SET NX, MGET) and two SET NX each.
	if r.Ops != 5*n || r.OpsPerSec != cfg.Warming.OpsPerSec {
		t.Errorf("ops %d at %d/s, want %d at %d/s", r.Ops, r.OpsPerSec, 5*n, cfg.Warming.OpsPerSec)
	}
	if tiers, profiles := warmedUsers(t, client, n); tiers != n || profiles != n {
		t.Errorf("in Redis: %d tier and %d profile entries, want %d each", tiers, profiles, n)
	}
	batches := (n + warmBatch - 1) / warmBatch
	if len(progress) != batches || pw.dataCalls != batches {
		t.Errorf("%d progress reports and %d data loads, want one per batch (%d)", len(progress), pw.dataCalls, batches)
	}
	last := 0
	for _, p := range progress {
		last = max(last, p.Keys)
	}
	if last != r.Keys {
		t.Errorf("progress reached %d keys, the report says %d", last, r.Keys)
	}
	// A second run writes nothing (SET NX) and says so.
	r2, err := c.WarmStart(context.Background())
	if err != nil || r2.Keys != 0 || r2.Users != n {
		t.Errorf("second warming: %+v, %v; want 0 keys written for %d users", r2, err, n)
	}
}

// TestWarmRespectsBudgets: maxKeys and maxMiB stop warming at the most active users that
// fit (whole users, most active first), say "budget", and write nothing beyond it.
func TestWarmRespectsBudgets(t *testing.T) {
	for _, tc := range []struct {
		name      string
		budget    WarmingConfig
		profile   int
		wantUsers func(r WarmReport) bool
	}{
		// 1,000 keys: exactly 500 users of tier + profile.
		{"maxKeys", WarmingConfig{MaxKeys: 1000}, 100, func(r WarmReport) bool { return r.Users == 500 && r.Keys == 1000 }},
		// 1 MiB at about 2.2 kB per user: fewer than 500 users, never more bytes than allowed.
		{"maxMiB", WarmingConfig{MaxMiB: 1}, 2000, func(r WarmReport) bool {
			return r.Users > 100 && r.Users < 500 && r.Bytes <= 1<<20 && r.Keys == 2*r.Users
		}},
		// maxUsers caps the active population itself: warming ends done, not on a budget.
		{"maxUsers", WarmingConfig{MaxUsers: 700}, 100, func(r WarmReport) bool { return r.Active == 700 && r.Users == 700 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.Redis(t)
			const n = 2000
			pw := &populationWarmer{n: n, profileBytes: tc.profile}
			cfg := relaxed()
			cfg.Warming = tc.budget
			c, client := newTestCache(t, srv.URL(), Options{Config: cfg, Warmer: pw.warm})
			r, err := c.WarmStart(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !tc.wantUsers(r) {
				t.Errorf("report %+v", r)
			}
			wantStop := WarmBudget
			if tc.budget.MaxUsers > 0 {
				wantStop = WarmDone
			}
			if r.Stopped != wantStop {
				t.Errorf("stopped %q, want %q", r.Stopped, wantStop)
			}
			tiers, profiles := warmedUsers(t, client, n)
			if tiers != r.Users || profiles != r.Users {
				t.Errorf("in Redis: %d tier and %d profile entries, want %d each", tiers, profiles, r.Users)
			}
			// The warmed users are the most active ones: u1…u<Users>.
			if r.Users > 0 {
				got, _ := client.Exists(context.Background(), Key{User: fmt.Sprintf("u%d", r.Users), Class: ClassTier}.String()).Result()
				if got != 1 {
					t.Errorf("u%d (the last that fits) not warmed", r.Users)
				}
			}
		})
	}
}

// TestWarmDeadline: a deadline that passes while the database is slow ends warming
// with "deadline" and what it wrote so far, not an error (the deadline is not measured).
func TestWarmDeadline(t *testing.T) {
	srv := testutil.Redis(t)
	pw := &populationWarmer{n: 1500, profileBytes: 10}
	slow := func(ctx context.Context, ids []string) ([]WarmEntry, error) {
		if ids != nil && ids[0] != "u1" { // only the first batch's load answers
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return pw.warm(ctx, ids)
	}
	cfg := relaxed()
	cfg.Warming.Deadline = 300 * time.Millisecond
	c, _ := newTestCache(t, srv.URL(), Options{Config: cfg, Warmer: slow})
	r, err := c.WarmStart(context.Background())
	if err != nil {
		t.Fatalf("WarmStart: %v", err)
	}
	// The first batch is written whole or (on a very slow machine) not at all; no later one.
	if r.Stopped != WarmDeadline || (r.Users != 0 && r.Users != warmBatch) || r.Active != 1500 {
		t.Errorf("report %+v, want stopped %q with 0 or %d of 1500 users warmed", r, WarmDeadline, warmBatch)
	}
}

// TestWarmBatchesPerMaster: on a 3-master Redis Cluster every batch holds the users of
// one master only (each pipeline goes to one node), the batches take the masters in
// turn, and every user is warmed.
func TestWarmBatchesPerMaster(t *testing.T) {
	cl := testutil.Cluster(t, redisproc.ClusterOptions{Masters: 3})
	const n = 1800
	pw := &populationWarmer{n: n, profileBytes: 10}
	c, client := newTestCache(t, strings.Join(cl.Seeds(), ","), Options{Config: relaxed(), Warmer: pw.warm})
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	var users []string
	for i := 1; i <= n; i++ {
		users = append(users, fmt.Sprintf("u%d", i))
	}
	groups, skipped := c.warmGroups(ctx, users)
	if len(groups) != 3 || skipped != 0 {
		t.Fatalf("%d groups, %d skipped; want 3, 0", len(groups), skipped)
	}
	rangeOf := func(u string) int { return redisproc.RangeOfSlot(redisproc.KeySlot(IDGenKey(u)), 3) }
	batches := warmBatches(groups)
	total := 0
	for i, b := range batches {
		r := rangeOf(b[0])
		for _, u := range b {
			if rangeOf(u) != r {
				t.Fatalf("batch %d mixes slot ranges %d and %d", i, r, rangeOf(u))
			}
			// Every key warming writes for a user lives in that user's slot.
			for _, k := range []string{Key{User: u, Class: ClassTier}.String(), Key{User: u, Tier: "core", Class: ClassUserProfile}.String()} {
				if redisproc.KeySlot(k) != redisproc.KeySlot(IDGenKey(u)) {
					t.Fatalf("key %s is not in %s's slot", k, u)
				}
			}
		}
		if i > 0 && i < 3 && rangeOf(batches[i-1][0]) == r {
			t.Errorf("batches %d and %d go to the same master; want the masters in turn", i-1, i)
		}
		total += len(b)
	}
	if total != n {
		t.Errorf("batches hold %d users, want %d", total, n)
	}
	r, err := c.WarmStart(ctx)
	if err != nil || r.Users != n || r.Keys != 2*n {
		t.Errorf("WarmStart: %+v, %v; want %d users and %d keys", r, err, n, 2*n)
	}
	if tiers, profiles := warmedUsers(t, client, n); tiers != n || profiles != n {
		t.Errorf("in the cluster: %d tier and %d profile entries, want %d each", tiers, profiles, n)
	}
}

// TestWarmingCallsDoNotTripBreaker: warming's failed pipelines do not count for the
// breaker (live requests keep the cache), and while the breaker is open warming's calls
// are refused without reaching Redis.
func TestWarmingCallsDoNotTripBreaker(t *testing.T) {
	srv := testutil.Redis(t)
	c, _ := newTestCache(t, srv.URL(), Options{Config: tight()})
	ctx := withWarming(context.Background())
	for range 3 * c.cfg.Breaker.Failures {
		if err := c.call(ctx, time.Second, func(context.Context) error { return io.EOF }); err != io.EOF {
			t.Fatalf("warming call: %v, want io.EOF", err)
		}
	}
	if st := c.breaker.State(); st != gobreaker.StateClosed {
		t.Fatalf("breaker %s after failed warming calls, want closed", st)
	}
	for range c.cfg.Breaker.Failures { // live calls do count
		c.call(context.Background(), time.Second, func(context.Context) error { return io.EOF })
	}
	if st := c.breaker.State(); st != gobreaker.StateOpen {
		t.Fatalf("breaker %s after failed live calls, want open", st)
	}
	ran := false
	if err := c.call(ctx, time.Second, func(context.Context) error { ran = true; return nil }); !errors.Is(err, errBreakerOpen) || ran {
		t.Errorf("warming call with the breaker open: %v (ran %v), want errBreakerOpen without running", err, ran)
	}
}

// TestRecoveryWarmingReportsNoProgress: WarmProgress hears warming at start only; a
// recovery warming run (the recently seen users, after Redis came back) is not mistaken
// for it.
func TestRecoveryWarmingReportsNoProgress(t *testing.T) {
	srv := testutil.Redis(t)
	pw := &populationWarmer{n: 600, profileBytes: 10}
	calls := 0
	c, _ := newTestCache(t, srv.URL(), Options{Config: relaxed(), Warmer: pw.warm, WarmProgress: func(WarmReport) { calls++ }})
	var users []string
	for i := 1; i <= 600; i++ {
		users = append(users, fmt.Sprintf("u%d", i))
	}
	if err := c.warm(context.Background(), users, c.newWarmBudget(time.Now())); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("recovery warming reported progress %d times, want 0", calls)
	}
	if _, err := c.WarmStart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls != 2 { // 600 users: two batches
		t.Errorf("warming at start reported progress %d times, want 2", calls)
	}
}
