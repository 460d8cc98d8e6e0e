package store

import (
	"sync/atomic"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// counters counts queries per class; the index is the class's position in atlas.QueryClasses().
type counters struct {
	byClass [6]atomic.Uint64
	// xacts counts single-statement queries and write transactions, pings the pings of
	// Ping; pool, when set, what a PostgreSQL pool does on its own.
	xacts, pings atomic.Uint64
	pool         *poolCounters
}

// poolCounters count what a PostgreSQL pool does on its own: connections opened, and
// the pings pgx sends before reusing a connection idle for more than a second.
type poolCounters struct {
	conns, pings, prepares atomic.Uint64
}

func classIndex(class string) int {
	switch class {
	case atlas.QueryTier:
		return 0
	case atlas.QueryUserProfile:
		return 1
	case atlas.QueryConversations:
		return 2
	case atlas.QueryAPIResponses:
		return 3
	case atlas.QueryWrites:
		return 4
	case atlas.QueryWarm:
		return 5
	}
	panic("store: unknown query class " + class)
}

func (c *counters) add(class string) { c.byClass[classIndex(class)].Add(1) }

// snapshot returns a copy with every class present, zeros included.
func (c *counters) snapshot() atlas.QueryStats {
	s := atlas.QueryStats{ByClass: make(map[string]uint64, len(c.byClass))}
	for i, class := range atlas.QueryClasses() {
		n := c.byClass[i].Load()
		s.ByClass[class] = n
		s.Total += n
	}
	s.Pings = c.pings.Load()
	if c.pool != nil {
		s.Connections = c.pool.conns.Load()
		s.Pings += c.pool.pings.Load()
		s.Prepares = c.pool.prepares.Load()
	}
	s.Transactions = c.xacts.Load() + s.Pings + s.Connections + s.Prepares
	return s
}
