package refserver

import (
	"context"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/refserver/store"
)

// Fences returns the store's fence log as the cache's (cache.Options.Fences), or nil when
// the store keeps none.
func Fences(st store.Store) cache.FenceLog {
	fl, ok := st.(store.FenceLog)
	if !ok {
		return nil
	}
	return fenceLog{fl}
}

// fenceLog adapts store.FenceLog to cache.FenceLog.
type fenceLog struct{ fl store.FenceLog }

func (f fenceLog) AddFence(ctx context.Context, user string, scope cache.Scope) (int64, error) {
	return f.fl.AddFence(ctx, user, int(scope))
}

func (f fenceLog) FencesAfter(ctx context.Context, seq int64) ([]cache.Fence, error) {
	fs, err := f.fl.FencesAfter(ctx, seq)
	out := make([]cache.Fence, len(fs))
	for i, x := range fs {
		out[i] = cache.Fence{Seq: x.Seq, User: x.UserID, Scope: cache.Scope(x.Scope)}
	}
	return out, err
}

func (f fenceLog) DeleteFences(ctx context.Context, user string, upTo int64) error {
	return f.fl.DeleteFences(ctx, user, upTo)
}

func (f fenceLog) RenewInstance(ctx context.Context, id string, seen int64, leaseUntil time.Time) error {
	return f.fl.RenewInstance(ctx, id, seen, leaseUntil)
}

func (f fenceLog) Lagging(ctx context.Context, self string, seq int64, now time.Time) (int, error) {
	return f.fl.Lagging(ctx, self, seq, now)
}

func (f fenceLog) RemoveInstance(ctx context.Context, id string) error {
	return f.fl.RemoveInstance(ctx, id)
}
