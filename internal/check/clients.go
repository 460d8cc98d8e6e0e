package check

import "github.com/atlasbench/atlasbench/internal/driver"

// The checks of a device's kept copy (scenario clients with cache: true). A 304 is correct
// only when the copy the device then shows is what a fresh GET would answer at that moment
// by the checks' model: its body passes the isolation and staleness checks as if it had
// just been received (judge does that with driver.Record.Shown), and it was made under the
// tier the user was last acknowledged to have, with a body that says so on the tier routes.
// A copy that fails is a client-visible stale read (KindStale, counted per class in
// Report.ClientStale): a copy made under the old tier must never validate after a tier
// change.

// checkKeptTier holds the copy a 304 validated to the tier rule: the tier it was served as
// (driver.Copy.Tier) and, on GET /api/me and /api/me/tier, its body's "tier" must be the
// acknowledged one. Like checkTier it waits for the PUTs that could explain a mismatch.
func (c *Checker) checkKeptTier(u *userState, r driver.Record, b *body) {
	s := suspect{rec: r, header: r.Req.Kept.Tier, sent: r.Res.Timestamp, end: r.Res.End(), kind: KindStale}
	if r.Req.Route == "GET /api/me" || r.Req.Route == "GET /api/me/tier" {
		s.bodyRead, s.bodyTier = true, b.Tier
	}
	want, ok := u.expectedTier(s.sent, s.end)
	if !ok || s.mismatch(want) == "" {
		return
	}
	u.suspects = append(u.suspects, s)
	c.suspect[u] = struct{}{}
}
