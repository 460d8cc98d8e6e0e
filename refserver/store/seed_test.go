package store

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

func TestSeedIsDeterministic(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		a := seeded(t, b, smallSeed, Options{})
		same := seeded(t, b, smallSeed, Options{})
		if da, ds := dump(t, a), dump(t, same); da != ds {
			t.Errorf("two databases seeded alike differ:\n%s\nvs\n%s", da, ds)
		}
		other := smallSeed
		other.Seed++
		if dump(t, a) == dump(t, seeded(t, b, other, Options{})) {
			t.Error("seeds 7 and 8 gave identical databases")
		}
		checkSeededShape(t, a, smallSeed)
	})
}

// checkSeededShape checks what the seeding contract promises, through the Store API.
func checkSeededShape(t *testing.T, s Store, cfg SeedConfig) {
	t.Helper()
	ctx := context.Background()
	U, C, M := cfg.Users, cfg.Conversations, cfg.Messages
	var prevMsg time.Time
	nextMsgID := int64(1)
	for i := 1; i <= U; i++ {
		u, err := s.GetUser(ctx, atlas.SeedUserID(i))
		if err != nil {
			t.Fatalf("user %d: %v", i, err)
		}
		if u.Tier != atlas.SeedTier(cfg.Seed, i, cfg.Tiers) || u.Email != atlas.SeedUserID(i)+"@atlas.test" || u.Name == "" {
			t.Errorf("user %d = %+v", i, u)
		}
		convs, err := s.ListConversations(ctx, u.ID)
		if err != nil || len(convs) != C {
			t.Fatalf("user %d: %d conversations, %v; want %d", i, len(convs), err, C)
		}
		slices.Reverse(convs) // oldest first
		for j, c := range convs {
			if c.ID != atlas.SeedConversationID(i, j, C) {
				t.Errorf("user %d conversation %d has ID %d, want %d", i, j, c.ID, atlas.SeedConversationID(i, j, C))
			}
			if c.CreatedAt.Location() != time.UTC || !c.CreatedAt.Before(atlas.SeedEpoch.Add(time.Duration(U*C*(M+1)+1)*time.Second)) || c.CreatedAt.Before(atlas.SeedEpoch) {
				t.Errorf("conversation %d created %v: outside the seeded span or not UTC", c.ID, c.CreatedAt)
			}
			msgs, err := s.ListMessages(ctx, c.ID, 0)
			if err != nil || len(msgs) != M {
				t.Fatalf("conversation %d: %d messages, %v; want %d", c.ID, len(msgs), err, M)
			}
			slices.Reverse(msgs)
			for k, m := range msgs {
				wantRole := "user"
				if k%2 == 1 {
					wantRole = "assistant"
				}
				if m.ID != nextMsgID || m.Role != wantRole || m.UserID != u.ID || m.ConversationID != c.ID || m.Content == "" {
					t.Errorf("message %+v: want ID %d, role %s, owner %s", m, nextMsgID, wantRole, u.ID)
				}
				if !m.CreatedAt.After(c.CreatedAt) || !m.CreatedAt.After(prevMsg) {
					t.Errorf("message %d at %v is not newer than its conversation (%v) and the message before (%v)", m.ID, m.CreatedAt, c.CreatedAt, prevMsg)
				}
				prevMsg = m.CreatedAt
				nextMsgID++
			}
		}
	}
}

func TestSeedIsIdenticalAcrossBackends(t *testing.T) {
	bs := backends()
	lite := seeded(t, bs[0], smallSeed, Options{})
	pg := seeded(t, bs[1], smallSeed, Options{}) // skips without PostgreSQL
	if dl, dp := dump(t, lite), dump(t, pg); dl != dp {
		t.Fatalf("SQLite and PostgreSQL seeded alike differ:\n%s\nvs\n%s", dl, dp)
	}
	// What the API shows must match byte for byte, before and after identical writes.
	ctx := context.Background()
	render := func(s Store) string {
		var out []any
		for i := 1; i <= smallSeed.Users; i++ {
			u, err1 := s.GetUser(ctx, atlas.SeedUserID(i))
			convs, err2 := s.ListConversations(ctx, u.ID)
			out = append(out, u, convs, err1, err2)
			for _, c := range convs {
				msgs, err := s.ListMessages(ctx, c.ID, 50)
				out = append(out, msgs, err)
			}
		}
		active, err := s.ActiveUsers(ctx, 0)
		out = append(out, active, err)
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	write := func(s Store) {
		c, err := s.CreateConversation(ctx, "u3", "same", testNow)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateMessage(ctx, "u3", c.ID, "same", testNow.Add(time.Millisecond), testNow, 5); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTier(ctx, "u4", atlas.TierStudio); err != nil {
			t.Fatal(err)
		}
	}
	if rl, rp := render(lite), render(pg); rl != rp {
		t.Fatalf("API output differs after seeding:\n%s\nvs\n%s", rl, rp)
	}
	write(lite)
	write(pg)
	if rl, rp := render(lite), render(pg); rl != rp {
		t.Errorf("API output differs after identical writes:\n%s\nvs\n%s", rl, rp)
	}
}

func TestSeedTierSharesFollowTheMix(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, mix := range []atlas.TierMix{atlas.DefaultTierMix(), {Free: 1, Core: 1, Studio: 2}} {
			cfg := SeedConfig{Seed: 42, Users: 10000, Tiers: mix}
			s := seeded(t, b, cfg, Options{})
			rows, err := s.read.Query(`SELECT tier, COUNT(*) FROM users GROUP BY tier`)
			if err != nil {
				t.Fatal(err)
			}
			got := map[atlas.Tier]float64{}
			for rows.Next() {
				var tier atlas.Tier
				var n int
				if err := rows.Scan(&tier, &n); err != nil {
					t.Fatal(err)
				}
				got[tier] = float64(n) / float64(cfg.Users)
			}
			rows.Close()
			total := mix.Free + mix.Core + mix.Studio
			want := map[atlas.Tier]float64{atlas.TierFree: mix.Free / total, atlas.TierCore: mix.Core / total, atlas.TierStudio: mix.Studio / total}
			for tier, share := range want {
				// Binomial standard deviation at 10k users is at most 0.005; allow 4 of them.
				if math.Abs(got[tier]-share) > 0.02 {
					t.Errorf("mix %v: %s share %.3f, want %.3f ± 0.02", mix, tier, got[tier], share)
				}
			}
		}
	})
}

func TestSeedRefusesANonEmptyDatabase(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := seeded(t, b, smallSeed, Options{})
		before := dump(t, s)
		if err := s.Seed(ctx, smallSeed); !errors.Is(err, ErrNotEmpty) {
			t.Errorf("second Seed error = %v, want ErrNotEmpty", err)
		}
		if err := s.Seed(ctx, SeedConfig{Seed: 1, Users: -1}); err == nil {
			t.Error("Seed with -1 users succeeded")
		}
		if dump(t, s) != before {
			t.Error("a refused Seed changed the database")
		}
		// Zero users is a valid, empty seed; the next one still works.
		empty := b.open(t, Options{})
		if err := empty.Seed(ctx, SeedConfig{}); err != nil {
			t.Errorf("empty Seed: %v", err)
		}
		if err := empty.Seed(ctx, SeedConfig{Seed: 3, Users: 2, Conversations: 1}); err != nil {
			t.Errorf("Seed after an empty one: %v", err)
		}
	})
}

// BenchmarkSeed seeds the default population (1000 users × 5 conversations × 40 messages).
func BenchmarkSeed(b *testing.B) {
	cfg := SeedConfig{Seed: 1, Users: 1000, Conversations: 5, Messages: 40, Tiers: atlas.DefaultTierMix()}
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s := be.open(b, Options{})
				b.StartTimer()
				if err := s.Seed(context.Background(), cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSeedKeepsConstraints checks that a seeded database still refuses what the schema
// refuses (PostgreSQL drops the foreign keys and secondary indexes for the bulk load and
// puts them back in the same transaction), and that the fence log works on both backends.
func TestSeedKeepsConstraints(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		st := b.open(t, Options{})
		ctx := context.Background()
		if err := st.Seed(ctx, SeedConfig{Seed: 3, Users: 20, Conversations: 2, Messages: 3, Tiers: atlas.DefaultTierMix()}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`INSERT INTO messages (conversation_id, user_id, role, content, created_at) VALUES (999999, 'u1', 'user', 'x', 1)`,
			`INSERT INTO messages (conversation_id, user_id, role, content, created_at) VALUES (1, 'nobody', 'user', 'x', 1)`,
			`INSERT INTO conversations (user_id, title, created_at) VALUES ('nobody', 't', 1)`,
		} {
			if _, err := st.write.ExecContext(ctx, st.d.rebind(q)); err == nil {
				t.Errorf("%s: accepted, want a foreign-key violation", q)
			}
		}
		if b.name == "postgres" {
			var n int
			if err := st.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_indexes WHERE indexname IN
				('conversations_user_created_idx', 'messages_conversation_created_idx', 'messages_user_created_idx')`).Scan(&n); err != nil || n != 3 {
				t.Errorf("secondary indexes after seeding: %d (%v), want 3", n, err)
			}
		}
		// The fence log: sequence order, reading after a number, deleting up to one, leases.
		s1, err := st.AddFence(ctx, "u1", 2)
		if err != nil {
			t.Fatal(err)
		}
		s2, _ := st.AddFence(ctx, "u2", 1)
		if fs, err := st.FencesAfter(ctx, s1); err != nil || len(fs) != 1 || fs[0] != (atlas.Fence{Seq: s2, User: "u2", Scope: 1}) || s2 <= s1 {
			t.Errorf("fences after %d: %+v, %v", s1, fs, err)
		}
		now := time.UnixMilli(1_000_000)
		if err := st.RenewInstance(ctx, "a", 0, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		st.RenewInstance(ctx, "b", s2, now.Add(time.Second))
		if n, err := st.Lagging(ctx, "b", s1, now); err != nil || n != 1 {
			t.Errorf("lagging behind %d: %d (%v), want 1 (a)", s1, n, err)
		}
		if n, _ := st.Lagging(ctx, "b", s1, now.Add(2*time.Second)); n != 0 {
			t.Errorf("lagging once a's lease ran out: %d, want 0", n)
		}
		st.DeleteFences(ctx, "u1", s1)
		if n, _ := st.Lagging(ctx, "b", s1, now); n != 0 {
			t.Errorf("lagging behind a deleted fence: %d, want 0", n)
		}
		s3, _ := st.AddFence(ctx, "u3", 1)
		st.DeleteFences(ctx, "u3", s3)
		if s4, _ := st.AddFence(ctx, "u4", 1); s4 <= s3 {
			t.Errorf("fence number %d reused after deleting %d", s4, s3)
		}
	})
}

// UserPrefix and IDOffset seed a population whose IDs a seeded run does not assume; new rows
// get IDs above the offset ones.
func TestSeedWithOtherIDs(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		cfg := smallSeed
		cfg.UserPrefix, cfg.IDOffset = "acct-", 700000
		s := seeded(t, b, cfg, Options{})
		if _, err := s.GetUser(ctx, "u1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("u1 exists (%v) in a population seeded as acct-", err)
		}
		convs, err := s.ListConversations(ctx, "acct-2")
		if err != nil || len(convs) != cfg.Conversations {
			t.Fatalf("acct-2: %d conversations, %v", len(convs), err)
		}
		for j, c := range convs {
			want := cfg.IDOffset + atlas.SeedConversationID(2, cfg.Conversations-1-j, cfg.Conversations)
			if c.ID != want || c.UserID != "acct-2" {
				t.Errorf("conversation %d: ID %d of %s, want %d of acct-2", j, c.ID, c.UserID, want)
			}
		}
		c, err := s.CreateConversation(ctx, "acct-2", "new", fixedClock())
		if err != nil || c.ID <= cfg.IDOffset+int64(cfg.Users*cfg.Conversations) {
			t.Errorf("a new conversation got ID %d (%v), want above the seeded ones", c.ID, err)
		}
		if err := (&sqlStore{}).Seed(ctx, SeedConfig{IDOffset: -1}); err == nil {
			t.Error("a negative offset was accepted")
		}
	})
}

// TestSeedBulkCountsAndProgress seeds 5,000 users (2 conversations of 3 messages: 45,000
// rows) on every backend (PostgreSQL by COPY) and checks the row counts, that the most
// active users come first, and that Progress heard every SeedProgressRows rows, in order,
// ending at every row and every user.
func TestSeedBulkCountsAndProgress(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var seen []SeedProgress
		cfg := SeedConfig{Seed: 3, Users: 5000, Conversations: 2, Messages: 3, Tiers: atlas.DefaultTierMix(),
			Progress: func(p SeedProgress) { seen = append(seen, p) }}
		s := seeded(t, b, cfg, Options{})
		total := int64(5000 + 5000*2 + 5000*2*3)
		for _, tc := range []struct {
			q    string
			want int64
		}{
			{`SELECT COUNT(*) FROM users`, 5000},
			{`SELECT COUNT(*) FROM conversations`, 10000},
			{`SELECT COUNT(*) FROM messages`, 30000},
		} {
			var n int64
			if err := s.read.QueryRow(tc.q).Scan(&n); err != nil || n != tc.want {
				t.Errorf("%s = %d, %v; want %d", tc.q, n, err, tc.want)
			}
		}
		if want := int(total/SeedProgressRows) + 1; len(seen) != want {
			t.Fatalf("%d progress calls, want %d", len(seen), want)
		}
		for i, p := range seen[:len(seen)-1] {
			if p.Rows != int64(i+1)*SeedProgressRows || p.TotalRows != total || p.Of != 5000 || p.Users != int(5000*p.Rows/total) {
				t.Errorf("progress %d = %+v", i, p)
			}
		}
		if last := seen[len(seen)-1]; last.Rows != total || last.Users != 5000 {
			t.Errorf("last progress %+v, want every row and user", last)
		}
		active, err := s.ActiveUsers(context.Background(), 3)
		if err != nil || len(active) != 3 || active[0].ID != "u1" || active[2].ID != "u3" {
			t.Errorf("ActiveUsers(3) = %v, %v; want u1, u2, u3", active, err)
		}
	})
}
