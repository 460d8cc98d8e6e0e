package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// TestConcurrentReadersAndWriters runs 50 goroutines of mixed reads and writes
// (SQLite must never answer SQLITE_BUSY) and checks every row and query was counted.
func TestConcurrentReadersAndWriters(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		cfg := SeedConfig{Seed: 5, Users: 20, Conversations: 2, Messages: 4, Tiers: atlas.DefaultTierMix()}
		s := seeded(t, b, cfg, Options{Latency: 100 * time.Microsecond, Jitter: 100 * time.Microsecond})
		const workers, ops = 50, 40
		var (
			wantQueries, messages, conversations atomic.Int64
			wg                                   sync.WaitGroup
			errMu                                sync.Mutex
			errs                                 []error
		)
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 9))
				for k := range ops {
					i := 1 + rng.IntN(cfg.Users)
					user := atlas.SeedUserID(i)
					conv := atlas.SeedConversationID(i, rng.IntN(cfg.Conversations), cfg.Conversations)
					var err error
					var q int64 = 1
					switch rng.IntN(9) {
					case 0:
						_, err = s.GetTier(ctx, user)
					case 1:
						_, err = s.GetUser(ctx, user)
					case 2:
						_, err = s.ListConversations(ctx, user)
					case 3:
						_, err = s.ListMessages(ctx, conv, 50)
					case 4:
						_, err = s.CreateMessage(ctx, user, conv, fmt.Sprintf("w%d op%d", w, k), time.Now(), testNow, 0)
						q = 3
						messages.Add(1)
					case 5:
						_, err = s.CreateConversation(ctx, user, fmt.Sprintf("w%d op%d", w, k), time.Now())
						q = 2
						conversations.Add(1)
					case 6:
						err = s.SetTier(ctx, user, atlas.Tiers()[rng.IntN(3)])
					case 7:
						_, err = s.ActiveUsers(ctx, 10)
					case 8:
						_, err = s.UsersByID(ctx, []string{user, "u1"})
					}
					wantQueries.Add(q)
					if err != nil {
						errMu.Lock()
						errs = append(errs, err)
						errMu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("%d of %d operations failed: %v", len(errs), workers*ops, err)
		}
		if got := s.Stats().Total; got != uint64(wantQueries.Load()) {
			t.Errorf("counted %d queries, want %d", got, wantQueries.Load())
		}
		var nm, nc int64
		s.read.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&nm)
		s.read.QueryRow(`SELECT COUNT(*) FROM conversations`).Scan(&nc)
		if want := int64(cfg.Users*cfg.Conversations*cfg.Messages) + messages.Load(); nm != want {
			t.Errorf("%d messages, want %d", nm, want)
		}
		if want := int64(cfg.Users*cfg.Conversations) + conversations.Load(); nc != want {
			t.Errorf("%d conversations, want %d", nc, want)
		}
	})
}
