package scenarios

// Attack kinds a mix entry may name with `attack:` instead of `req:`. Each kind stands for
// many concrete hostile requests that the driver generates from the scenario's seed; every
// one knows the answers it accepts (see internal/driver).
const (
	// AttackForeignConversation reads or posts to another user's conversation: 404, never 200.
	AttackForeignConversation = "foreign-conversation"
	// AttackPathVariant aliases a route or a conversation (own or foreign) with a .css/.js
	// suffix, a trailing slash, %2f, ;x, .., //, mixed case or extra query: 404 or 400, or
	// 200 with the requester's own body.
	AttackPathVariant = "path-variant"
	// AttackHostileID uses conversation IDs (and limits) with : * ? [ ] \ % and strings up
	// to 4 KiB: 404 or 400.
	AttackHostileID = "hostile-id"
	// AttackBadToken sends tokens that must not authenticate (alg none, HS384, RS256, a
	// wrong secret, expired, not yet valid, unknown or hostile subjects, no token): 401.
	AttackBadToken = "bad-token"
	// AttackSpoofedHeader sends a valid token of user A with X-User-Id and X-Forwarded-User
	// naming user B: A's own data (or 404 for B's conversation).
	AttackSpoofedHeader = "spoofed-header"
	// AttackOversizedBody posts bodies larger than the server's 64 KiB limit: 413.
	AttackOversizedBody = "oversized-body"
	// AttackMalformedBody posts broken JSON, unknown fields, trailing data, wrong types: 400.
	AttackMalformedBody = "malformed-body"
	// AttackBadTier puts tiers outside free, core and studio: 400.
	AttackBadTier = "bad-tier"
)

// AttackKinds lists the attack kinds a mix may use, in a fixed order.
func AttackKinds() []string {
	return []string{AttackForeignConversation, AttackPathVariant, AttackHostileID, AttackBadToken,
		AttackSpoofedHeader, AttackOversizedBody, AttackMalformedBody, AttackBadTier}
}

// AttackNeedsOthers reports whether an attack kind targets other users, so that the
// population needs at least two.
func AttackNeedsOthers(kind string) bool {
	switch kind {
	case AttackForeignConversation, AttackPathVariant, AttackSpoofedHeader:
		return true
	}
	return false
}

// AttackNeedsConversations reports whether an attack kind uses the seeded conversations,
// so that the population needs at least one per user.
func AttackNeedsConversations(kind string) bool { return kind != AttackBadTier }
