package runner

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/refserver"
	"github.com/atlasbench/atlasbench/refserver/store"
	"github.com/atlasbench/atlasbench/scenarios"
)

// seededTarget is a real reference server (no cache, SQLite) seeded with users u1…u<users>,
// conv conversations each, signing tokens with secret.
func seededTarget(t *testing.T, users, conv int, secret string) string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/atlas.db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc, _ := scenarios.Load("core")
	if err := st.Seed(ctx, store.SeedConfig{Seed: sc.Seed, Users: users, Conversations: conv, Messages: 2, Tiers: sc.Population.Tiers}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(refserver.New(refserver.Config{JWTSecret: []byte(secret)}, st, cache.New(nil, cache.Options{})))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPreflightTarget: a target seeded for the scenario passes; one with fewer users, fewer
// conversations, another secret, or nothing listening fails before anything is measured, with
// a PreflightError that names the problem and what to do.
func TestPreflightTarget(t *testing.T) {
	ctx := context.Background()
	base := seededTarget(t, 40, 2, "s3cret")
	scenario := func(users, conv int) *scenarios.Scenario {
		sc, err := scenarios.Load("core")
		if err != nil {
			t.Fatal(err)
		}
		sc.Population.Users, sc.Population.Conversations = users, conv
		return sc
	}
	all := driver.Shard{}.Owns
	if err := preflightTarget(ctx, base, []byte("s3cret"), scenario(40, 2), all, true); err != nil {
		t.Fatalf("a target seeded as the scenario wants failed its preflight: %v", err)
	}
	shard, _ := driver.ParseShard("2/3")
	if err := preflightTarget(ctx, base, []byte("s3cret"), scenario(40, 2), shard.Owns, true); err != nil {
		t.Fatalf("shard 2/3 of a target seeded as the scenario wants failed its preflight: %v", err)
	}
	// A run whose requests do not name the seeded population (a users file, own routes
	// only) checks that the target answers, not who it knows.
	if err := preflightTarget(ctx, base, []byte("s3cret"), scenario(80, 3), all, false); err != nil {
		t.Errorf("unseeded population: %v, want only the reachability checked", err)
	}
	if err := preflightTarget(ctx, "http://127.0.0.1:1", []byte("s3cret"), scenario(40, 2), all, false); err == nil {
		t.Error("unseeded population, nothing listening: no error")
	}
	for _, tc := range []struct {
		name   string
		base   string
		secret string
		sc     *scenarios.Scenario
		want   []string
	}{
		{"more users than seeded", base, "s3cret", scenario(80, 2), []string{"does not know u60", "bench serve -scenario core"}},
		{"more conversations than seeded", base, "s3cret", scenario(40, 3), []string{"has no conversation c3 of u1", "bench serve -scenario core"}},
		{"another secret", base, "other", scenario(40, 2), []string{"invalid token", "ATLAS_JWT_SECRET"}},
		{"nothing listening", "http://127.0.0.1:1", "s3cret", scenario(40, 2), []string{"http://127.0.0.1:1", "does not answer /healthz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := preflightTarget(ctx, tc.base, []byte(tc.secret), tc.sc, all, true)
			var pe *stack.PreflightError
			if !errors.As(err, &pe) || pe.Addr != tc.base {
				t.Fatalf("err %v, want a PreflightError for %s", err, tc.base)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
}

// TestSampleUsers: the sample spreads over the population, first and last included, and
// holds only the shard's users.
func TestSampleUsers(t *testing.T) {
	all := driver.Shard{}.Owns
	if got := sampleUsers(1000, all); len(got) != targetSample || got[0] != 1 || got[len(got)-1] != 1000 {
		t.Errorf("sampleUsers(1000) = %v, want %d users from u1 to u1000", got, targetSample)
	}
	if got := sampleUsers(2, all); len(got) != 2 {
		t.Errorf("sampleUsers(2) = %v, want both users once", got)
	}
	shard, _ := driver.ParseShard("3/4")
	for _, u := range sampleUsers(1000, shard.Owns) {
		if !shard.Owns(u) {
			t.Errorf("shard 3/4's sample holds u%d, which is not its user", u)
		}
	}
}
