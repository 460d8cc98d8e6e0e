package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// crossCheckNotes are the disagreements between a figure and its second witness, for the
// top of the report: a finding, never dropped.
func crossCheckNotes(s *summary.Summary) []string {
	if s.CrossChecks == nil {
		return nil
	}
	var out []string
	for _, c := range s.CrossChecks.Checks {
		if c.Verdict != summary.Disagree {
			continue
		}
		out = append(out, fmt.Sprintf("Cross-check DISAGREES: %s (%s): %s says %s, %s says %s (tolerance %s)%s",
			c.Figure, checkMode(c), c.Witness1, checkValue(c, c.Value1), c.Witness2, checkValue(c, c.Value2), c.Tolerance, detailTail(c.Detail)))
	}
	return out
}

func detailTail(d string) string {
	if d == "" {
		return ""
	}
	return ": " + d
}

func checkMode(c summary.CrossCheck) string {
	m := string(c.Mode)
	if m == "nocache" {
		m = "no cache"
	}
	if c.Repeat > 0 {
		m += fmt.Sprintf(", repeat %d", c.Repeat)
	}
	return m
}

// checkValue formats a cross-checked value in its unit.
func checkValue(c summary.CrossCheck, v float64) string {
	switch c.Unit {
	case "ratio":
		return pct(v)
	case "ms":
		return msUnit(v)
	case "per request":
		return sig(v, 4)
	}
	return num(v)
}

// crossCheckSection is the table of every figure beside its second witness.
func crossCheckSection(s *summary.Summary) *section {
	if s.CrossChecks == nil || len(s.CrossChecks.Checks) == 0 {
		return nil
	}
	cc := s.CrossChecks
	sec := &section{Title: "Cross-checks"}
	if cc.AllAgree {
		sec.Lines = []line{{Text: fmt.Sprintf("All %d cross-checks that could be made agree (cross_checks.all_agree).", made(cc))}}
	} else {
		sec.Lines = []line{{Text: fmt.Sprintf("%d of %d cross-checks DISAGREE: a figure and its second witness do not match.", cc.Disagreements, made(cc)), Loud: true}}
	}
	t := &table{Head: []string{"figure", "mode", "witness 1", "value", "witness 2", "value", "tolerance", "verdict", "detail"}, Align: "lllrlrlcl"}
	for _, c := range cc.Checks {
		t.Rows = append(t.Rows, []string{c.Figure, checkMode(c), c.Witness1, checkValue(c, c.Value1),
			c.Witness2, checkValue(c, c.Value2), c.Tolerance, c.Verdict, c.Detail})
	}
	sec.Table = t
	sec.Foot = []string{"Each figure is checked against a witness that is not the harness's own measurement: Redis's INFO " +
		"counters, PostgreSQL's pg_stat_database, the server's request-duration histogram on /metrics. n/a: the check " +
		"could not be made (a witness missing or its counters reset); it does not count against all_agree."}
	return sec
}

func made(cc *summary.CrossChecks) int {
	n := 0
	for _, c := range cc.Checks {
		if c.Verdict != summary.NotMade {
			n++
		}
	}
	return n
}

// witnessSection shows what Redis, PostgreSQL and the server's histogram say, per mode,
// beside the server's and the harness's own figures.
func witnessSection(s *summary.Summary) *section {
	fs := modes(s)
	witnessed := false
	for _, f := range fs {
		witnessed = witnessed || f.RedisStats != nil || f.PGStats != nil || f.ServerLatency != nil
	}
	if !witnessed {
		return nil
	}
	head := []string{"figure"}
	align := "l"
	for _, f := range fs {
		head = append(head, modeLabel(f))
		align += "r"
	}
	t := &table{Head: head, Align: align}
	row := func(name string, cell func(f *summary.Figures) string) {
		r := []string{name}
		has := false
		for _, f := range fs {
			c := cell(f)
			if c == "" {
				c = dash
			} else {
				has = true
			}
			r = append(r, c)
		}
		if has {
			t.Rows = append(t.Rows, r)
		}
	}
	window := func(f *summary.Figures) *summary.RedisStats {
		if rs, ok := f.RedisStats["window"]; ok {
			return &rs
		}
		return nil
	}
	row("Redis commands per request (measured window)", func(f *summary.Figures) string {
		if rs := window(f); rs != nil && rs.Requests > 0 {
			return sig(rs.CommandsPerRequest, 3) + " (" + topCommands(rs.Commands, rs.Requests) + ")"
		}
		return ""
	})
	row("Redis keyspace hit ratio (INFO)", func(f *summary.Figures) string {
		if rs := window(f); rs != nil && rs.KeyspaceHits+rs.KeyspaceMisses > 0 {
			return pct(rs.KeyspaceHitRatio)
		}
		return ""
	})
	row("server's cache hit rate, same window", func(f *summary.Figures) string {
		if rs := window(f); rs != nil && rs.Requests > 0 {
			return pct(rs.ServerHitRate)
		}
		return ""
	})
	row("PostgreSQL transactions per request (pg_stat_database)", func(f *summary.Figures) string {
		if p := f.PGStats; p != nil && p.Requests > 0 {
			return sig(p.TransactionsPerRequest, 3)
		}
		return ""
	})
	row("PostgreSQL rows returned / fetched", func(f *summary.Figures) string {
		if p := f.PGStats; p != nil {
			return count(p.TupReturned) + " / " + count(p.TupFetched)
		}
		return ""
	})
	row("PostgreSQL buffer hit ratio", func(f *summary.Figures) string {
		if p := f.PGStats; p != nil && p.BlksHit+p.BlksRead > 0 {
			return pct(float64(p.BlksHit) / float64(p.BlksHit+p.BlksRead))
		}
		return ""
	})
	row("pg_stat_statements statements", func(f *summary.Figures) string {
		if p := f.PGStats; p != nil && p.Statements != nil {
			return count(*p.Statements)
		}
		return ""
	})
	for _, q := range []string{"p50", "p99"} {
		row("server time / harness service time, "+q, func(f *summary.Figures) string {
			if sl := f.ServerLatency; sl != nil {
				srv, local := sl.P50, f.ServiceTime.P50
				if q == "p99" {
					srv, local = sl.P99, f.ServiceTime.P99
				}
				return msUnit(srv) + " / " + msUnit(local)
			}
			return ""
		})
		row("network + client share, "+q, func(f *summary.Figures) string {
			if sl := f.ServerLatency; sl != nil {
				v := sl.NetworkClientP50
				if q == "p99" {
					v = sl.NetworkClientP99
				}
				return msUnit(v)
			}
			return ""
		})
	}
	sec := &section{Title: "Second witnesses", Table: t}
	var foot []string
	for _, f := range fs {
		if f.PGStats != nil && f.PGStats.Note != "" {
			foot = append(foot, f.PGStats.Note)
			break
		}
	}
	for _, f := range fs {
		if f.PGStats != nil {
			foot = append(foot, fenceLogNote)
			break
		}
	}
	foot = append(foot, "Redis's keyspace hit ratio counts every key read, the cache's generation counters too, so it "+
		"differs from the server's per-request hit rate; the cross-check compares it with the keys the server found in its replies.")
	sec.Foot = foot
	return sec
}

// topCommands lists the commands per request, the most frequent first: "mget 1.00, set 0.2".
func topCommands(cmds map[string]uint64, requests uint64) string {
	type kv struct {
		name string
		n    uint64
	}
	var list []kv
	for name, n := range cmds {
		switch {
		case name == "info", name == "ping", name == "hello", name == "select", name == "auth", strings.HasPrefix(name, "client"):
			continue
		}
		list = append(list, kv{name, n})
	}
	slices.SortFunc(list, func(a, b kv) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name))
	})
	var parts []string
	for i, e := range list {
		if i == 4 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", e.name, float64(e.n)/float64(requests)))
	}
	return strings.Join(parts, ", ")
}

// fenceLogNote says what PostgreSQL's transactions count that db_queries leaves out, wherever
// the report sets the two side by side.
const fenceLogNote = "PostgreSQL's transactions count what db_queries leaves out: the cache's fence log (each server " +
	"instance polls it with small queries, about 20 a second, with the cache on or off), health pings, new connections " +
	"and prepared statements. So transactions per request exceed DB queries per request, and the DB transaction " +
	"reduction is smaller than the DB-query reduction; the DB transactions cross-check counts them on both sides."
