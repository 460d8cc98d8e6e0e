package report

import (
	"fmt"
	"slices"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// clientCacheSection is what the devices' HTTP caches did, per mode and class: the share of
// GETs answered 304, the body bytes they saved, the median service time of a 304 against a
// 200, the Redis commands a 304 cost, the DB loads the client caches saved on top of Redis,
// and the stale reads the devices showed. Nil when no mode had client caches.
func clientCacheSection(s *summary.Summary) *section {
	var rows [][]string
	var devices int
	for _, f := range modes(s) {
		cc := f.ClientCache
		if cc == nil {
			continue
		}
		devices = max(devices, cc.Devices)
		classes := slices.Sorted(func(yield func(string) bool) {
			for c := range cc.ByClass {
				if !yield(c) {
					return
				}
			}
		})
		for _, c := range append(classes, "total") {
			x := cc.Total
			if c != "total" {
				x = cc.ByClass[c]
			}
			rows = append(rows, []string{modeLabel(f), c, count(x.Gets), pct(x.Share304),
				bytesCell(x.BytesSaved), msCell(x.P50304MS) + " / " + msCell(x.P50200MS),
				msCell(x.RedisCommandsPer304), count(x.DBLoadsSaved), count(x.StaleReads)})
		}
	}
	if rows == nil {
		return nil
	}
	return &section{
		Title: "Client caches",
		Lines: []line{{Text: fmt.Sprintf("%d devices per user, each keeping its answers and revalidating them (If-None-Match).", devices)}},
		Table: &table{
			Head:  []string{"mode", "class", "GETs", "304", "bytes saved", "p50 304 / 200 (ms)", "Redis cmds / 304", "DB loads saved", "stale reads"},
			Align: "llrrrrrrr",
			Rows:  rows,
		},
		Foot: []string{"A stale read here is a 304 whose kept copy was not what a fresh GET would have answered " +
			"(an acknowledged write missing, or a copy served as a tier the user no longer has). " +
			"DB loads saved are 304s Redis vouched for after it had lost the entry itself."},
	}
}

// bytesCell is a byte count in KiB or MiB.
func bytesCell(n int64) string {
	switch {
	case n >= 1<<20:
		return sig(float64(n)/(1<<20), 3) + " MiB"
	case n >= 1<<10:
		return sig(float64(n)/(1<<10), 3) + " KiB"
	}
	return fmt.Sprintf("%d B", n)
}

// msCell is a latency in milliseconds (or a mean count), dash when none was measured.
func msCell(v float64) string {
	if v == 0 {
		return dash
	}
	return ms(v)
}
