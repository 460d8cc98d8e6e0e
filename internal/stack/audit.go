package stack

import (
	"context"
	"fmt"
	"net/url"
	"regexp"

	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/redis/go-redis/v9"
)

// keyShape is every key the cache layer writes: a user's generation counters, and the
// entries of the four classes, whose only free part on the data side is the routed resource
// of GET …/messages, normalised ("messages/c<ID>?limit=<n>", escaped), and its resource path
// ("messages/c<ID>"), which has a generation counter of its own. It copies the layout of
// internal/cache's key builder on purpose instead of calling it: the audit is an
// independent check of what reached Redis, so a bug in the builder cannot vouch for itself.
// A change of the key layout must change both.
var keyShape = regexp.MustCompile(`^atlas:v1:\{u:([A-Za-z0-9._%~-]+)\}:(?:gen:(?:id|data)|e:tier|` +
	`(gen:list|gen:r:messages%2Fc[1-9][0-9]*|e:(?:free|core|studio):(?:userProfile|conversations)|` +
	`e:(?:free|core|studio):apiResponses:messages%2Fc[1-9][0-9]*%3Flimit%3D[1-9][0-9]*))$`)

// seededUser is the shape of a seeded user ID; only they can own data entries.
var seededUser = regexp.MustCompile(`^u[1-9][0-9]*$`)

// AuditKeys scans the stack's Redis (SCAN, never KEYS) and returns how many keys it holds
// and up to max keys that no request of a legitimate user could have produced: outside the
// atlas:v1: namespace, of an unknown shape, carrying an unnormalised resource, or a data
// entry of a user that does not exist. A hostile input may only ever reach its own
// namespace's generation counters and negative tier lookups.
func (st *Stack) AuditKeys(ctx context.Context, max int) (total int, bad []string, err error) {
	if st.Redis == nil {
		return 0, nil, nil
	}
	scan := func(opt *redis.Options, name string) error {
		client := redis.NewClient(opt)
		defer client.Close()
		iter := client.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			total++
			if k := iter.Val(); !legitKey(k) && len(bad) < max {
				bad = append(bad, k)
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("stack: audit %s: %w", name, err)
		}
		return nil
	}
	if c := st.Redis.Cluster; c != nil {
		// Every master that runs, directly (not through its fault proxy); replicas hold copies.
		for _, n := range c.Nodes() {
			if !n.Running() {
				continue
			}
			if role, err := c.Role(ctx, n); err != nil || role != redisproc.RoleMaster {
				continue
			}
			if err := scan(&redis.Options{Addr: n.Addr()}, n.Name); err != nil {
				return total, bad, err
			}
		}
		return total, bad, nil
	}
	opt, err := redis.ParseURL(st.Redis.URL)
	if err != nil {
		return 0, nil, fmt.Errorf("stack: audit: %w", err)
	}
	u, _ := url.Parse(st.Redis.URL)
	return total, bad, scan(opt, u.Redacted())
}

func legitKey(k string) bool {
	m := keyShape.FindStringSubmatch(k)
	if m == nil {
		return false
	}
	// Data entries (m[2] set) belong to seeded users only: a token for anyone else is
	// refused before any data is loaded.
	return m[2] == "" || seededUser.MatchString(m[1])
}
