package store

import (
	"context"
	"fmt"
	"time"
)

// Fence is an invalidation of a user's cache entries that did not reach Redis, kept in the
// database so that every server instance learns of it (docs/COHERENCE.md).
type Fence struct {
	Seq    int64  // increasing in commit order; never reused
	UserID string // whose entries
	Scope  int    // the cache scope (cache.Scope) that was to be invalidated
}

// FenceLog is the database side of the cache's cross-instance coherence: a log of fences
// and a lease per instance saying up to which fence it has read the log. Its queries are
// not counted in QueryStats and add no simulated latency: they are the coherence
// protocol's own traffic (a poll every 50 ms per instance), not the application's.
type FenceLog interface {
	// AddFence appends a fence and returns its sequence number.
	AddFence(ctx context.Context, userID string, scope int) (int64, error)
	// FencesAfter returns the fences with Seq > seq, in Seq order.
	FencesAfter(ctx context.Context, seq int64) ([]Fence, error)
	// DeleteFences removes the user's fences up to seq: the invalidation reached Redis.
	DeleteFences(ctx context.Context, userID string, upTo int64) error
	// RenewInstance records that instance id has read the log up to seen and may use the
	// cache until leaseUntil (creating the row on first use).
	RenewInstance(ctx context.Context, id string, seen int64, leaseUntil time.Time) error
	// Lagging counts the instances other than self that hold a lease later than now and
	// have not read fence seq, while fence seq still exists (0 once it was deleted).
	Lagging(ctx context.Context, self string, seq int64, now time.Time) (int, error)
	// RemoveInstance drops the instance's lease (a clean shutdown).
	RemoveInstance(ctx context.Context, id string) error
}

var _ FenceLog = (*sqlStore)(nil)

// AddFence implements FenceLog. On PostgreSQL the insert holds an exclusive lock on the
// table until commit, so fences commit in sequence order; SQLite writers are serial.
func (s *sqlStore) AddFence(ctx context.Context, userID string, scope int) (int64, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: add fence: %w", err)
	}
	s.count.xacts.Add(1) // a transaction the database counts, not an app query
	defer tx.Rollback()
	if s.d.lockFences != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockFences); err != nil {
			return 0, fmt.Errorf("store: add fence: %w", err)
		}
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, s.d.rebind(`INSERT INTO cache_fences (user_id, scope) VALUES (?, ?) RETURNING seq`), userID, scope).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store: add fence: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: add fence: %w", err)
	}
	return seq, nil
}

// FencesAfter implements FenceLog.
func (s *sqlStore) FencesAfter(ctx context.Context, seq int64) ([]Fence, error) {
	s.count.xacts.Add(1)
	rows, err := s.read.QueryContext(ctx, s.d.rebind(`SELECT seq, user_id, scope FROM cache_fences WHERE seq > ? ORDER BY seq`), seq)
	if err != nil {
		return nil, fmt.Errorf("store: fences: %w", err)
	}
	defer rows.Close()
	var out []Fence
	for rows.Next() {
		var f Fence
		if err := rows.Scan(&f.Seq, &f.UserID, &f.Scope); err != nil {
			return nil, fmt.Errorf("store: fences: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: fences: %w", err)
	}
	return out, nil
}

// DeleteFences implements FenceLog.
func (s *sqlStore) DeleteFences(ctx context.Context, userID string, upTo int64) error {
	s.count.xacts.Add(1)
	if _, err := s.write.ExecContext(ctx, s.d.rebind(`DELETE FROM cache_fences WHERE user_id = ? AND seq <= ?`), userID, upTo); err != nil {
		return fmt.Errorf("store: delete fences: %w", err)
	}
	return nil
}

// RenewInstance implements FenceLog.
func (s *sqlStore) RenewInstance(ctx context.Context, id string, seen int64, leaseUntil time.Time) error {
	s.count.xacts.Add(1)
	_, err := s.write.ExecContext(ctx, s.d.rebind(`INSERT INTO cache_instances (id, seen, lease_until) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seen = excluded.seen, lease_until = excluded.lease_until`), id, seen, leaseUntil.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: renew instance: %w", err)
	}
	return nil
}

// Lagging implements FenceLog.
func (s *sqlStore) Lagging(ctx context.Context, self string, seq int64, now time.Time) (int, error) {
	s.count.xacts.Add(1)
	var n int
	err := s.read.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM cache_instances
		WHERE id <> ? AND seen < ? AND lease_until > ?
		AND EXISTS (SELECT 1 FROM cache_fences WHERE seq = ?)`), self, seq, now.UnixMilli(), seq).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: lagging instances: %w", err)
	}
	return n, nil
}

// RemoveInstance implements FenceLog.
func (s *sqlStore) RemoveInstance(ctx context.Context, id string) error {
	s.count.xacts.Add(1)
	if _, err := s.write.ExecContext(ctx, s.d.rebind(`DELETE FROM cache_instances WHERE id = ?`), id); err != nil {
		return fmt.Errorf("store: remove instance: %w", err)
	}
	return nil
}
