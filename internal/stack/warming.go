package stack

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
)

// The stdout lines of `bench serve`'s warming at start: after every batch, and when it ended.
const (
	warmingPrefix = "atlas: warming "
	warmedPrefix  = "atlas: warmed "
)

// WarmingLine is the stdout line of a server after a batch of its warming at start: its
// running totals (ParseWarming reads it back).
func WarmingLine(r cache.WarmReport) string {
	return warmingPrefix + warmFields(r)
}

// WarmedLine is the stdout line of a server whose warming at start ended (ParseWarmed
// reads it back).
func WarmedLine(r cache.WarmReport) string {
	return warmedPrefix + warmFields(r) + " stopped=" + r.Stopped
}

func warmFields(r cache.WarmReport) string {
	return fmt.Sprintf("active=%d users=%d keys=%d bytes=%d ops=%d ops_per_sec=%d took=%s",
		r.Active, r.Users, r.Keys, r.Bytes, r.Ops, r.OpsPerSec, r.Took.Round(time.Millisecond))
}

// ParseWarming reads a WarmingLine; false when line is not one.
func ParseWarming(line string) (cache.WarmReport, bool) { return parseWarm(line, warmingPrefix) }

// ParseWarmed reads a WarmedLine; false when line is not one.
func ParseWarmed(line string) (cache.WarmReport, bool) { return parseWarm(line, warmedPrefix) }

// parseWarm reads the key=value fields after prefix; false without the prefix or a
// numeric users field.
func parseWarm(line, prefix string) (cache.WarmReport, bool) {
	rest, ok := strings.CutPrefix(line, prefix)
	if !ok {
		return cache.WarmReport{}, false
	}
	var r cache.WarmReport
	users := false
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		switch k {
		case "active":
			r.Active = int(n)
		case "users":
			r.Users, users = int(n), err == nil
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
	return r, users
}

// Warming returns this instance's warming at start: its final report and when the line
// arrived when it ended (ended true), else its last running totals; ok false while it has
// said nothing (or does not warm).
func (s *Server) Warming() (r cache.WarmReport, at time.Time, ended, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.warm == nil {
		return cache.WarmReport{}, time.Time{}, false, false
	}
	return *s.warm, s.warmAt, s.warmEnded, true
}

// WarmedUsers is how many users, most active first, an instance's warming at start may
// have written by now: the most an instance says it warmed, plus the batches it may have
// in flight (cache.WarmInFlight) while it has not ended, and those batches' users while an
// instance has said nothing yet. An upper bound, so the ideal cache preloading them stays
// an upper bound of the real one.
func (st *Stack) WarmedUsers() int {
	n := 0
	for _, s := range st.Servers {
		r, _, ended, ok := s.Warming()
		switch {
		case !ok:
			n = max(n, cache.WarmInFlight)
		case ended:
			n = max(n, r.Users)
		default:
			n = max(n, min(r.Users+cache.WarmInFlight, r.Active))
		}
	}
	return n
}
