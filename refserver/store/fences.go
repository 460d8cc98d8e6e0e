package store

import (
	"context"
	"fmt"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// The store keeps the cache's fence log (atlas.FenceLog): a log of fences and a lease per
// instance. Its queries are not counted in QueryStats and add no simulated latency: they
// are the coherence protocol's own traffic (a poll every 50 ms per instance), not the
// application's.
var _ atlas.FenceLog = (*sqlStore)(nil)

// AddFence implements atlas.FenceLog. On PostgreSQL the insert holds an exclusive lock on the
// table until commit, so fences commit in sequence order; SQLite writers are serial.
func (s *sqlStore) AddFence(ctx context.Context, userID string, scope atlas.Scope) (int64, error) {
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
	if err := tx.QueryRowContext(ctx, s.d.rebind(`INSERT INTO cache_fences (user_id, scope) VALUES (?, ?) RETURNING seq`), userID, int(scope)).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store: add fence: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: add fence: %w", err)
	}
	return seq, nil
}

// FencesAfter implements atlas.FenceLog.
func (s *sqlStore) FencesAfter(ctx context.Context, seq int64) ([]atlas.Fence, error) {
	s.count.xacts.Add(1)
	rows, err := s.read.QueryContext(ctx, s.d.rebind(`SELECT seq, user_id, scope FROM cache_fences WHERE seq > ? ORDER BY seq`), seq)
	if err != nil {
		return nil, fmt.Errorf("store: fences: %w", err)
	}
	defer rows.Close()
	var out []atlas.Fence
	for rows.Next() {
		var f atlas.Fence
		var scope int
		if err := rows.Scan(&f.Seq, &f.User, &scope); err != nil {
			return nil, fmt.Errorf("store: fences: %w", err)
		}
		f.Scope = atlas.Scope(scope)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: fences: %w", err)
	}
	return out, nil
}

// DeleteFences implements atlas.FenceLog.
func (s *sqlStore) DeleteFences(ctx context.Context, userID string, upTo int64) error {
	s.count.xacts.Add(1)
	if _, err := s.write.ExecContext(ctx, s.d.rebind(`DELETE FROM cache_fences WHERE user_id = ? AND seq <= ?`), userID, upTo); err != nil {
		return fmt.Errorf("store: delete fences: %w", err)
	}
	return nil
}

// RenewInstance implements atlas.FenceLog.
func (s *sqlStore) RenewInstance(ctx context.Context, id string, seen int64, leaseUntil time.Time) error {
	s.count.xacts.Add(1)
	_, err := s.write.ExecContext(ctx, s.d.rebind(`INSERT INTO cache_instances (id, seen, lease_until) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seen = excluded.seen, lease_until = excluded.lease_until`), id, seen, leaseUntil.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: renew instance: %w", err)
	}
	return nil
}

// Lagging implements atlas.FenceLog.
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

// RemoveInstance implements atlas.FenceLog.
func (s *sqlStore) RemoveInstance(ctx context.Context, id string) error {
	s.count.xacts.Add(1)
	if _, err := s.write.ExecContext(ctx, s.d.rebind(`DELETE FROM cache_instances WHERE id = ?`), id); err != nil {
		return fmt.Errorf("store: remove instance: %w", err)
	}
	return nil
}
