package cache

import (
	"context"
	"fmt"
	"testing"

	"github.com/atlasbench/atlasbench/internal/testutil"
)

// revalidates reports whether a fresh view of user vouches for etag (served as tier).
func revalidates(c *Cache, user string, class Class, tier, resource, etag string) bool {
	ctx := context.Background()
	_, ok := c.User(ctx, user).Revalidate(ctx, class, tier, resource, func(v Validator) bool { return v.ETag(tier) == etag })
	return ok
}

// TestValidatorNeverNewerThanItsValue is the stale-set race for validators: a fill paused
// between its load and its SET while a write is committed and invalidated returns the old
// value with a validator that no longer revalidates once the write is acknowledged; the
// next read's value is the new one under a validator that does.
func TestValidatorNeverNewerThanItsValue(t *testing.T) {
	c, armed, paused, release := pausingCache(t)
	ctx := context.Background()
	db := newFakeDB()
	for i := range 200 {
		class, tier, res, scope := ClassConversations, "free", "", ScopeData
		if i%2 == 1 {
			class, res = ClassAPIResponses, "messages/c1?limit=50"
		}
		if i%5 == 4 {
			class, res, scope = ClassUserProfile, "", ScopeAll
		}
		old, fresh := fmt.Sprintf("r%d-old", i), fmt.Sprintf("r%d-new", i)
		db.set("v", old)
		if err := c.Invalidate(ctx, "racer", scope); err != nil {
			t.Fatal(err)
		}
		armed.Store(true)
		type answer struct {
			val  string
			etag string
		}
		done := make(chan answer)
		go func() {
			v, _, val, err := c.User(ctx, "racer").LoadValidated(ctx, class, tier, res, db.loader("v"))
			if err != nil || !val.Valid() {
				t.Errorf("round %d: %v, validator valid %v", i, err, val.Valid())
			}
			done <- answer{string(v), val.ETag(tier)}
		}()
		<-paused
		db.set("v", fresh)
		if err := c.Invalidate(ctx, "racer", scope); err != nil {
			t.Fatal(err)
		}
		release <- struct{}{}
		paused := <-done
		if paused.val != old {
			t.Fatalf("round %d: paused fill returned %q, want %q", i, paused.val, old)
		}
		if revalidates(c, "racer", class, tier, res, paused.etag) {
			t.Fatalf("round %d (%s): the old value's validator %s still revalidates after the write", i, class, paused.etag)
		}
		v, _, val, err := c.User(ctx, "racer").LoadValidated(ctx, class, tier, res, db.loader("v"))
		if err != nil || string(v) != fresh || val.ETag(tier) == paused.etag {
			t.Fatalf("round %d: read after the write = %q (ETag %s), %v; want %q under a new ETag", i, v, val.ETag(tier), err, fresh)
		}
		if !revalidates(c, "racer", class, tier, res, val.ETag(tier)) {
			t.Fatalf("round %d: the current value's validator %s does not revalidate", i, val.ETag(tier))
		}
	}
}

// TestValidatorIgnoringTierIsUnsafe: with unsafe.validatorIgnoresTier a tier change
// (ScopeAll) leaves the ETag as it was, which the default's never does.
func TestValidatorIgnoringTierIsUnsafe(t *testing.T) {
	srv := testutil.Redis(t)
	for _, weak := range []bool{false, true} {
		cfg := relaxed()
		cfg.Unsafe.ValidatorIgnoresTier = weak
		c, _ := newTestCache(t, srv.URL(), Options{Config: cfg})
		ctx := context.Background()
		user := fmt.Sprintf("tiered-%v", weak)
		db := newFakeDB()
		db.set("p", "profile")
		_, _, before, err := c.User(ctx, user).LoadValidated(ctx, ClassUserProfile, "free", "", db.loader("p"))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Invalidate(ctx, user, ScopeAll); err != nil {
			t.Fatal(err)
		}
		// The same body, now served as core: only the weak validator says nothing changed.
		_, _, after, err := c.User(ctx, user).LoadValidated(ctx, ClassUserProfile, "core", "", db.loader("p"))
		if err != nil {
			t.Fatal(err)
		}
		if same := before.ETag("free") == after.ETag("core"); same != weak {
			t.Errorf("weak=%v: ETag %s before the tier change, %s after", weak, before.ETag("free"), after.ETag("core"))
		}
	}
}
