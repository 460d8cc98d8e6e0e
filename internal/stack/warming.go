package stack

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
)

// warmedPrefix starts the line `bench serve` prints when warming at start ended.
const warmedPrefix = "atlas: warmed "

// WarmedLine is the stdout line of a server whose warming at start ended (ParseWarmed
// reads it back).
func WarmedLine(r cache.WarmReport) string {
	return fmt.Sprintf("%sactive=%d users=%d keys=%d bytes=%d ops=%d ops_per_sec=%d took=%s stopped=%s",
		warmedPrefix, r.Active, r.Users, r.Keys, r.Bytes, r.Ops, r.OpsPerSec, r.Took.Round(time.Millisecond), r.Stopped)
}

// warmingPrefix starts the line `bench serve` prints after every batch of warming at start.
const warmingPrefix = "atlas: warming users="

// WarmingLine is the stdout line of a server whose warming at start has warmed r.Users so
// far (ParseWarming reads it back).
func WarmingLine(r cache.WarmReport) string {
	return fmt.Sprintf("%s%d of %d", warmingPrefix, r.Users, r.Active)
}

// ParseWarming reads a WarmingLine: the users warmed so far of the active population;
// false when line is not one.
func ParseWarming(line string) (users, active int, ok bool) {
	rest, ok := strings.CutPrefix(line, warmingPrefix)
	if !ok {
		return 0, 0, false
	}
	f := strings.Fields(rest)
	if len(f) != 3 || f[1] != "of" {
		return 0, 0, false
	}
	u, err1 := strconv.Atoi(f[0])
	a, err2 := strconv.Atoi(f[2])
	return u, a, err1 == nil && err2 == nil
}

// ParseWarmed reads a WarmedLine; false when line is not one.
func ParseWarmed(line string) (cache.WarmReport, bool) {
	rest, ok := strings.CutPrefix(line, warmedPrefix)
	if !ok {
		return cache.WarmReport{}, false
	}
	var r cache.WarmReport
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "active":
			r.Active = int(n)
		case "users":
			r.Users = int(n)
		case "keys":
			r.Keys = int(n)
		case "bytes":
			r.Bytes = n
		case "ops":
			r.Ops = int(n)
		case "ops_per_sec":
			r.OpsPerSec = int(n)
		case "took":
			r.Took, _ = time.ParseDuration(v)
		case "stopped":
			r.Stopped = v
		}
	}
	return r, true
}

// Warmed returns what this instance's warming at start did and when its line arrived;
// false while it has not ended (or the instance does not warm).
func (s *Server) Warmed() (cache.WarmReport, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.warmed == nil {
		return cache.WarmReport{}, time.Time{}, false
	}
	return *s.warmed, s.warmedAt, true
}

// WarmedUsers is the most users an instance's warming at start has warmed so far (its
// last progress or final line) and the largest active population one said; false while no
// instance has said.
func (st *Stack) WarmedUsers() (users, active int, ok bool) {
	for _, s := range st.Servers {
		s.mu.Lock()
		if s.warming >= 0 {
			users, active, ok = max(users, s.warming), max(active, s.warmingOf), true
		}
		s.mu.Unlock()
	}
	return users, active, ok
}

// Warmed is every instance's warming at start that ended, in instance order.
func (st *Stack) Warmed() []cache.WarmReport {
	var out []cache.WarmReport
	for _, s := range st.Servers {
		if r, _, ok := s.Warmed(); ok {
			out = append(out, r)
		}
	}
	return out
}
