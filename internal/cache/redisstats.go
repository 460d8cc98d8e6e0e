package cache

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/redis/go-redis/v9"
)

// redisCounter is the go-redis hook behind Cache.RedisStats (atlas.RedisStats).
type redisCounter struct {
	mu          sync.Mutex
	commands    map[string]*atomic.Uint64
	unconfirmed atomic.Uint64
	unconfKeys  atomic.Uint64
	keysRead    atomic.Uint64
	keysFound   atomic.Uint64
	// claimFound is UnsafeConfig.MiscountHits: every key read is counted as found.
	claimFound bool
}

func newRedisCounter(claimFound bool) *redisCounter {
	return &redisCounter{commands: map[string]*atomic.Uint64{}, claimFound: claimFound}
}

// PoolStats returns the Redis client's connection-pool counters (waits for a free
// connection and their total time, timeouts); nil when the cache has no client.
func (c *Cache) PoolStats() *redis.PoolStats {
	if c == nil || c.client == nil {
		return nil
	}
	return c.client.PoolStats()
}

// RedisStats returns what the cache's Redis client sent and read so far; zero when the
// cache has no client.
func (c *Cache) RedisStats() atlas.RedisStats {
	if c.redisCount == nil {
		return atlas.RedisStats{Commands: map[string]uint64{}}
	}
	return c.redisCount.snapshot()
}

func (r *redisCounter) snapshot() atlas.RedisStats {
	r.mu.Lock()
	out := atlas.RedisStats{Commands: make(map[string]uint64, len(r.commands))}
	for name, n := range r.commands {
		out.Commands[name] = n.Load()
	}
	r.mu.Unlock()
	out.Unconfirmed = r.unconfirmed.Load()
	out.UnconfirmedKeys = r.unconfKeys.Load()
	out.KeysRead = r.keysRead.Load()
	out.KeysFound = r.keysFound.Load()
	return out
}

// count records one finished command; err is its result (a plain command's error as
// next returned it: go-redis sets redis.Nil on the command only after the hooks ran).
func (r *redisCounter) count(cmd redis.Cmder, err error) {
	name := cmd.Name()
	if !answered(err) {
		r.unconfirmed.Add(1)
		switch name {
		case "get":
			r.unconfKeys.Add(1)
		case "mget":
			r.unconfKeys.Add(uint64(max(len(cmd.Args())-1, 0)))
		}
		return
	}
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
		countFor(ctx, 1)
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
		countFor(ctx, len(cmds))
		return err
	}
}
