package atlas

// Class is a cache class: a kind of cached value with its own TTL per tier and its own
// counters. Every authenticated request looks up ClassTier; its route's own class is what
// the server reports in X-Cache.
type Class string

// The four cache classes.
const (
	ClassTier          Class = "tier"          // the user's tier (the value is the tier string); key by user only
	ClassUserProfile   Class = "userProfile"   // GET /api/me; key by user and tier
	ClassConversations Class = "conversations" // GET /api/conversations; key by user and tier
	ClassAPIResponses  Class = "apiResponses"  // other GET responses; key by user, tier and routed resource
)

// CacheClasses lists the cache classes in a fixed order.
func CacheClasses() []Class {
	return []Class{ClassTier, ClassUserProfile, ClassConversations, ClassAPIResponses}
}

// CacheClassNames lists the cache classes' names in the order of CacheClasses.
func CacheClassNames() []string {
	return []string{string(ClassTier), string(ClassUserProfile), string(ClassConversations), string(ClassAPIResponses)}
}

// Index returns the class's position in CacheClasses, or -1.
func (c Class) Index() int {
	switch c {
	case ClassTier:
		return 0
	case ClassUserProfile:
		return 1
	case ClassConversations:
		return 2
	case ClassAPIResponses:
		return 3
	}
	return -1
}

// Valid reports whether c is one of the four classes.
func (c Class) Valid() bool { return c.Index() >= 0 }

// Tiered reports whether the class's values depend on the tier (all but ClassTier).
func (c Class) Tiered() bool { return c != ClassTier }

// HasResource reports whether the class is keyed by a resource (only ClassAPIResponses).
func (c Class) HasResource() bool { return c == ClassAPIResponses }

// DataScoped reports whether a write to the user's data invalidates the class
// (conversations and apiResponses); a tier change invalidates every class.
func (c Class) DataScoped() bool { return c == ClassConversations || c == ClassAPIResponses }

// The DB query classes the store counts under: the four cache classes' reads, plus
// writes and cache warming.
const (
	QueryTier          = string(ClassTier)          // GetTier
	QueryUserProfile   = string(ClassUserProfile)   // GetUser
	QueryConversations = string(ClassConversations) // ListConversations
	QueryAPIResponses  = string(ClassAPIResponses)  // GetConversation, ListMessages
	QueryWrites        = "writes"                   // SetTier, CreateConversation, CreateMessage (quota included)
	QueryWarm          = "warm"                     // ActiveUsers, UsersByID (cache warming)
)

// QueryClasses lists every DB query class in a fixed order.
func QueryClasses() []string {
	return []string{QueryTier, QueryUserProfile, QueryConversations, QueryAPIResponses, QueryWrites, QueryWarm}
}
