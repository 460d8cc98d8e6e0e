package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/refserver"
	"github.com/atlasbench/atlasbench/refserver/store"
	"github.com/atlasbench/atlasbench/scenarios"
	"github.com/redis/go-redis/v9"
)

// defaultJWTSecret is used when ATLAS_JWT_SECRET is unset: fine on loopback, never in production.
const defaultJWTSecret = "atlasbench-dev-secret"

// jwtSecret reads ATLAS_JWT_SECRET, falling back to the development secret.
func jwtSecret(getenv func(string) string) (secret []byte, isDefault bool) {
	if s := getenv("ATLAS_JWT_SECRET"); s != "" {
		return []byte(s), false
	}
	return []byte(defaultJWTSecret), true
}

const serveUsage = `serve [flags]

Runs the reference Atlas chat API: JWT auth, users with tiers free/core/studio, conversations
and messages in a real database, and the tier-isolated Redis cache layer (or none, -mode nocache).
It seeds users u1…uN on start; mint a token with "bench token u1".

Examples:
  bench serve                                  # SQLite in a temp dir, child redis-server, :8000
  bench serve -scenario core                   # seeded as the core scenario wants (then: bench run -target … -scenario core)
  bench serve -mode nocache -db-latency 5ms    # the same API from the DB alone, with a remote-DB round trip
  bench serve -db postgres://postgres@127.0.0.1:5432/atlas -redis redis://127.0.0.1:6380

Environment: ATLAS_LISTEN, REDIS_URL, ATLAS_DB, ATLAS_CACHE_MODE, ATLAS_JWT_SECRET.`

// serveOptions are the parsed flags of bench serve.
type serveOptions struct {
	listen, redis, db, mode, config, seedTiers, logLevel, scenario string
	seedUsers, seedConversations, seedMessages                     int
	seed                                                           int64
	dbLatency, dbJitter                                            time.Duration
	shutdownDelay, drainTimeout                                    time.Duration
	floor                                                          bool
	seedUserPrefix                                                 string
	seedIDOffset                                                   int64
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveUsage, stdout)
	var o serveOptions
	serveFlags(fs, &o, getenv)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	if _, err := refserver.BuildSlowdown(); err != nil {
		return envError{err} // a test-only build knob set wrong: this binary is unusable
	}
	if o.scenario != "" {
		if err := o.fromScenario(fs); err != nil {
			return err
		}
	}
	return serve(ctx, o, getenv, stdout, stderr)
}

// serveFlags defines bench serve's flags on fs, into o.
func serveFlags(fs *flag.FlagSet, o *serveOptions, getenv func(string) string) {
	fs.StringVar(&o.listen, "listen", envOr(getenv, "ATLAS_LISTEN", "127.0.0.1:8000"), "address to listen on (`host:port`; port 0 picks a free one) [ATLAS_LISTEN]")
	fs.StringVar(&o.redis, "redis", envOr(getenv, "REDIS_URL", "auto"), "Redis: auto (child redis-server, else Docker, else embedded), process, docker, embedded, cluster (3 masters x 1 replica of child redis-servers), or a redis://, rediss://, redis+cluster:// URL; several comma-separated host:port mean a Cluster [REDIS_URL]")
	fs.StringVar(&o.db, "db", envOr(getenv, "ATLAS_DB", "sqlite"), "database: sqlite (temp dir), sqlite:/path/file.db, or postgres://… [ATLAS_DB]")
	fs.StringVar(&o.mode, "mode", envOr(getenv, "ATLAS_CACHE_MODE", "cache"), "cache or nocache [ATLAS_CACHE_MODE]")
	fs.StringVar(&o.config, "config", "default", "cache config: a built-in ("+strings.Join(cache.BuiltinConfigs(), ", ")+") or a YAML file")
	fs.IntVar(&o.seedUsers, "seed-users", 1000, "users u1…uN to seed (0: seed nothing)")
	fs.IntVar(&o.seedConversations, "seed-conversations", 5, "conversations per user")
	fs.IntVar(&o.seedMessages, "seed-messages", 40, "messages per conversation")
	fs.Int64Var(&o.seed, "seed", 1, "seed for tiers, names and contents")
	fs.StringVar(&o.seedTiers, "seed-tiers", atlas.DefaultTierMix().String(), "share of seeded users per tier")
	fs.StringVar(&o.seedUserPrefix, "seed-user-prefix", "u", "prefix of the seeded user IDs (acct- seeds acct-1…acct-N): a population a seeded run does not know")
	fs.Int64Var(&o.seedIDOffset, "seed-id-offset", 0, "added to every seeded conversation and message ID (>= 0)")
	fs.DurationVar(&o.dbLatency, "db-latency", 0, "simulated network round trip added to every DB query (e.g. 10ms)")
	fs.DurationVar(&o.dbJitter, "db-jitter", 0, "uniform ± spread of that round trip")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.scenario, "scenario", "", "seed the population and DB round trip a scenario (built-in name or YAML file) expects, so bench run -target URL -scenario NAME finds its users; -seed* and -db-* flags given too override it")
	fs.DurationVar(&o.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, how long to keep serving after /readyz turned 503, so load balancers stop sending before the listener closes (e.g. 5s behind a balancer polling every second)")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", refserver.DefaultDrainTimeout, "on SIGTERM, how long requests in flight may take to complete once the listener closed; those still running then are cut off")
	fs.BoolVar(&o.floor, "floor", false, "serve the floor instead of the Atlas API: every request is one go-redis GET of a 512-byte value (what bench floor measures the cached GET against)")
}

// fromScenario takes the seed, population and DB round trip of o.scenario, except what a
// flag set explicitly.
func (o *serveOptions) fromScenario(fs *flag.FlagSet) error {
	sc, err := scenarios.Load(o.scenario)
	if err != nil {
		return usagef("serve: -scenario: %v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	take := func(name string, apply func()) {
		if !set[name] {
			apply()
		}
	}
	take("seed", func() { o.seed = sc.Seed })
	take("seed-users", func() { o.seedUsers = sc.Population.Users })
	take("seed-conversations", func() { o.seedConversations = sc.Population.Conversations })
	take("seed-messages", func() { o.seedMessages = sc.Population.Messages })
	take("seed-tiers", func() { o.seedTiers = sc.Population.Tiers.String() })
	take("db-latency", func() { o.dbLatency = sc.DB.Latency })
	take("db-jitter", func() { o.dbJitter = sc.DB.Jitter })
	return nil
}

func serve(ctx context.Context, o serveOptions, getenv func(string) string, stdout, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usagef("serve: -log-level %q: want debug, info, warn or error", o.logLevel)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if o.floor {
		return serveFloor(ctx, o, log, stdout)
	}
	if o.mode != "cache" && o.mode != "nocache" {
		return usagef("serve: -mode %q: want cache or nocache", o.mode)
	}
	if o.shutdownDelay < 0 || o.drainTimeout <= 0 {
		return usagef("serve: -shutdown-delay must be >= 0 and -drain-timeout > 0")
	}
	if o.seedUsers < 0 || o.seedConversations < 0 || o.seedMessages < 0 || o.seedIDOffset < 0 {
		return usagef("serve: -seed-users, -seed-conversations, -seed-messages and -seed-id-offset must be >= 0")
	}
	mix, err := atlas.ParseTierMix(o.seedTiers)
	if err != nil {
		return usagef("serve: -seed-tiers: %v", err)
	}
	cfg, err := cache.LoadConfig(o.config)
	if err != nil {
		return usageError{err}
	}
	secret, isDefault := jwtSecret(getenv)
	if isDefault {
		log.Warn("ATLAS_JWT_SECRET is not set: using the development secret (loopback use only)")
	}
	// Bind first: a busy address fails at once, not after seeding.
	ln, err := listen(ctx, o.listen)
	if err != nil {
		return err
	}
	defer ln.Close()

	st, err := store.Open(ctx, o.db, store.Options{Latency: o.dbLatency, Jitter: o.dbJitter, Log: log})
	if err != nil {
		return envError{fmt.Errorf("serve: database: %w", err)}
	}
	defer st.Close()
	if o.seedUsers > 0 {
		start := time.Now()
		err := st.Seed(ctx, store.SeedConfig{Seed: o.seed, Users: o.seedUsers, Conversations: o.seedConversations, Messages: o.seedMessages, Tiers: mix,
			UserPrefix: o.seedUserPrefix, IDOffset: o.seedIDOffset, Progress: seedProgress(stdout, start, time.Now)})
		switch {
		case errors.Is(err, store.ErrNotEmpty):
			log.Info("database already seeded; keeping its data")
		case err != nil:
			return envError{fmt.Errorf("serve: seed: %w", err)}
		default:
			took := time.Since(start).Round(time.Millisecond)
			log.Info("seeded", "users", o.seedUsers, "conversations_per_user", o.seedConversations, "messages_per_conversation", o.seedMessages, "took", took)
			// The harness reads this line for the summary's seeding time.
			fmt.Fprintf(stdout, "atlas: seeded %d users in %s\n", o.seedUsers, took)
		}
	}

	var client redis.UniversalClient
	if o.mode == "cache" && cfg.Enabled() {
		rds, err := stack.StartRedis(ctx, stack.RedisOptions{Spec: o.redis, Memory: stack.DefaultMemory, Log: log})
		if err != nil {
			return envError{fmt.Errorf("serve: redis: %w", err)}
		}
		defer rds.Close()
		if rds.Note != "" {
			log.Warn(rds.Note)
		}
		if client, err = cache.NewClient(rds.URL, cfg); err != nil {
			return usageError{fmt.Errorf("serve: -redis: %w", err)}
		}
		defer client.Close()
		log.Info("redis", "backend", rds.Backend, "url", rds.URL)
	}
	fences, _ := st.(atlas.FenceLog) // nil when the store keeps none
	// stdout is written by warming's goroutine too.
	stdout = stack.SerialWriter(stdout)
	// The active population warming asks for: at most one user per key of its budget.
	warmAsk := cfg.Warming.MaxKeys
	if m := cfg.Warming.MaxUsers; m > 0 {
		warmAsk = min(m, warmAsk)
	}
	c := cache.New(client, cache.Options{Config: cfg, Log: log, Warmer: refserver.Warmer(st, warmAsk), Fences: fences,
		WarmProgress: warmProgress(log, stdout, time.Now)})
	defer c.Close()
	// Start first: it reads the fence log (other instances' failed invalidations), which
	// warming must know to skip those users.
	bg, stopBG := context.WithCancel(ctx)
	defer func() { stopBG(); c.Wait() }() // before the client and the database close
	c.Start(bg)
	if c.Enabled() && cfg.Warm {
		// Warming runs while the server serves, at its bounded pace.
		c.WarmInBackground(bg, func(r cache.WarmReport, err error) {
			if err != nil {
				log.Warn("warming at start failed; serving what it warmed", "err", err)
			}
			// The harness reads this line (stack.ParseWarmed) for the summary's warming figures.
			fmt.Fprintln(stdout, stack.WarmedLine(r))
		})
	}

	srv := refserver.New(refserver.Config{JWTSecret: secret, Log: log}, st, c)
	banner := fmt.Sprintf("(mode %s, config %s, db %s)", srv.Mode(), cfg.Name, st.Driver())
	so := refserver.ShutdownOptions{Delay: o.shutdownDelay, DrainTimeout: o.drainTimeout, Abrupt: cfg.Unsafe.AbruptShutdown}
	// The deferred closes above then run in reverse: the cache's background loops stop
	// (the lease is dropped), then the Redis client, Redis and the database close.
	return serveOn(ctx, ln, srv, banner, log, stdout, func(ctx context.Context, hs *http.Server) error {
		rep, err := srv.Shutdown(ctx, hs, so)
		logShutdown(log, stdout, rep, so)
		return err
	})
}

// seedProgress prints how far seeding is at most every progressEvery, as the line the
// harness shows ("atlas: seeding N of M users (rows, rate, ETA)").
func seedProgress(stdout io.Writer, start time.Time, now func() time.Time) func(store.SeedProgress) {
	var last time.Time
	return func(p store.SeedProgress) {
		t := now()
		if p.Rows == p.TotalRows || (!last.IsZero() && t.Sub(last) < progressEvery) || t.Sub(start) < progressEvery {
			return
		}
		last = t
		took := t.Sub(start)
		rate := float64(p.Rows) / max(took.Seconds(), 1e-3)
		eta := time.Duration(float64(p.TotalRows-p.Rows) / max(rate, 1) * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(stdout, "atlas: seeding %d of %d users (%d of %d rows, %.0f rows/s, ETA %s)\n", p.Users, p.Of, p.Rows, p.TotalRows, rate, eta)
	}
}

// warmProgress hears a warming run after every batch: it prints the running totals on
// stdout (the harness reads them, stack.ParseWarming: the ideal cache preloads what
// warming loaded) and logs the run's progress at most every progressEvery: users of the
// active population warmed, entries, estimated MiB, pace and ETA.
func warmProgress(log *slog.Logger, stdout io.Writer, now func() time.Time) func(cache.WarmReport) {
	var mu sync.Mutex
	var last time.Time
	return func(r cache.WarmReport) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(stdout, stack.WarmingLine(r))
		t := now()
		if !last.IsZero() && t.Sub(last) < progressEvery {
			return
		}
		last = t
		eta := "-"
		if r.Users > 0 && r.Active > r.Users {
			eta = (time.Duration(float64(r.Took) / float64(r.Users) * float64(r.Active-r.Users))).Round(time.Second).String()
		}
		log.Info("cache: warming", "users", r.Users, "of", r.Active, "entries", r.Keys,
			"mib", fmt.Sprintf("%.1f", float64(r.Bytes)/(1<<20)), "ops_per_s", fmt.Sprintf("%.0f", float64(r.Ops)/max(r.Took.Seconds(), 1e-3)), "eta", eta)
	}
}

// progressEvery is the period of seeding's and warming's progress lines.
const progressEvery = 2 * time.Second

// logShutdown says what a shutdown drained and how long it took: in the log, and on stdout
// as the line the harness reads ("atlas: drained …").
func logShutdown(log *slog.Logger, stdout io.Writer, rep refserver.ShutdownReport, so refserver.ShutdownOptions) {
	if so.Abrupt {
		log.Warn("shut down abruptly (unsafe.abruptShutdown): nothing drained", "in_flight_cut_off", rep.CutOff)
	} else {
		log.Info("drained", "in_flight_at_sigterm", rep.InFlight, "in_flight_at_close", rep.AtClose, "cut_off", rep.CutOff,
			"delay", rep.Delay.Round(time.Millisecond), "drain", rep.Drain.Round(time.Millisecond),
			"pending_invalidations", rep.Cache.Pending, "applied", rep.Cache.Applied,
			"handed_over", rep.Cache.HandedOver, "lost", rep.Cache.Lost)
	}
	// The harness reads this line (stack.Drain); its fields are key=value.
	fmt.Fprintf(stdout, "atlas: drained in_flight=%d at_close=%d cut_off=%d delay=%s drain=%s pending=%d applied=%d handed_over=%d lost=%d\n",
		rep.InFlight, rep.AtClose, rep.CutOff, rep.Delay.Round(time.Microsecond), rep.Drain.Round(time.Microsecond),
		rep.Cache.Pending, rep.Cache.Applied, rep.Cache.HandedOver, rep.Cache.Lost)
}

// listen binds addr for serveOn.
func listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, envError{fmt.Errorf("serve: listen: %w", err)}
	}
	return ln, nil
}

// serveOn serves h on ln until ctx ends, after printing the "listening on" line the
// harness waits for; then shutdown ends the server (with a context of its own).
func serveOn(ctx context.Context, ln net.Listener, h http.Handler, banner string, log *slog.Logger, stdout io.Writer, shutdown func(context.Context, *http.Server) error) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "atlas: listening on http://%s %s\n", ln.Addr(), banner)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return envError{fmt.Errorf("serve: %w", err)}
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if err := shutdown(context.WithoutCancel(ctx), hs); err != nil {
		return envError{fmt.Errorf("serve: shutdown: %w", err)}
	}
	return nil
}

// serveFloor runs the floor server (stack.FloorHandler) on a Redis of -redis, after storing
// its value there.
func serveFloor(ctx context.Context, o serveOptions, log *slog.Logger, stdout io.Writer) error {
	ln, err := listen(ctx, o.listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	rds, err := stack.StartRedis(ctx, stack.RedisOptions{Spec: o.redis, Memory: stack.DefaultMemory, Log: log})
	if err != nil {
		return envError{fmt.Errorf("serve: redis: %w", err)}
	}
	defer rds.Close()
	opt, err := redis.ParseURL(rds.URL)
	if err != nil {
		return usageError{fmt.Errorf("serve -floor: -redis: %w (the floor talks to one Redis, not a cluster)", err)}
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := stack.SeedFloor(ctx, rdb); err != nil {
		return envError{fmt.Errorf("serve -floor: %w", err)}
	}
	return serveOn(ctx, ln, stack.FloorHandler(rdb), "(floor: one GET of "+stack.FloorKey+")", log, stdout,
		func(ctx context.Context, hs *http.Server) error {
			ctx, cancel := context.WithTimeout(ctx, o.drainTimeout)
			defer cancel()
			return hs.Shutdown(ctx)
		})
}
