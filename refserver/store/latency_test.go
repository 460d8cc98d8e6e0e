package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// sleepRecorder replaces the real sleep and records what was asked of it.
type sleepRecorder struct {
	mu    sync.Mutex
	calls []time.Duration
}

func (r *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.calls = append(r.calls, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *sleepRecorder) take() (n int, total time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.calls {
		total += d
	}
	n = len(r.calls)
	r.calls = nil
	return n, total
}

func TestLatencyIsPaidPerCountedQuery(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const lat, jit = 10 * time.Millisecond, 2 * time.Millisecond
		rec := &sleepRecorder{}
		s := seeded(t, b, smallSeed, Options{Latency: lat, Jitter: jit, Rand: rand.New(rand.NewPCG(1, 2)), sleep: rec.sleep})
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := rec.take(); n != 0 {
			t.Fatalf("Seed and Ping slept %d times, want 0", n)
		}
		conv := atlas.SeedConversationID(2, 0, smallSeed.Conversations)
		for _, op := range []struct {
			name    string
			queries int
			sleeps  int // a transaction sleeps once before it begins and once after it ends
			run     func() error
		}{
			{"GetTier", 1, 1, func() error { _, err := s.GetTier(ctx, "u1"); return err }},
			{"GetUser", 1, 1, func() error { _, err := s.GetUser(ctx, "u1"); return err }},
			{"GetTier unknown", 1, 1, func() error { _, err := s.GetTier(ctx, "x"); return ignore(err, ErrNotFound) }},
			{"ListConversations", 1, 1, func() error { _, err := s.ListConversations(ctx, "u2"); return err }},
			{"GetConversation", 1, 1, func() error { _, err := s.GetConversation(ctx, "u2", conv); return err }},
			{"ListMessages", 1, 1, func() error { _, err := s.ListMessages(ctx, conv, 50); return err }},
			{"ActiveUsers", 1, 1, func() error { _, err := s.ActiveUsers(ctx, 10); return err }},
			{"UsersByID", 1, 1, func() error { _, err := s.UsersByID(ctx, []string{"u1", "u2"}); return err }},
			{"SetTier", 1, 1, func() error { return s.SetTier(ctx, "u1", atlas.TierCore) }},
			{"CreateConversation", 2, 2, func() error { _, err := s.CreateConversation(ctx, "u2", "t", testNow); return err }},
			{"CreateMessage", 4, 2, func() error { _, err := s.CreateMessage(ctx, "u2", conv, "c", testNow, testNow, 9); return err }},
			{"CreateMessage not owner", 1, 1, func() error {
				_, err := s.CreateMessage(ctx, "u1", conv, "c", testNow, testNow, 9)
				return ignore(err, ErrNotFound)
			}},
		} {
			before := s.Stats().Total
			if err := op.run(); err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
			if got := s.Stats().Total - before; got != uint64(op.queries) {
				t.Errorf("%s counted %d queries, want %d", op.name, got, op.queries)
			}
			n, total := rec.take()
			q := time.Duration(op.queries)
			if n != op.sleeps || total < q*(lat-jit) || total > q*(lat+jit) {
				t.Errorf("%s slept %d times for %v, want %d sleeps totalling %v…%v", op.name, n, total, op.sleeps, q*(lat-jit), q*(lat+jit))
			}
		}
	})
}

func ignore(err, want error) error {
	if errors.Is(err, want) {
		return nil
	}
	if err == nil {
		return errors.New("no error, want " + want.Error())
	}
	return err
}

func TestLatencyWithoutJitterIsExact(t *testing.T) {
	rec := &sleepRecorder{}
	s := seeded(t, backends()[0], smallSeed, Options{Latency: 7 * time.Millisecond, sleep: rec.sleep})
	ctx := context.Background()
	for range 5 {
		if _, err := s.GetTier(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateMessage(ctx, "u1", 1, "x", testNow, testNow, 3); err != nil {
		t.Fatal(err)
	}
	if n, total := rec.take(); n != 7 || total != 9*7*time.Millisecond {
		t.Errorf("slept %d times for %v, want 7 sleeps totalling %v", n, total, 9*7*time.Millisecond)
	}
}

func TestZeroLatencyNeverSleeps(t *testing.T) {
	rec := &sleepRecorder{}
	s := seeded(t, backends()[0], smallSeed, Options{sleep: rec.sleep})
	ctx := context.Background()
	s.GetTier(ctx, "u1")
	s.CreateMessage(ctx, "u1", 1, "x", testNow, testNow, 3)
	if n, _ := rec.take(); n != 0 || s.Stats().Total != 5 {
		t.Errorf("slept %d times over %d queries, want 0 sleeps over 5", n, s.Stats().Total)
	}
}

func TestJitterSpreadsBothWays(t *testing.T) {
	l := newLatency(Options{Latency: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Rand: rand.New(rand.NewPCG(3, 4))})
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		d := l.delay()
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 8*time.Millisecond || hi > 12*time.Millisecond || lo > 8500*time.Microsecond || hi < 11500*time.Microsecond {
		t.Errorf("1000 draws span %v…%v, want about 8ms…12ms", lo, hi)
	}
	// Jitter larger than the latency never gives a negative delay.
	l = newLatency(Options{Latency: time.Millisecond, Jitter: 5 * time.Millisecond})
	for range 1000 {
		if d := l.delay(); d < 0 {
			t.Fatalf("negative delay %v", d)
		}
	}
}

func TestCancelledContextStopsBeforeTheQuery(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		rec := &sleepRecorder{}
		s := seeded(t, b, smallSeed, Options{Latency: time.Second, sleep: rec.sleep})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.GetTier(ctx, "u1"); !errors.Is(err, context.Canceled) {
			t.Errorf("GetTier error = %v, want context.Canceled", err)
		}
		if _, err := s.CreateMessage(ctx, "u1", 1, "x", testNow, testNow, 0); !errors.Is(err, context.Canceled) {
			t.Errorf("CreateMessage error = %v, want context.Canceled", err)
		}
		if st := s.Stats(); st.Total != 0 {
			t.Errorf("cancelled calls counted %d queries, want 0", st.Total)
		}
		if msgs, _ := s.ListMessages(context.Background(), 1, 0); len(msgs) != smallSeed.Messages {
			t.Errorf("a cancelled CreateMessage wrote: %d messages", len(msgs))
		}
	})
}

func TestSleepCtxReturnsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sleepCtx(ctx, time.Hour) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("sleepCtx = %v, want context.Canceled", err)
	}
	if err := sleepCtx(context.Background(), time.Microsecond); err != nil {
		t.Errorf("sleepCtx(1µs) = %v", err)
	}
}
