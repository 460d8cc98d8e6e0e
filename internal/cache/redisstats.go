package cache

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// RedisStats are the Redis commands the cache sent since it was created, counted by a
// go-redis hook from the replies it got: the server's own word on what Redis should have
// seen, for the harness to compare with Redis's INFO commandstats and keyspace counters.
type RedisStats struct {
	// Commands counts, by lower-case command name as INFO commandstats names them
	// (pipelines count each command, transactions count multi and exec too), the
	// commands Redis answered (a reply or a Redis error).
	Commands map[string]uint64 `json:"commands"`
	// Unconfirmed counts commands that failed without a reply (timeout, refused
	// connection, breaker): Redis may or may not have run them.
	Unconfirmed uint64 `json:"unconfirmed"`
	// KeysRead and KeysFound count the keys GET and MGET read and how many of them held
	// a value, from the replies: what Redis's keyspace_hits and keyspace_misses should show.
	// Commands that read keys without saying which were found (scripts) are not in them.
	KeysRead  uint64 `json:"keysRead"`
	KeysFound uint64 `json:"keysFound"`
}

// redisCounter is the go-redis hook behind RedisStats.
type redisCounter struct {
	mu          sync.Mutex
	commands    map[string]*atomic.Uint64
	unconfirmed atomic.Uint64
	keysRead    atomic.Uint64
	keysFound   atomic.Uint64
	// claimFound is UnsafeConfig.MiscountHits: every key read is counted as found.
	claimFound bool
}

func newRedisCounter(claimFound bool) *redisCounter {
	return &redisCounter{commands: map[string]*atomic.Uint64{}, claimFound: claimFound}
}

// RedisStats returns what the cache's Redis client sent and read so far; zero when the
// cache has no client.
func (c *Cache) RedisStats() RedisStats {
	if c.redisCount == nil {
		return RedisStats{Commands: map[string]uint64{}}
	}
	return c.redisCount.snapshot()
}

func (r *redisCounter) snapshot() RedisStats {
	r.mu.Lock()
	out := RedisStats{Commands: make(map[string]uint64, len(r.commands))}
	for name, n := range r.commands {
		out.Commands[name] = n.Load()
	}
	r.mu.Unlock()
	out.Unconfirmed = r.unconfirmed.Load()
	out.KeysRead = r.keysRead.Load()
	out.KeysFound = r.keysFound.Load()
	return out
}

// count records one finished command; err is its result (a plain command's error as
// next returned it: go-redis sets redis.Nil on the command only after the hooks ran).
func (r *redisCounter) count(cmd redis.Cmder, err error) {
	if !answered(err) {
		r.unconfirmed.Add(1)
		return
	}
	name := cmd.Name()
	r.mu.Lock()
	n := r.commands[name]
	if n == nil {
		n = new(atomic.Uint64)
		r.commands[name] = n
	}
	r.mu.Unlock()
	n.Add(1)
	switch c := cmd.(type) {
	case *redis.StringCmd:
		if name == "get" {
			r.keyRead(err == nil)
		}
	case *redis.SliceCmd:
		if name == "mget" && err == nil {
			for _, v := range c.Val() {
				r.keyRead(v != nil)
			}
		}
	}
}

func (r *redisCounter) keyRead(found bool) {
	r.keysRead.Add(1)
	if found || r.claimFound {
		r.keysFound.Add(1)
	}
}

// answered reports whether err (a command's result) means Redis replied: no error,
// redis.Nil, or an error reply. Timeouts, refused or dropped connections and a closed
// client are not replies.
func answered(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return true
	}
	var nerr net.Error
	if errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, redis.ErrClosed) {
		return false
	}
	var rerr redis.Error
	return errors.As(err, &rerr)
}

// DialHook implements redis.Hook.
func (r *redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook: counts one command.
func (r *redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		r.count(cmd, err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook: counts every command of a pipeline or
// transaction (multi and exec included, as Redis counts them).
func (r *redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			r.count(cmd, cmd.Err())
		}
		return err
	}
}

// SortedCommands returns the command names of s in a fixed order.
func (s RedisStats) SortedCommands() []string {
	names := make([]string, 0, len(s.Commands))
	for n := range s.Commands {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
