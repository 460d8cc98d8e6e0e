package check

import (
	"testing"

	"github.com/atlasbench/atlasbench/internal/driver"
)

// revalidated turns a record into a 304 to a conditional request whose device kept a copy
// served as copyTier with body copyBody.
func revalidated(r driver.Record, class, copyTier, copyBody string) driver.Record {
	r.Res.Code, r.Res.Body = 304, nil
	r.Req.Class = class
	r.Req.Kept = &driver.Copy{ETag: `"x"`, Body: []byte(copyBody), Tier: copyTier}
	return r
}

// TestKeptCopyRules: a 304 is judged as the copy the device shows.
func TestKeptCopyRules(t *testing.T) {
	posted := `{"id":"m100","conversationId":"c1","userId":"u1","createdAt":"2026-05-01T00:00:00.005Z"}`
	post := func() driver.Record { return rec("POST /api/conversations/{id}/messages", 0, 10, 201, "free", posted) }
	without := `{"userId":"u1","conversationId":"c1","messages":[{"id":"m1","userId":"u1","createdAt":"2026-05-01T00:00:00.000Z"}]}`
	with := `{"userId":"u1","conversationId":"c1","messages":[{"id":"m100","userId":"u1","createdAt":"2026-05-01T00:00:00.005Z"}]}`
	put := func(tier, body string) driver.Record { return rec("PUT /api/me/tier", 0, 10, 200, tier, body) }
	for _, tc := range []struct {
		name                         string
		recs                         []driver.Record
		stale, client, isolation, er int64
	}{
		// The copy lacks a message acknowledged before the revalidation was sent.
		{"copy older than an acknowledged write", []driver.Record{post(),
			revalidated(rec("GET /api/conversations/{id}/messages", 20, 5, 0, "free", ""), "apiResponses", "free", without)}, 1, 1, 0, 0},
		// The copy has it.
		{"copy with the write", []driver.Record{post(),
			revalidated(rec("GET /api/conversations/{id}/messages", 20, 5, 0, "free", ""), "apiResponses", "free", with)}, 0, 0, 0, 0},
		// Revalidated before the write was acknowledged: the copy may lack it.
		{"revalidated before the ack", []driver.Record{post(),
			revalidated(rec("GET /api/conversations/{id}/messages", 5, 2, 0, "free", ""), "apiResponses", "free", without)}, 0, 0, 0, 0},
		// A copy made as free validated after the change to core was acknowledged, though the
		// 304 itself says core: tier isolation on the client.
		{"copy made under the old tier", []driver.Record{put("core", meCore),
			revalidated(rec("GET /api/conversations", 20, 5, 0, "core", ""), "conversations", "free", `{"userId":"u1","conversations":[]}`)}, 1, 1, 0, 0},
		// The same for the profile, whose body names the tier.
		{"profile copy saying the old tier", []driver.Record{put("core", meCore),
			revalidated(rec("GET /api/me", 20, 5, 0, "core", ""), "userProfile", "core", meFree)}, 1, 1, 0, 0},
		// A copy made under the new tier: fine.
		{"copy under the new tier", []driver.Record{put("core", meCore),
			revalidated(rec("GET /api/me", 20, 5, 0, "core", ""), "userProfile", "core", meCore)}, 0, 0, 0, 0},
		// A change in flight while the revalidation was: no claim.
		{"tier change in flight", []driver.Record{rec("PUT /api/me/tier", 15, 30, 200, "core", meCore),
			revalidated(rec("GET /api/me", 20, 5, 0, "free", ""), "userProfile", "free", meFree)}, 0, 0, 0, 0},
		// A kept body of another user shown on a 304: isolation.
		{"foreign copy", []driver.Record{
			revalidated(rec("GET /api/me", 20, 5, 0, "free", ""), "userProfile", "free", `{"userId":"u2","tier":"free"}`)}, 0, 0, 1, 0},
		// A 304 to a request that was not conditional is an error, not a copy.
		{"304 without a copy", []driver.Record{rec("GET /api/me", 20, 5, 304, "free", "")}, 0, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := report(t, tc.recs...)
			var client int64
			for _, n := range r.ClientStale {
				client += n
			}
			if r.Stale != tc.stale || client != tc.client || r.Isolation != tc.isolation || r.Errors != tc.er || r.Tier != 0 {
				t.Errorf("stale %d (client %v), isolation %d, errors %d, tier %d; want stale %d (client %d), isolation %d, errors %d, tier 0 (%+v)",
					r.Stale, r.ClientStale, r.Isolation, r.Errors, r.Tier, tc.stale, tc.client, tc.isolation, tc.er, r.Examples)
			}
		})
	}
}
