package doctor

import (
	"fmt"
	"io"
	"strings"
)

// Severity says how bad a finding is. Both kinds make `bench doctor` exit 1.
type Severity string

// Severities of a Finding.
const (
	// Problem: the cache is wrong or will fail (writes refused when full, a cluster that
	// stops serving when one master dies, anyone may flush it).
	Problem Severity = "problem"
	// Warning: the cache works but pays for it or measures worse than it could
	// (unbounded memory, evictions, persistence, a low keyspace hit ratio).
	Warning Severity = "warning"
)

// Finding is one thing wrong: what it is, why it matters for a cache, how to fix it.
type Finding struct {
	// ID names the check, stable for machines: "redis.maxmemory-policy", "target.x-cache".
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Where is the Redis node(s) or the route the finding is about.
	Where string `json:"where"`
	What  string `json:"what"`
	Why   string `json:"why"`
	Fix   string `json:"fix"`
}

// Fact is something doctor learned that is not wrong: a version, a round trip, a setting.
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Section is what one check (of a Redis, of a target) found.
type Section struct {
	// Name is "redis" or "target".
	Name string `json:"name"`
	// Subject is what was checked: a Redis URL without its password, or the target's URL.
	Subject  string    `json:"subject"`
	Facts    []Fact    `json:"facts"`
	Findings []Finding `json:"findings"`
}

// Report is the whole of one `bench doctor`.
type Report struct {
	Sections []Section `json:"sections"`
}

// OK reports whether no section has a finding.
func (r Report) OK() bool {
	for _, s := range r.Sections {
		if len(s.Findings) > 0 {
			return false
		}
	}
	return true
}

// Findings returns every finding of every section, in order.
func (r Report) Findings() []Finding {
	var out []Finding
	for _, s := range r.Sections {
		out = append(out, s.Findings...)
	}
	return out
}

// WriteText writes the report for people: each section's facts, then its findings with
// their why and fix, then one verdict line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	n := 0
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "%s %s\n", s.Name, s.Subject)
		width := 0
		for _, f := range s.Facts {
			width = max(width, len(f.Name))
		}
		for _, f := range s.Facts {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, f.Name, f.Value)
		}
		for _, f := range s.Findings {
			n++
			fmt.Fprintf(&b, "\n  %s %s: %s (%s)\n", strings.ToUpper(string(f.Severity)), f.ID, f.What, f.Where)
			fmt.Fprintf(&b, "    why: %s\n    fix: %s\n", f.Why, f.Fix)
		}
		b.WriteString("\n")
	}
	if n == 0 {
		b.WriteString("doctor: nothing wrong found\n")
	} else {
		fmt.Fprintf(&b, "doctor: %d finding(s)\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// merge folds findings that differ only in Where (the same setting on several nodes of
// a cluster) into one whose Where lists every node, keeping the first one's position.
func merge(fs []Finding) []Finding {
	var out []Finding
	at := map[string]int{}
	for _, f := range fs {
		k := f.ID + "\x00" + f.What
		if i, ok := at[k]; ok {
			out[i].Where += ", " + f.Where
			continue
		}
		at[k] = len(out)
		out = append(out, f)
	}
	return out
}
