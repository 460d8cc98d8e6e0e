package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/testutil"
)

// backend opens a fresh, empty store of one kind; the store is closed when the test ends.
type backend struct {
	name string
	open func(t testing.TB, opts Options) *sqlStore
}

// backends lists every implementation; the PostgreSQL one skips when no server answers.
func backends() []backend {
	return []backend{
		{"sqlite", func(t testing.TB, opts Options) *sqlStore {
			return mustOpen(t, filepath.Join(t.TempDir(), "atlas.db"), opts)
		}},
		{"postgres", func(t testing.TB, opts Options) *sqlStore {
			return mustOpen(t, testutil.Postgres(t), opts)
		}},
	}
}

// eachBackend runs fn as a subtest per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

func mustOpen(t testing.TB, dsn string, opts Options) *sqlStore {
	t.Helper()
	st, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st.(*sqlStore)
}

// testNow is the clock of the tests: well after every seeded row.
var testNow = time.Date(2026, 6, 15, 12, 30, 45, 123_456_789, time.UTC)

func fixedClock() time.Time { return testNow }

// smallSeed is the population most behavioural tests use.
var smallSeed = SeedConfig{Seed: 7, Users: 12, Conversations: 3, Messages: 5, Tiers: atlas.DefaultTierMix()}

func seeded(t testing.TB, b backend, cfg SeedConfig, opts Options) *sqlStore {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedClock
	}
	s := b.open(t, opts)
	if err := s.Seed(context.Background(), cfg); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return s
}

// statsDelta returns after - before per class, leaving out zeros.
func statsDelta(before, after atlas.QueryStats) map[string]uint64 {
	d := map[string]uint64{}
	for c, n := range after.ByClass {
		if n != before.ByClass[c] {
			d[c] = n - before.ByClass[c]
		}
	}
	return d
}

// expectQueries runs fn and fails unless it counted exactly want (class → queries).
func expectQueries(t *testing.T, s Store, want map[string]uint64, fn func()) {
	t.Helper()
	before := s.Stats()
	fn()
	after := s.Stats()
	got := statsDelta(before, after)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("queries by class = %v, want %v", got, want)
	}
	var sum uint64
	for _, n := range want {
		sum += n
	}
	if after.Total-before.Total != sum {
		t.Errorf("total queries grew by %d, want %d", after.Total-before.Total, sum)
	}
}

// dump renders every row of every table in key order, timestamps as stored.
func dump(t testing.TB, s *sqlStore) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, email, name, tier, last_active_at FROM users ORDER BY id`,
		`SELECT id, user_id, title, created_at FROM conversations ORDER BY id`,
		`SELECT id, conversation_id, user_id, role, content, created_at FROM messages ORDER BY id`,
	} {
		rows, err := s.read.Query(q)
		if err != nil {
			t.Fatalf("dump: %v", err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump: %v", err)
			}
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v", v)
				if i < len(vals)-1 {
					b.WriteByte('|')
				}
			}
			b.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dump: %v", err)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn, kind, target string
	}{
		{"", "sqlite", ""},                          // default: temporary SQLite
		{"sqlite", "sqlite", ""},                    // explicit temporary SQLite
		{"sqlite:/tmp/a.db", "sqlite", "/tmp/a.db"}, // SQLite file, absolute
		{"sqlite:data/a.db", "sqlite", "data/a.db"}, // SQLite file, relative
		{"/var/lib/atlas.db", "sqlite", "/var/lib/atlas.db"},
		{"postgres://u@h:5432/db?sslmode=disable", "postgres", "postgres://u@h:5432/db?sslmode=disable"},
		{"postgresql://h/db", "postgres", "postgresql://h/db"},
	} {
		kind, target := parseDSN(tc.dsn)
		if kind != tc.kind || target != tc.target {
			t.Errorf("parseDSN(%q) = %q, %q; want %q, %q", tc.dsn, kind, target, tc.kind, tc.target)
		}
	}
}

func TestOpenTemporarySQLiteRemovedOnClose(t *testing.T) {
	for _, dsn := range []string{"", "sqlite"} {
		st, err := Open(context.Background(), dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s := st.(*sqlStore)
		if s.Driver() != "sqlite" || s.path == "" {
			t.Fatalf("Open(%q): driver %q path %q", dsn, s.Driver(), s.path)
		}
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(s.path)
		if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) == 0 {
			t.Fatalf("no database files in %s", dir)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if m, _ := filepath.Glob(dir); len(m) != 0 {
			t.Errorf("Open(%q): %s still exists after Close", dsn, dir)
		}
	}
}

func TestOpenSQLitePathForms(t *testing.T) {
	dir := t.TempDir()
	a := mustOpen(t, "sqlite:"+filepath.Join(dir, "a.db"), Options{})
	b := mustOpen(t, filepath.Join(dir, "b.db"), Options{})
	for _, s := range []*sqlStore{a, b} {
		if err := s.Seed(context.Background(), SeedConfig{Seed: 1, Users: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "?.db")); len(m) != 2 {
		t.Errorf("database files = %v, want a.db and b.db", m)
	}
	// Reopening a file keeps its rows.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a2 := mustOpen(t, filepath.Join(dir, "a.db"), Options{})
	if _, err := a2.GetUser(context.Background(), "u1"); err != nil {
		t.Errorf("reopened database lost u1: %v", err)
	}
	if _, err := Open(context.Background(), filepath.Join(dir, "x?.db"), Options{}); err == nil {
		t.Error("a path with '?' was accepted")
	}
	if _, err := Open(context.Background(), "", Options{Latency: -time.Millisecond}); err == nil {
		t.Error("negative latency was accepted")
	}
}

func TestStatsStartAtZeroWithEveryClass(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := b.open(t, Options{})
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Seed(context.Background(), smallSeed); err != nil {
			t.Fatal(err)
		}
		st := s.Stats()
		if st.Total != 0 || len(st.ByClass) != len(atlas.QueryClasses()) {
			t.Fatalf("Stats after Ping and Seed = %+v, want every class at 0", st)
		}
		for _, c := range atlas.QueryClasses() {
			if n, ok := st.ByClass[c]; !ok || n != 0 {
				t.Errorf("class %q = %d (present %v), want 0", c, n, ok)
			}
		}
		// Stats returns a copy.
		st.ByClass[atlas.QueryTier] = 99
		if s.Stats().ByClass[atlas.QueryTier] != 0 {
			t.Error("Stats shares its map with the store")
		}
		if s.Driver() != b.name {
			t.Errorf("Driver() = %q, want %q", s.Driver(), b.name)
		}
	})
}

func TestReadsReturnSeededRowsAndCountByClass(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := seeded(t, b, smallSeed, Options{})
		C, M := smallSeed.Conversations, smallSeed.Messages

		expectQueries(t, s, map[string]uint64{atlas.QueryTier: 2}, func() {
			if tier, err := s.GetTier(ctx, "u5"); err != nil || tier != atlas.SeedTier(smallSeed.Seed, 5, smallSeed.Tiers) {
				t.Errorf("GetTier(u5) = %q, %v", tier, err)
			}
			if _, err := s.GetTier(ctx, "u999"); !errors.Is(err, ErrNotFound) {
				t.Errorf("GetTier(u999) error = %v, want ErrNotFound", err)
			}
		})
		expectQueries(t, s, map[string]uint64{atlas.QueryUserProfile: 2}, func() {
			u, err := s.GetUser(ctx, "u2")
			want := User{ID: "u2", Email: "u2@atlas.test", Name: u.Name, Tier: atlas.SeedTier(smallSeed.Seed, 2, smallSeed.Tiers)}
			if err != nil || u != want || u.Name == "" {
				t.Errorf("GetUser(u2) = %+v, %v; want %+v with a name", u, err, want)
			}
			if _, err := s.GetUser(ctx, "U2"); !errors.Is(err, ErrNotFound) {
				t.Errorf("GetUser(U2) error = %v, want ErrNotFound", err)
			}
		})
		var convs []Conversation
		expectQueries(t, s, map[string]uint64{atlas.QueryConversations: 2}, func() {
			var err error
			if convs, err = s.ListConversations(ctx, "u3"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ListConversations(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
				t.Errorf("ListConversations(nobody) error = %v, want ErrNotFound", err)
			}
		})
		var ids []int64
		for _, c := range convs {
			ids = append(ids, c.ID)
			if c.UserID != "u3" || c.Title == "" {
				t.Errorf("conversation %+v", c)
			}
		}
		wantIDs := []int64{atlas.SeedConversationID(3, 2, C), atlas.SeedConversationID(3, 1, C), atlas.SeedConversationID(3, 0, C)}
		if !slices.Equal(ids, wantIDs) {
			t.Errorf("ListConversations(u3) IDs = %v, want %v (newest first)", ids, wantIDs)
		}
		expectQueries(t, s, map[string]uint64{atlas.QueryAPIResponses: 4}, func() {
			c, err := s.GetConversation(ctx, "u3", convs[1].ID)
			if err != nil || c != convs[1] {
				t.Errorf("GetConversation = %+v, %v; want %+v", c, err, convs[1])
			}
			msgs, err := s.ListMessages(ctx, convs[1].ID, 2)
			if err != nil || len(msgs) != 2 {
				t.Fatalf("ListMessages(limit 2) = %d messages, %v", len(msgs), err)
			}
			all, err := s.ListMessages(ctx, convs[1].ID, 0)
			if err != nil || len(all) != M {
				t.Fatalf("ListMessages(limit 0) = %d messages, %v; want %d", len(all), err, M)
			}
			if !slices.Equal(msgs, all[:2]) {
				t.Errorf("limit 2 = %+v, want the first two of %+v", msgs, all)
			}
			none, err := s.ListMessages(ctx, 1<<40, 10)
			if err != nil || none == nil || len(none) != 0 {
				t.Errorf("ListMessages(unknown) = %#v, %v; want an empty non-nil slice", none, err)
			}
		})
		expectQueries(t, s, map[string]uint64{atlas.QueryWarm: 1}, func() {
			users, err := s.ActiveUsers(ctx, 4)
			if err != nil || len(users) != 4 {
				t.Fatalf("ActiveUsers(4) = %v, %v", users, err)
			}
			want := rawActiveOrder(t, s)[:4]
			var got []string
			for _, u := range users {
				got = append(got, u.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("ActiveUsers(4) = %v, want %v", got, want)
			}
		})
		expectQueries(t, s, map[string]uint64{atlas.QueryWarm: 1}, func() {
			users, err := s.ActiveUsers(ctx, 0)
			if err != nil || len(users) != smallSeed.Users {
				t.Errorf("ActiveUsers(0) = %d users, %v; want all %d", len(users), err, smallSeed.Users)
			}
		})
		var users []User
		expectQueries(t, s, map[string]uint64{atlas.QueryWarm: 1}, func() {
			var err error
			if users, err = s.UsersByID(ctx, []string{"u1", "u12", "nobody", "u1"}); err != nil {
				t.Fatal(err)
			}
		})
		var got []string
		for _, u := range users {
			got = append(got, u.ID)
			if want, _ := s.GetUser(ctx, u.ID); want != u {
				t.Errorf("UsersByID gave %+v, GetUser %+v", u, want)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"u1", "u12"}) {
			t.Errorf("UsersByID = %v, want u1 and u12", got)
		}
	})
}

// rawActiveOrder is every user ID by last_active_at DESC, id, computed in Go.
func rawActiveOrder(t testing.TB, s *sqlStore) []string {
	t.Helper()
	rows, err := s.read.Query(`SELECT id, last_active_at FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type ua struct {
		id string
		at int64
	}
	var all []ua
	for rows.Next() {
		var u ua
		if err := rows.Scan(&u.id, &u.at); err != nil {
			t.Fatal(err)
		}
		all = append(all, u)
	}
	slices.SortFunc(all, func(a, b ua) int {
		if a.at != b.at {
			return -cmpInt(a.at, b.at)
		}
		return strings.Compare(a.id, b.id)
	})
	var ids []string
	for _, u := range all {
		ids = append(ids, u.id)
	}
	return ids
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestUsersByIDBatchesOf500(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := seeded(t, b, SeedConfig{Seed: 1, Users: 1100}, Options{})
		var ids []string
		for i := 1; i <= 1201; i++ { // u1101…u1201 do not exist
			ids = append(ids, atlas.SeedUserID(i))
		}
		expectQueries(t, s, map[string]uint64{atlas.QueryWarm: 3}, func() {
			users, err := s.UsersByID(ctx, ids)
			if err != nil || len(users) != 1100 {
				t.Errorf("UsersByID(1201 ids) = %d users, %v; want 1100", len(users), err)
			}
		})
		expectQueries(t, s, map[string]uint64{atlas.QueryWarm: 1}, func() {
			users, err := s.UsersByID(ctx, ids[:500])
			if err != nil || len(users) != 500 {
				t.Errorf("UsersByID(500 ids) = %d users, %v", len(users), err)
			}
		})
		expectQueries(t, s, map[string]uint64{}, func() {
			users, err := s.UsersByID(ctx, nil)
			if err != nil || users == nil || len(users) != 0 {
				t.Errorf("UsersByID(nil) = %#v, %v; want an empty non-nil slice", users, err)
			}
		})
	})
}

func TestWritesPersistBumpActivityAndContinueIDs(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := seeded(t, b, smallSeed, Options{})
		U, C, M := smallSeed.Users, smallSeed.Conversations, smallSeed.Messages

		// SetTier: one write, bumps u7 to the clock's now.
		expectQueries(t, s, map[string]uint64{atlas.QueryWrites: 1}, func() {
			if err := s.SetTier(ctx, "u7", atlas.TierStudio); err != nil {
				t.Fatal(err)
			}
		})
		if tier, _ := s.GetTier(ctx, "u7"); tier != atlas.TierStudio {
			t.Errorf("tier after SetTier = %q, want studio", tier)
		}
		if top := activeIDs(t, s, 1); top[0] != "u7" {
			t.Errorf("most active after SetTier(u7) = %v", top)
		}
		expectQueries(t, s, map[string]uint64{atlas.QueryWrites: 1}, func() {
			if err := s.SetTier(ctx, "nobody", atlas.TierCore); !errors.Is(err, ErrNotFound) {
				t.Errorf("SetTier(nobody) error = %v, want ErrNotFound", err)
			}
		})
		expectQueries(t, s, map[string]uint64{}, func() {
			if err := s.SetTier(ctx, "u7", "gold"); !errors.Is(err, ErrInvalid) {
				t.Errorf("SetTier(gold) error = %v, want ErrInvalid", err)
			}
		})

		// CreateConversation: bump + insert; the ID continues after the seeded ones.
		now := testNow.Add(time.Hour)
		var c Conversation
		expectQueries(t, s, map[string]uint64{atlas.QueryWrites: 2}, func() {
			var err error
			if c, err = s.CreateConversation(ctx, "u2", "fresh", now); err != nil {
				t.Fatal(err)
			}
		})
		want := Conversation{ID: int64(U*C) + 1, UserID: "u2", Title: "fresh", CreatedAt: now.Truncate(time.Millisecond)}
		if c != want || c.CreatedAt.Location() != time.UTC {
			t.Errorf("CreateConversation = %+v, want %+v in UTC", c, want)
		}
		if list, _ := s.ListConversations(ctx, "u2"); len(list) != C+1 || list[0] != want {
			t.Errorf("ListConversations(u2)[0] = %+v, want the new one first", list[0])
		}
		if got, err := s.GetConversation(ctx, "u2", c.ID); err != nil || got != want {
			t.Errorf("GetConversation(new) = %+v, %v", got, err)
		}
		if top := activeIDs(t, s, 1); top[0] != "u2" {
			t.Errorf("most active after CreateConversation(u2) = %v", top)
		}
		expectQueries(t, s, map[string]uint64{atlas.QueryWrites: 1}, func() {
			if _, err := s.CreateConversation(ctx, "nobody", "x", now); !errors.Is(err, ErrNotFound) {
				t.Errorf("CreateConversation(nobody) error = %v, want ErrNotFound", err)
			}
		})

		// CreateMessage: ownership, insert, bump (no quota count when unlimited).
		now2 := now.Add(time.Minute)
		var m Message
		expectQueries(t, s, map[string]uint64{atlas.QueryWrites: 3}, func() {
			var err error
			if m, err = s.CreateMessage(ctx, "u2", c.ID, "hello", now2, now2.Truncate(24*time.Hour), 0); err != nil {
				t.Fatal(err)
			}
		})
		wantM := Message{ID: int64(U*C*M) + 1, ConversationID: c.ID, UserID: "u2", Role: "user", Content: "hello", CreatedAt: now2.Truncate(time.Millisecond)}
		if m != wantM {
			t.Errorf("CreateMessage = %+v, want %+v", m, wantM)
		}
		// With a quota the count is a fourth statement; seeded conversations take messages too.
		seededConv := atlas.SeedConversationID(9, 0, C)
		expectQueries(t, s, map[string]uint64{atlas.QueryWrites: 4}, func() {
			m2, err := s.CreateMessage(ctx, "u9", seededConv, "again", now2, now2.Truncate(24*time.Hour), 10)
			if err != nil || m2.ID != wantM.ID+1 {
				t.Errorf("second CreateMessage = %+v, %v; want ID %d", m2, err, wantM.ID+1)
			}
		})
		if msgs, _ := s.ListMessages(ctx, seededConv, 0); len(msgs) != M+1 || msgs[0].Content != "again" {
			t.Errorf("ListMessages(seeded conversation) = %d messages, first %+v", len(msgs), msgs[0])
		}
		if msgs, _ := s.ListMessages(ctx, c.ID, 10); len(msgs) != 1 || msgs[0] != wantM {
			t.Errorf("ListMessages(new conversation) = %+v, want [%+v]", msgs, wantM)
		}
		if top := activeIDs(t, s, 2); !slices.Equal(top, []string{"u2", "u9"}) {
			t.Errorf("most active = %v, want [u2 u9] (same now, id order)", top)
		}
		c2, err := s.CreateConversation(ctx, "u1", "next", now)
		if err != nil || c2.ID != c.ID+1 {
			t.Errorf("next conversation = %+v, %v; want ID %d", c2, err, c.ID+1)
		}
	})
}

func activeIDs(t testing.TB, s Store, n int) []string {
	t.Helper()
	users, err := s.ActiveUsers(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	return ids
}

func TestOwnershipIsEnforced(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := seeded(t, b, smallSeed, Options{})
		C := smallSeed.Conversations
		theirs := atlas.SeedConversationID(1, 0, C) // u1's
		before, _ := s.ListMessages(ctx, theirs, 0)
		for _, tc := range []struct {
			user string
			conv int64
		}{
			{"u2", theirs},            // another user's conversation
			{"nobody", theirs},        // unknown user
			{"u1", 1 << 40},           // unknown conversation
			{"u1' OR '1'='1", theirs}, // injection in the user ID
		} {
			if _, err := s.GetConversation(ctx, tc.user, tc.conv); !errors.Is(err, ErrNotFound) {
				t.Errorf("GetConversation(%q, %d) error = %v, want ErrNotFound", tc.user, tc.conv, err)
			}
			expectQueries(t, s, map[string]uint64{atlas.QueryWrites: 1}, func() {
				if _, err := s.CreateMessage(ctx, tc.user, tc.conv, "mine now", testNow, testNow, 0); !errors.Is(err, ErrNotFound) {
					t.Errorf("CreateMessage(%q, %d) error = %v, want ErrNotFound", tc.user, tc.conv, err)
				}
			})
		}
		after, _ := s.ListMessages(ctx, theirs, 0)
		if !slices.Equal(before, after) {
			t.Errorf("messages of u1's conversation changed: %d → %d", len(before), len(after))
		}
		if c, err := s.GetConversation(ctx, "u1", theirs); err != nil || c.UserID != "u1" {
			t.Errorf("owner's GetConversation = %+v, %v", c, err)
		}
	})
}

func TestQuota(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := seeded(t, b, smallSeed, Options{})
		C, M := smallSeed.Conversations, smallSeed.Messages
		day := testNow.Truncate(24 * time.Hour)
		c0, c1 := atlas.SeedConversationID(4, 0, C), atlas.SeedConversationID(4, 1, C)

		// Three messages fit (across two conversations), the fourth does not.
		for k, conv := range []int64{c0, c1, c0} {
			if _, err := s.CreateMessage(ctx, "u4", conv, fmt.Sprint("m", k), testNow.Add(time.Duration(k)*time.Second), day, 3); err != nil {
				t.Fatalf("message %d: %v", k+1, err)
			}
		}
		expectQueries(t, s, map[string]uint64{atlas.QueryWrites: 2}, func() {
			if _, err := s.CreateMessage(ctx, "u4", c1, "one too many", testNow.Add(time.Minute), day, 3); !errors.Is(err, ErrQuota) {
				t.Errorf("4th message error = %v, want ErrQuota", err)
			}
		})
		if msgs, _ := s.ListMessages(ctx, c1, 0); len(msgs) != M+1 {
			t.Errorf("conversation has %d messages after the refused one, want %d", len(msgs), M+1)
		}
		// Another user is not affected; an unlimited quota ignores the count.
		if _, err := s.CreateMessage(ctx, "u5", atlas.SeedConversationID(5, 0, C), "x", testNow, day, 3); err != nil {
			t.Errorf("u5: %v", err)
		}
		if _, err := s.CreateMessage(ctx, "u4", c0, "unlimited", testNow.Add(time.Minute), day, 0); err != nil {
			t.Errorf("u4 unlimited: %v", err)
		}
		// dayStart is respected: a new day starts a new count…
		next := day.Add(24 * time.Hour)
		if _, err := s.CreateMessage(ctx, "u4", c0, "tomorrow", next.Add(time.Hour), next, 3); err != nil {
			t.Errorf("next day: %v", err)
		}
		// …and a dayStart before the seeded rows counts the seeded user messages
		// (not the assistant's): C conversations × ceil(M/2) of them, plus 5 above.
		seededUser := C * ((M + 1) / 2)
		sent := seededUser + 5
		if _, err := s.CreateMessage(ctx, "u4", c0, "fits", next.Add(2*time.Hour), atlas.SeedEpoch, sent+1); err != nil {
			t.Errorf("quota %d since atlas.SeedEpoch: %v", sent+1, err)
		}
		if _, err := s.CreateMessage(ctx, "u4", c0, "does not", next.Add(3*time.Hour), atlas.SeedEpoch, sent+1); !errors.Is(err, ErrQuota) {
			t.Errorf("quota %d since atlas.SeedEpoch, one more: error %v, want ErrQuota", sent+1, err)
		}
	})
}

func TestQuotaHoldsUnderConcurrency(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := seeded(t, b, smallSeed, Options{Latency: 200 * time.Microsecond, Jitter: 200 * time.Microsecond})
		conv := atlas.SeedConversationID(6, 0, smallSeed.Conversations)
		const writers, quota = 24, 5
		errs := make(chan error, writers)
		for k := range writers {
			go func() {
				_, err := s.CreateMessage(ctx, "u6", conv, fmt.Sprint("race ", k), testNow, testNow.Truncate(24*time.Hour), quota)
				errs <- err
			}()
		}
		ok, refused := 0, 0
		for range writers {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, ErrQuota):
				refused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != quota || refused != writers-quota {
			t.Errorf("%d accepted, %d refused; want %d and %d", ok, refused, quota, writers-quota)
		}
	})
}

func TestNewestFirstIncludesRowsCreatedLater(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := seeded(t, b, smallSeed, Options{})
		old, err := s.CreateConversation(ctx, "u8", "back-dated", atlas.SeedEpoch.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		tieA, _ := s.CreateConversation(ctx, "u8", "tie a", testNow)
		tieB, _ := s.CreateConversation(ctx, "u8", "tie b", testNow)
		list, err := s.ListConversations(ctx, "u8")
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, c := range list {
			got = append(got, c.ID)
		}
		C := smallSeed.Conversations
		want := []int64{tieB.ID, tieA.ID, atlas.SeedConversationID(8, 2, C), atlas.SeedConversationID(8, 1, C), atlas.SeedConversationID(8, 0, C), old.ID}
		if !slices.Equal(got, want) {
			t.Errorf("ListConversations = %v, want %v (created_at DESC, id DESC)", got, want)
		}
		conv := atlas.SeedConversationID(8, 1, C)
		m1, _ := s.CreateMessage(ctx, "u8", conv, "later", testNow, testNow, 0)
		m0, _ := s.CreateMessage(ctx, "u8", conv, "back-dated", atlas.SeedEpoch, testNow, 0)
		msgs, err := s.ListMessages(ctx, conv, 0)
		if err != nil {
			t.Fatal(err)
		}
		if msgs[0].ID != m1.ID || msgs[len(msgs)-1].ID != m0.ID {
			t.Errorf("first %d last %d, want %d then … %d", msgs[0].ID, msgs[len(msgs)-1].ID, m1.ID, m0.ID)
		}
		for k := 1; k < len(msgs); k++ {
			if msgs[k].CreatedAt.After(msgs[k-1].CreatedAt) {
				t.Errorf("message %d is newer than the one before it", k)
			}
		}
	})
}

func TestHostileStringsStoredVerbatim(t *testing.T) {
	hostile := []string{
		`'); DROP TABLE users; --`,
		`" OR 1=1 --`,
		`Robert'); DELETE FROM messages WHERE ('1'='1`,
		`\'; SELECT pg_sleep(10); --`,
		`$1 $2 ? ?? :name @p1 %s %v`,
		`%_ LIKE '%'`,
		"line\nbreak\ttab\r\n",
		"emoji 🚀 and RTL \u202e override, zero-width \u200b",
		"\x7f\x01\x1b[31m",
		strings.Repeat("long ", 20000),
		"",
	}
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := seeded(t, b, smallSeed, Options{})
		conv := atlas.SeedConversationID(1, 0, smallSeed.Conversations)
		for k, h := range hostile {
			c, err := s.CreateConversation(ctx, "u1", h, testNow.Add(time.Duration(k)*time.Second))
			if err != nil {
				t.Fatalf("CreateConversation(%.40q): %v", h, err)
			}
			if got, err := s.GetConversation(ctx, "u1", c.ID); err != nil || got.Title != h {
				t.Errorf("title %.40q came back as %.40q, %v", h, got.Title, err)
			}
			m, err := s.CreateMessage(ctx, "u1", conv, h, testNow.Add(time.Duration(k)*time.Second), testNow, 0)
			if err != nil {
				t.Fatalf("CreateMessage(%.40q): %v", h, err)
			}
			if msgs, err := s.ListMessages(ctx, conv, 1); err != nil || len(msgs) != 1 || msgs[0] != m || msgs[0].Content != h {
				t.Errorf("content %.40q came back as %+v, %v", h, msgs, err)
			}
			// As a user ID it matches nobody and breaks nothing.
			if _, err := s.GetTier(ctx, h); !errors.Is(err, ErrNotFound) {
				t.Errorf("GetTier(%.40q) error = %v, want ErrNotFound", h, err)
			}
			if _, err := s.ListConversations(ctx, h); !errors.Is(err, ErrNotFound) {
				t.Errorf("ListConversations(%.40q) error = %v, want ErrNotFound", h, err)
			}
			if err := s.SetTier(ctx, h, atlas.TierCore); !errors.Is(err, ErrNotFound) {
				t.Errorf("SetTier(%.40q) error = %v, want ErrNotFound", h, err)
			}
		}
		if users, err := s.UsersByID(ctx, hostile); err != nil || len(users) != 0 {
			t.Errorf("UsersByID(hostile) = %v, %v; want none", users, err)
		}
		if users, _ := s.ActiveUsers(ctx, 0); len(users) != smallSeed.Users {
			t.Errorf("%d users after the hostile inputs, want %d", len(users), smallSeed.Users)
		}
		if list, _ := s.ListConversations(ctx, "u1"); len(list) != smallSeed.Conversations+len(hostile) {
			t.Errorf("u1 has %d conversations, want %d", len(list), smallSeed.Conversations+len(hostile))
		}
	})
}

func TestUnstorableTextIsRefusedAlikeOnBothBackends(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := seeded(t, b, smallSeed, Options{})
		conv := atlas.SeedConversationID(1, 0, smallSeed.Conversations)
		for _, bad := range []string{"nul \x00 byte", "bad utf-8 \xff\xfe"} {
			expectQueries(t, s, map[string]uint64{}, func() {
				if _, err := s.CreateMessage(ctx, "u1", conv, bad, testNow, testNow, 0); !errors.Is(err, ErrInvalid) {
					t.Errorf("CreateMessage(%q) error = %v, want ErrInvalid", bad, err)
				}
				if _, err := s.CreateConversation(ctx, "u1", bad, testNow); !errors.Is(err, ErrInvalid) {
					t.Errorf("CreateConversation(%q) error = %v, want ErrInvalid", bad, err)
				}
				if _, err := s.GetTier(ctx, bad); !errors.Is(err, ErrNotFound) {
					t.Errorf("GetTier(%q) error = %v, want ErrNotFound", bad, err)
				}
				if _, err := s.GetUser(ctx, bad); !errors.Is(err, ErrNotFound) {
					t.Errorf("GetUser(%q) error = %v, want ErrNotFound", bad, err)
				}
				if _, err := s.GetConversation(ctx, bad, conv); !errors.Is(err, ErrNotFound) {
					t.Errorf("GetConversation(%q) error = %v, want ErrNotFound", bad, err)
				}
				if users, err := s.UsersByID(ctx, []string{bad}); err != nil || len(users) != 0 {
					t.Errorf("UsersByID(%q) = %v, %v", bad, users, err)
				}
			})
		}
	})
}
