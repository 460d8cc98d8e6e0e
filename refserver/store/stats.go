package store

import "sync/atomic"

// counters counts queries per class; the index is the class's position in Classes().
type counters struct {
	byClass [6]atomic.Uint64
	// xacts counts single-statement queries and write transactions, pings the pings;
	// conns, when set, the connections a PostgreSQL pool opened.
	xacts, pings atomic.Uint64
	conns        *atomic.Uint64
}

func classIndex(class string) int {
	switch class {
	case ClassTier:
		return 0
	case ClassUserProfile:
		return 1
	case ClassConversations:
		return 2
	case ClassAPIResponses:
		return 3
	case ClassWrites:
		return 4
	case ClassWarm:
		return 5
	}
	panic("store: unknown query class " + class)
}

func (c *counters) add(class string) { c.byClass[classIndex(class)].Add(1) }

// snapshot returns a copy with every class present, zeros included.
func (c *counters) snapshot() QueryStats {
	s := QueryStats{ByClass: make(map[string]uint64, len(c.byClass))}
	for i, class := range Classes() {
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
