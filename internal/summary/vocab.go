package summary

import "github.com/atlasbench/atlasbench/internal/atlas"

// Mode is what a run measured: the cache, no cache, both (the same seeded requests twice,
// no cache first), or an external server (-target). A mode's Figures have ModeCache or
// ModeNoCache (a -target run's figures are of the mode the server reports in its stats,
// ModeCache when it reports none).
type Mode string

// The modes.
const (
	ModeCache   Mode = "cache"
	ModeNoCache Mode = "nocache"
	ModeBoth    Mode = "both"
	ModeTarget  Mode = "target"
)

// Valid reports whether m is a mode a user picks for bench run and bench compare (-mode):
// cache, nocache or both.
func (m Mode) Valid() bool { return m == ModeCache || m == ModeNoCache || m == ModeBoth }

// Overall is the hit-rate "class" of the four cache classes together (HitRate.Overall,
// Series.HitRate["overall"]).
const Overall = "overall"

// CacheClasses are the cache classes whose hit rates a summary has, in a fixed order
// (atlas.CacheClasses, by name).
func CacheClasses() []string { return atlas.CacheClassNames() }

// HitRateClasses are CacheClasses and Overall: the keys of Series.HitRate and the fields of HitRate.
func HitRateClasses() []string { return append(CacheClasses(), Overall) }

// Of returns the hit rate of a class of HitRateClasses, and false for another name.
func (h HitRate) Of(class string) (float64, bool) {
	switch class {
	case string(atlas.ClassTier):
		return h.Tier, true
	case string(atlas.ClassUserProfile):
		return h.UserProfile, true
	case string(atlas.ClassConversations):
		return h.Conversations, true
	case string(atlas.ClassAPIResponses):
		return h.APIResponses, true
	case Overall:
		return h.Overall, true
	}
	return 0, false
}

// NewHitRate builds a HitRate from the rate of each of HitRateClasses.
func NewHitRate(of func(class string) float64) HitRate {
	return HitRate{
		Tier:          of(string(atlas.ClassTier)),
		UserProfile:   of(string(atlas.ClassUserProfile)),
		Conversations: of(string(atlas.ClassConversations)),
		APIResponses:  of(string(atlas.ClassAPIResponses)),
		Overall:       of(Overall),
	}
}

// QueryClasses are the server's DB query classes (DBQueries.ByClass keys), in a fixed
// order (atlas.QueryClasses).
func QueryClasses() []string { return atlas.QueryClasses() }

// The phase names that are not a fault's: PhaseSteady is the window before the first
// fault; PhaseRecovery follows a fault that ends (start-redis, heal); every other phase is
// named after its fault.
const (
	PhaseSteady   = "steady"
	PhaseRecovery = "recovery"
)

// The phase names a fault opens (Phase.Name), each named by the fault's effect; the
// fault's verb is Phase.Fault.
const (
	PhaseRedisDown      = "redis-down"        // kill-redis
	PhaseRedisSlow      = "redis-slow"        // slow-redis
	PhaseRedisPartition = "redis-partition"   // partition-redis
	PhaseRedisRefused   = "redis-refused"     // refuse-redis
	PhaseRedisFlap      = "redis-flap"        // flap-redis
	PhaseRedisFlushed   = "redis-flushed"     // flush-redis
	PhaseServerDown     = "server-down"       // kill-server
	PhaseRedisFailover  = "redis-failover"    // failover
	PhaseReplicaLag     = "redis-replica-lag" // lag-replica
	// The restart verbs take seconds; like a flush their phase starts when they are done
	// (the restarts themselves are summarised in Figures.Restarts).
	PhaseServerRestarted  = "server-restarted"  // restart-server
	PhaseRollingRestarted = "rolling-restarted" // rolling-restart
)

// FaultPhases lists the phase names a fault may open, in a fixed order.
func FaultPhases() []string {
	return []string{PhaseRedisDown, PhaseRedisSlow, PhaseRedisPartition, PhaseRedisRefused, PhaseRedisFlap,
		PhaseRedisFlushed, PhaseServerDown, PhaseRedisFailover, PhaseReplicaLag, PhaseServerRestarted, PhaseRollingRestarted}
}

// IsFaultPhase reports whether a phase of that name is a fault's window.
func IsFaultPhase(name string) bool { return name != PhaseSteady && name != PhaseRecovery }
