package cache

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/singleflight"
)

// Options configures a Cache. The zero value of every field means its default.
type Options struct {
	// Config is the cache config (TTLs, jitter, warming, breaker). A disabled
	// config makes every Load a Bypass.
	Config Config
	// Log receives state changes (breaker, pending invalidations, warming); nil discards.
	Log *slog.Logger
	// NegativeTTL is how long a not-found answer is cached; default 5s.
	NegativeTTL time.Duration
	// OpTimeout bounds one Redis read or write on the request path; default
	// Config.Redis.ReadTimeout (50ms).
	OpTimeout time.Duration
	// InvalidateTimeout bounds one generation increment (and the bulk pipelines of
	// warming); default 250ms.
	InvalidateTimeout time.Duration
	// FillTimeout bounds the loader run shared by the callers of one singleflight
	// fill, under a context detached from any one caller; default 5s.
	FillTimeout time.Duration
	// Warmer loads tier and profile of users for warming. nil userIDs asks for
	// the active population, most recently active first (at most WarmLimit are used; only
	// their UserID is read); nil Warmer disables warming.
	Warmer func(ctx context.Context, userIDs []string) ([]WarmEntry, error)
	// WarmLimit caps the users WarmStart warms; default 0: the config's warming.maxUsers
	// (itself 0 by default: the budgets of the warming section bound it).
	WarmLimit int
	// WarmProgress, when set, hears the running totals of a warming run after every
	// batch (from the batches' goroutines, but never two calls at once).
	WarmProgress func(WarmReport)
	// RecentUsers is how many recently seen users recovery warming remembers; default 10000.
	RecentUsers int
	// GenTTL is the lifetime of a user's generation counters, renewed by every
	// invalidation; default 24h. Expiry is safe: a counter starts again at a random value.
	GenTTL time.Duration
	// Rand returns a uniform number in [0, 1) for TTL jitter and must be safe for
	// concurrent use; default math/rand/v2.Float64.
	Rand func() float64
	// Fences is the log shared by the server instances for invalidations that did not reach
	// Redis (docs/COHERENCE.md); nil keeps pending invalidations in this process only, which
	// is safe for one instance and unsafe for several. Ignored with the config's
	// unsafe.localPendingOnly.
	Fences FenceLog
	// Lease is how long this instance may use the cache after it last read Fences; default
	// DefaultLease.
	Lease time.Duration
	// Hooks are test hooks.
	Hooks Hooks
}

// Hooks lets tests observe and pause the cache at fixed points.
type Hooks struct {
	// AfterLoad, when set, is called inside a fill after the loader returned and
	// before the value is written to Redis; it may block to pause the fill.
	AfterLoad func(key string)
}

// WarmEntry is what a Warmer returns for one user.
type WarmEntry struct {
	UserID string
	Tier   string
	// Profile is the exact body cached for ClassUserProfile.
	Profile []byte
}

// Defaults of Options.
const (
	DefaultNegativeTTL       = 5 * time.Second
	DefaultInvalidateTimeout = 250 * time.Millisecond
	DefaultFillTimeout       = 5 * time.Second
	DefaultRecentUsers       = 10000
	DefaultGenTTL            = 24 * time.Hour

	retryEvery      = 100 * time.Millisecond // pending-invalidation retrier period
	warmBatch       = 500                    // users per Warmer call and per pipeline
	warmConcurrency = 2                      // concurrent warm batches (DB queries)

	// WarmInFlight is how many users warming may be writing beyond what its last
	// WarmProgress said (the batches in flight).
	WarmInFlight = warmBatch * warmConcurrency
)

// Cache is the tier-isolated Redis cache of the reference server. It is safe
// for concurrent use; create it with New.
type Cache struct {
	client  redis.UniversalClient
	cfg     Config
	enabled bool
	log     *slog.Logger

	negTTL      time.Duration
	opTimeout   time.Duration
	invTimeout  time.Duration
	fillTimeout time.Duration
	genTTL      time.Duration
	warmer      func(ctx context.Context, userIDs []string) ([]WarmEntry, error)
	warmLimit   int
	// warmProgress is Options.WarmProgress.
	warmProgress func(WarmReport)
	rand         func() float64
	hooks        Hooks

	breaker *gobreaker.CircuitBreaker[struct{}] // the only breaker of a single Redis
	nodes   *nodeBreakers                       // a cluster's breakers, one per node; nil for a single Redis
	// waitReplicas: replica reads on a cluster, so an invalidation waits for the replicas.
	waitReplicas bool
	flights      singleflight.Group
	coldSeq      atomic.Uint64 // numbers the cold fills (UserView.coldFill)
	stats        [4]classCounters
	// redisCount counts the commands the client sends (RedisStats); nil without a client.
	redisCount *redisCounter
	pending    pendingSet
	peers      *peers
	recent     *recentSet
	recovered  chan struct{} // the breaker closed again: recovery warming is due
	started    atomic.Bool
	loops      sync.WaitGroup // the background loops of Start
}

type classCounters struct {
	hits, misses, errors, bypasses atomic.Uint64
}

// New returns a Cache over client. With a nil client or a disabled config every
// Load is a Bypass that calls its loader and Invalidate does nothing.
func New(client redis.UniversalClient, opts Options) *Cache {
	cfg := opts.Config.withDefaults()
	c := &Cache{
		client:       client,
		cfg:          cfg,
		enabled:      client != nil && cfg.Enabled(),
		log:          opts.Log,
		negTTL:       opts.NegativeTTL,
		opTimeout:    opts.OpTimeout,
		invTimeout:   opts.InvalidateTimeout,
		fillTimeout:  opts.FillTimeout,
		genTTL:       opts.GenTTL,
		warmer:       opts.Warmer,
		warmLimit:    opts.WarmLimit,
		warmProgress: opts.WarmProgress,
		rand:         opts.Rand,
		hooks:        opts.Hooks,
		recovered:    make(chan struct{}, 1),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.negTTL <= 0 {
		c.negTTL = DefaultNegativeTTL
	}
	if c.opTimeout <= 0 {
		c.opTimeout = cfg.Redis.ReadTimeout
	}
	if c.invTimeout <= 0 {
		c.invTimeout = DefaultInvalidateTimeout
	}
	if c.fillTimeout <= 0 {
		c.fillTimeout = DefaultFillTimeout
	}
	if c.genTTL <= 0 {
		c.genTTL = DefaultGenTTL
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	recent := opts.RecentUsers
	if recent <= 0 {
		recent = DefaultRecentUsers
	}
	c.recent = newRecentSet(recent)
	if client != nil {
		c.redisCount = newRedisCounter(cfg.Unsafe.MiscountHits)
		client.AddHook(c.redisCount)
	}
	c.pending.m = map[string]pendingEntry{}
	fences := opts.Fences
	if cfg.Unsafe.LocalPendingOnly || !c.enabled {
		fences = nil
	}
	c.peers = newPeers(fences, opts.Lease)
	if fences != nil {
		c.pending.trusted.Store(1) // nothing is trusted before the first read of the log
	}
	tripAfter := uint32(cfg.Breaker.Failures)
	var interval time.Duration // 0: counts are cleared only by a state change
	trip := func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= tripAfter }
	if cfg.Unsafe.ClientDefaults {
		// The weakened layer of a demonstration is one breaker for the whole cache that
		// counts every failed call, whichever node it went to, within a window of OpenFor.
		// (Counted consecutively, a healthy slot range's interleaved successes would keep
		// resetting it, and whether one dead master opens the cache for everyone would be
		// left to chance.)
		interval = cfg.Breaker.OpenFor
		trip = func(n gobreaker.Counts) bool { return n.TotalFailures >= tripAfter }
	}
	c.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         "redis",
		MaxRequests:  1, // one half-open probe
		Interval:     interval,
		Timeout:      cfg.Breaker.OpenFor,
		ReadyToTrip:  trip,
		IsSuccessful: func(err error) bool { return err == nil || errors.Is(err, redis.Nil) },
		IsExcluded:   excludedFromBreaker,
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// Runs under the breaker's lock: log and signal only.
			c.log.Warn("cache: redis circuit breaker", "from", from.String(), "to", to.String())
			if to == gobreaker.StateClosed {
				c.signalRecovered()
			}
		},
	})
	// On a cluster one breaker per node, so that one failing node bypasses only its own
	// slot range's users (the weakened go-redis-defaults layer keeps the single breaker).
	if cc, ok := client.(*redis.ClusterClient); ok && c.enabled && !cfg.Unsafe.ClientDefaults {
		c.nodes = newNodeBreakers(cc, cfg.Breaker, c.log, c.signalRecovered)
		c.waitReplicas = cfg.Redis.ReadFromReplicas && !cfg.Unsafe.SkipReplicaWait
	}
	return c
}

// signalRecovered says a breaker closed again: recovery warming is due. It never blocks.
func (c *Cache) signalRecovered() {
	select {
	case c.recovered <- struct{}{}:
	default:
	}
}

// Enabled reports whether the cache uses Redis at all (a client and an enabled config).
func (c *Cache) Enabled() bool { return c.enabled }

// Config returns the config the cache runs with (defaults filled in).
func (c *Cache) Config() Config { return c.cfg }

// TTLFor returns the base TTL (before jitter) used for class at tier; 0 when not cached.
func (c *Cache) TTLFor(tier string, class Class) time.Duration {
	if !c.enabled {
		return 0
	}
	return c.cfg.TTL(tier, class)
}

// Stats returns a snapshot of the counters of every class.
func (c *Cache) Stats() map[Class]atlas.ClassStats {
	out := make(map[Class]atlas.ClassStats, len(c.stats))
	for i, class := range Classes() {
		s := &c.stats[i]
		out[class] = atlas.ClassStats{
			Hits:     s.hits.Load(),
			Misses:   s.misses.Load(),
			Errors:   s.errors.Load(),
			Bypasses: s.bypasses.Load(),
		}
	}
	return out
}

// Health pings Redis (not through the breaker, within the per-call timeout) and
// reports the breaker state and the number of pending invalidations. On a cluster the
// breaker state is the worst of the nodes' (open, else half-open, else closed).
func (c *Cache) Health(ctx context.Context) atlas.RedisHealth {
	h := atlas.RedisHealth{Breaker: c.breaker.State().String(), Pending: c.pending.len()}
	if c.nodes != nil {
		h.Breaker = c.nodes.worst().String()
	}
	if !c.enabled {
		h.Breaker = "disabled"
	}
	if c.client == nil {
		return h
	}
	ctx, cancel := context.WithTimeout(ctx, max(c.opTimeout, 100*time.Millisecond))
	defer cancel()
	h.Up = c.client.Ping(ctx).Err() == nil
	return h
}

// NodesHealth reports every Redis Cluster node the client knows (address, role, a PING,
// its breaker); nil for a single Redis or a disabled cache.
func (c *Cache) NodesHealth(ctx context.Context) []atlas.RedisNodeHealth {
	if c.nodes == nil || !c.enabled {
		return nil
	}
	return c.nodes.health(ctx, max(c.opTimeout, 100*time.Millisecond))
}

// Close releases what the cache holds besides the client (the clients of the cluster
// nodes' health pings); the client itself stays open and belongs to the caller. After
// Close, NodesHealth reports every node down.
func (c *Cache) Close() {
	if c.nodes != nil {
		c.nodes.close()
	}
}

// errBreakerOpen is returned by call when the breaker refused the call.
var errBreakerOpen = errors.New("cache: redis circuit breaker open")

// callerGone marks a failure caused by the caller's own context ending, which
// says nothing about Redis: the breaker ignores it and no error is counted.
type callerGone struct{ err error }

func (e *callerGone) Error() string { return e.err.Error() }
func (e *callerGone) Unwrap() error { return e.err }

func excludedFromBreaker(err error) bool {
	var g *callerGone
	return errors.As(err, &g) || errors.Is(err, context.Canceled)
}

// call runs fn with its own deadline. On a single Redis it goes through the cache's
// breaker, which returns errBreakerOpen without calling fn when it is open (or its one
// half-open probe is taken). On a cluster fn always runs: each node's breaker sits in
// that node's client hook, and a refusal comes back from fn as errBreakerOpen wrapped
// with the node's address. redis.Nil comes back unchanged.
func (c *Cache) call(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	if warming(ctx) {
		return c.warmCall(ctx, timeout, fn)
	}
	if c.nodes != nil {
		return runWithin(ctx, timeout, fn)
	}
	ran := false
	_, err := c.breaker.Execute(func() (struct{}, error) {
		ran = true
		return struct{}{}, runWithin(ctx, timeout, fn)
	})
	if !ran && err != nil {
		return errBreakerOpen
	}
	return err
}

// warmingCtx marks a context as warming's (withWarming).
type warmingCtx struct{}

// withWarming marks ctx's Redis calls as warming's: they are refused while a breaker is
// not closed, but do not count for it (a bulk pipeline that times out on a busy Redis says
// nothing about the live requests' calls, and opening the breaker would bypass them all).
func withWarming(ctx context.Context) context.Context {
	return context.WithValue(ctx, warmingCtx{}, true)
}

func warming(ctx context.Context) bool { return ctx.Value(warmingCtx{}) != nil }

// warmTimeout is the least time one of warming's pipelines (up to 1,000 commands) gets.
const warmTimeout = time.Second

// warmCall is call for warming: outside the breaker's counts, refused while it is not closed.
func (c *Cache) warmCall(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	if c.nodes == nil && c.breaker.State() != gobreaker.StateClosed {
		return errBreakerOpen
	}
	return runWithin(ctx, max(timeout, warmTimeout), fn) // on a cluster the node hooks refuse
}

// runWithin runs fn under ctx with timeout; a failure while ctx itself has ended (the
// caller went away) comes back as callerGone. redis.Nil and a node breaker's refusal
// come back unchanged.
func runWithin(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := fn(cctx)
	if err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, errBreakerOpen) && ctx.Err() != nil {
		err = &callerGone{err}
	}
	return err
}

// redisFault reports whether err is a failure of Redis itself, to be counted
// as an error (not a refusal by the breaker, not the caller going away).
func redisFault(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, errBreakerOpen) {
		return false
	}
	var g *callerGone
	return !errors.As(err, &g)
}

// jittered spreads base uniformly over base×(1±jitter), in whole milliseconds.
func (c *Cache) jittered(base time.Duration) time.Duration {
	if c.cfg.Jitter > 0 {
		base = time.Duration(float64(base) * (1 + c.cfg.Jitter*(2*c.rand()-1)))
	}
	return max(base.Round(time.Millisecond), time.Millisecond)
}
