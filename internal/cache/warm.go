package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

// WarmReport is what one warming run did. Keys and Bytes count the entries written
// (SET NX that took); Bytes is the estimate the budget uses (key + value +
// WarmEntryOverhead per entry, and the same for the user's generation counter).
type WarmReport struct {
	// Active is how many users the active population held (after MaxUsers / WarmLimit).
	Active int `json:"active"`
	// Users is how many of them had their entries sent (the rest: budget or deadline).
	Users int   `json:"users"`
	Keys  int   `json:"keys"`
	Bytes int64 `json:"bytes"`
	// Ops is the Redis commands warming sent (generation reads, SET NX and MGET of a
	// missing generation, SET NX of the entries).
	Ops int `json:"ops"`
	// OpsPerSec is the pace warming was held to (the config's warming.opsPerSec).
	OpsPerSec int           `json:"ops_per_sec"`
	Took      time.Duration `json:"took"`
	// Stopped says why warming ended: WarmDone, WarmBudget or WarmDeadline.
	Stopped string `json:"stopped"`
}

// Why a warming run ended (WarmReport.Stopped).
const (
	WarmDone     = "done"     // every active user was warmed
	WarmBudget   = "budget"   // maxKeys or maxMiB was reached
	WarmDeadline = "deadline" // the deadline passed first
)

// WarmStart preloads tier and profile of the active population: the users the Warmer
// returns for nil (most recently active first), at most WarmLimit of them, until the
// config's warming budget (maxKeys, maxMiB) is spent or its deadline passes, at most
// warming.opsPerSec Redis commands per second. It does nothing (a zero report) when the
// cache or warming is off or there is no Warmer. Options.WarmProgress hears every batch.
//
// Entries are written with SET NX at the generation read before the data, so
// warming never overwrites a fresher entry and a write that lands meanwhile
// leaves the warmed entry unreachable. Users with a pending invalidation are
// skipped. To read the generations first, the Warmer is asked twice: once (nil)
// for the user IDs, once for their current data.
func (c *Cache) WarmStart(ctx context.Context) (WarmReport, error) {
	if !c.enabled || !c.cfg.Warm || c.warmer == nil {
		return WarmReport{}, nil
	}
	b := c.newWarmBudget(time.Now())
	b.progress = c.warmProgress // recovery warming's budgets report none
	dctx, cancel := context.WithTimeout(withWarming(ctx), c.cfg.Warming.Deadline)
	defer cancel()
	active, err := c.warmer(dctx, nil)
	if err != nil {
		return b.report(), fmt.Errorf("cache: warm: active users: %w", err)
	}
	limit := c.warmLimit
	if limit <= 0 {
		limit = c.cfg.Warming.MaxUsers
	}
	seen := make(map[string]bool, len(active))
	var users []string
	for _, e := range active {
		if limit > 0 && len(users) == limit {
			break
		}
		if !seen[e.UserID] {
			seen[e.UserID] = true
			users = append(users, e.UserID)
		}
	}
	b.active = len(users)
	err = c.warm(dctx, users, b)
	if errors.Is(dctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		b.mu.Lock()
		b.deadline = true
		b.mu.Unlock()
	}
	r := b.report()
	if err != nil && r.Stopped != WarmDeadline {
		return r, fmt.Errorf("cache: warm: %d of %d users warmed: %w", r.Users, len(users), err)
	}
	c.log.Info("cache: warmed", "active", r.Active, "users", r.Users, "entries", r.Keys, "bytes", r.Bytes,
		"ops", r.Ops, "stopped", r.Stopped, "took", r.Took.Round(time.Millisecond))
	return r, nil
}

// warmBudget is one warming run's budget, pace and tally; safe for concurrent batches.
type warmBudget struct {
	limiter *rate.Limiter
	start   time.Time
	opsRate int
	// progress hears the running totals after every batch (WarmStart's: Options.WarmProgress),
	// one call at a time (progressMu) although batches run concurrently.
	progress   func(WarmReport)
	progressMu sync.Mutex

	mu                    sync.Mutex
	keysLeft              int
	bytesLeft             int64
	active, users, keys   int
	ops                   int
	bytes                 int64
	full, deadline, ended bool
	took                  time.Duration
}

// newWarmBudget is a fresh budget of the config's warming section. The limiter's burst
// is one batch's largest pipeline, so a batch waits for its own commands only.
func (c *Cache) newWarmBudget(start time.Time) *warmBudget {
	w := c.cfg.Warming
	return &warmBudget{
		limiter:   rate.NewLimiter(rate.Limit(w.OpsPerSec), 2*warmBatch),
		start:     start,
		opsRate:   w.OpsPerSec,
		keysLeft:  w.MaxKeys,
		bytesLeft: int64(w.MaxMiB) << 20,
	}
}

// errWarmDeadline: the deadline would pass before the limiter lets the next commands go.
var errWarmDeadline = errors.New("cache: warm: deadline")

// pace waits until n more commands may go, and counts them.
func (b *warmBudget) pace(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	if err := b.limiter.WaitN(ctx, n); err != nil {
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			b.mu.Lock()
			b.deadline = true
			b.mu.Unlock()
			return errWarmDeadline
		}
		return err
	}
	b.mu.Lock()
	b.ops += n
	b.mu.Unlock()
	return nil
}

// take reserves keys entries of bytes for one user; false (and the budget full) when
// they do not fit.
func (b *warmBudget) take(keys int, bytes int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.full || keys > b.keysLeft || bytes > b.bytesLeft {
		b.full = true
		return false
	}
	b.keysLeft -= keys
	b.bytesLeft -= bytes
	return true
}

// isFull reports whether the budget refused a user.
func (b *warmBudget) isFull() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.full
}

// written counts what a batch wrote.
func (b *warmBudget) written(users, keys int, bytes int64) {
	b.mu.Lock()
	b.users += users
	b.keys += keys
	b.bytes += bytes
	b.mu.Unlock()
}

func (b *warmBudget) report() WarmReport {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := WarmReport{Active: b.active, Users: b.users, Keys: b.keys, Bytes: b.bytes, Ops: b.ops, OpsPerSec: b.opsRate,
		Took: time.Since(b.start), Stopped: WarmDone}
	switch {
	case b.full:
		r.Stopped = WarmBudget
	case b.deadline:
		r.Stopped = WarmDeadline
	}
	return r
}

// warm writes tier and profile entries of users with SET NX, in batches of
// warmBatch users (one Warmer call and two or three pipelines each), warmConcurrency
// batches at a time, within budget b. On a Redis Cluster a batch holds the users of one
// master only (so each pipeline goes to one node), and the users of a master whose
// breaker is not closed (it failed and has not answered since) are skipped: warming
// never dials a node known to be down, and a node that fails during warming costs only
// its own users' entries. err is the first batch's failure.
func (c *Cache) warm(ctx context.Context, users []string, b *warmBudget) error {
	ctx = withWarming(ctx)
	groups, skipped := c.warmGroups(ctx, users)
	if skipped > 0 {
		c.log.Info("cache: warming skips the users of unreachable nodes", "users", skipped)
	}
	var g errgroup.Group // a failed batch does not cancel the others
	g.SetLimit(warmConcurrency)
	// Batches take from the budget in order (each after the one before it took), so a
	// budget that runs out keeps the most active users, whichever batch loads first.
	prev := make(chan struct{})
	close(prev)
	for _, batch := range warmBatches(groups) {
		if b.isFull() || ctx.Err() != nil {
			break
		}
		turn, mine := prev, make(chan struct{})
		prev = mine
		g.Go(func() error {
			var once sync.Once
			taken := func() { once.Do(func() { close(mine) }) }
			defer func() { <-turn; taken() }() // a batch that took nothing still keeps its turn
			err := c.warmBatch(ctx, batch, b, func() { <-turn }, taken)
			if b.progress != nil {
				b.progressMu.Lock()
				b.progress(b.report())
				b.progressMu.Unlock()
			}
			return err
		})
	}
	return g.Wait()
}

// warmBatches cuts every group into batches of at most warmBatch users, round-robin over
// the groups (on a cluster: one batch per master in turn, so the masters share the load).
func warmBatches(groups [][]string) [][]string {
	var out [][]string
	for start := 0; ; start += warmBatch {
		added := false
		for _, group := range groups {
			if start < len(group) {
				out = append(out, group[start:min(start+warmBatch, len(group))])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// warmGroups splits users by the Redis Cluster master that serves their keys (its
// address from the client's slot map), leaving out the users of masters whose breaker
// is open or half-open; skipped counts them. A single Redis is one group.
func (c *Cache) warmGroups(ctx context.Context, users []string) (groups [][]string, skipped int) {
	if c.nodes == nil || len(users) == 0 {
		return [][]string{users}, 0
	}
	byAddr := map[string][]string{}
	var order []string
	for _, u := range users {
		node, err := c.nodes.cluster.MasterForKey(ctx, IDGenKey(u))
		if err != nil {
			skipped++ // no slot map: nothing to warm through
			continue
		}
		addr := node.Options().Addr
		if c.nodes.breaker(addr).State() != gobreaker.StateClosed {
			skipped++
			continue
		}
		if _, ok := byAddr[addr]; !ok {
			order = append(order, addr)
		}
		byAddr[addr] = append(byAddr[addr], u)
	}
	for _, addr := range order {
		groups = append(groups, byAddr[addr])
	}
	return groups, skipped
}

// warmSet is one SET NX warming sends.
type warmSet struct {
	user, key string
	val       []byte
	ttl       time.Duration
}

// warmCost is the estimated Redis memory of one entry.
func warmCost(key string, val int) int64 { return int64(len(key) + val + WarmEntryOverhead) }

// warmBatch warms one batch; it takes from the budget between waitTurn and taken.
func (c *Cache) warmBatch(ctx context.Context, users []string, b *warmBudget, waitTurn, taken func()) error {
	users = c.notPending(users)
	if len(users) == 0 || b.isFull() {
		return nil
	}
	if err := b.pace(ctx, len(users)); err != nil {
		return err
	}
	gs, err := c.idGens(ctx, users, b)
	if err != nil {
		return err
	}
	genOf := make(map[string]tag, len(users))
	for i, u := range users {
		genOf[u] = gs[i]
	}
	entries, err := c.warmer(ctx, users)
	if err != nil {
		return fmt.Errorf("warmer: %w", err)
	}
	waitTurn()
	var sets []warmSet
	var owner []int // sets[i] belongs to the owner[i]-th user taken
	nUsers := 0
	for _, e := range entries {
		g, asked := genOf[e.UserID]
		if !asked || !validTier(e.Tier) || c.pending.has(e.UserID) {
			continue
		}
		var mine []warmSet
		if base := c.cfg.TTL(e.Tier, ClassTier); base > 0 {
			mine = append(mine, warmSet{e.UserID, Key{User: e.UserID, Class: ClassTier}.String(), encode(g, []byte(e.Tier), false), c.jittered(base)})
		}
		if base := c.cfg.TTL(e.Tier, ClassUserProfile); base > 0 && e.Profile != nil {
			mine = append(mine, warmSet{e.UserID, Key{User: e.UserID, Tier: e.Tier, Class: ClassUserProfile}.String(), encode(g, e.Profile, false), c.jittered(base)})
		}
		if len(mine) == 0 {
			continue
		}
		cost := warmCost(IDGenKey(e.UserID), warmGenBytes)
		for _, s := range mine {
			cost += warmCost(s.key, len(s.val))
		}
		if !b.take(len(mine), cost) {
			break
		}
		for range mine {
			owner = append(owner, nUsers)
		}
		sets = append(sets, mine...)
		nUsers++
	}
	taken()
	if len(sets) == 0 {
		return nil
	}
	if err := b.pace(ctx, len(sets)); err != nil {
		return err
	}
	cmds := make([]*redis.BoolCmd, 0, len(sets))
	err = c.call(ctx, c.invTimeout, func(ctx context.Context) error {
		_, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, s := range sets {
				cmds = append(cmds, p.SetNX(ctx, s.key, s.val, s.ttl))
			}
			return nil
		})
		return err
	})
	// Keys and bytes count what was written: SET NX that took (and a user's counter once).
	n, bytes, lastOwner := 0, int64(0), -1
	for i, cmd := range cmds {
		if !cmd.Val() {
			continue
		}
		n++
		bytes += warmCost(sets[i].key, len(sets[i].val))
		if owner[i] != lastOwner {
			lastOwner = owner[i]
			bytes += warmCost(IDGenKey(sets[i].user), warmGenBytes)
		}
	}
	b.written(nUsers, n, bytes)
	return err
}

// warmGenBytes is the value size a generation counter is estimated at.
const warmGenBytes = 20

// idGens reads the identity counters of many users in one pipeline, creating
// the missing ones in a second (paced by b when it is not nil).
func (c *Cache) idGens(ctx context.Context, users []string, b *warmBudget) ([]tag, error) {
	cmds := make([]*redis.SliceCmd, len(users))
	err := c.call(ctx, c.invTimeout, func(ctx context.Context) error {
		_, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, u := range users {
				cmds[i] = p.MGet(ctx, IDGenKey(u))
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]tag, len(users))
	var missing [][]string
	var at []int
	for i, cmd := range cmds {
		t, ok := parseTag(cmd.Val())
		if !ok {
			missing = append(missing, []string{IDGenKey(users[i])})
			at = append(at, i)
			continue
		}
		out[i] = t
	}
	if len(missing) > 0 {
		if b != nil { // SET NX and MGET per counter
			if err := b.pace(ctx, 2*len(missing)); err != nil {
				return nil, err
			}
		}
		created, err := c.initGens(ctx, missing, c.invTimeout)
		if err != nil {
			return nil, err
		}
		for j, i := range at {
			out[i] = created[j]
		}
	}
	return out, nil
}

func (c *Cache) notPending(users []string) []string {
	if c.pending.len() == 0 {
		return users
	}
	out := make([]string, 0, len(users))
	for _, u := range users {
		if !c.pending.has(u) {
			out = append(out, u)
		}
	}
	return out
}

// WarmInBackground runs WarmStart on its own goroutine, counted for Wait, and hands
// its outcome to done (nil: nothing). Requests are served meanwhile: warming's pace
// (warming.opsPerSec) is what keeps their latency from suffering.
func (c *Cache) WarmInBackground(ctx context.Context, done func(WarmReport, error)) {
	c.loop(func() {
		r, err := c.WarmStart(ctx)
		if done != nil {
			done(r, err)
		}
	})
}
