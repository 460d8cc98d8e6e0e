package store

import (
	"sync/atomic"

	"github.com/atlasbench/atlasbench/internal/atlas"
)

// counters counts queries per class; the index is the class's position in atlas.QueryClasses().
type counters struct {
	byClass [6]atomic.Uint64
	// xacts counts single-statement queries and write transactions, pings the pings;
	// conns, when set, the connections a PostgreSQL pool opened.
	xacts, pings atomic.Uint64
	conns        *atomic.Uint64
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
	if c.conns != nil {
		s.Connections = c.conns.Load()
	}
	s.Transactions = c.xacts.Load() + s.Pings + s.Connections
	return s
}
