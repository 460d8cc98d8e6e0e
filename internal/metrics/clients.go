package metrics

import (
	"net/http"
	"strconv"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// clientAcc accumulates what the devices' HTTP caches did (summary.ClientCache): per cache
// class, the GETs, the conditional ones and their 304s, the bytes the 304s did not carry,
// the service times of 304s and 200s, and what the server said about each 304.
type clientAcc struct {
	classes map[string]*clientClassAcc
	devices int  // the highest device seen + 1
	used    bool // a conditional request was measured: the run had client caches
}

type clientClassAcc struct {
	gets, conditional, notModified, bytesSaved int64
	loadsSaved, fromBody                       int64
	commands, withCommands                     int64
	lat304, lat200                             *hist
}

func (a *clientAcc) class(name string) *clientClassAcc {
	if a.classes == nil {
		a.classes = map[string]*clientClassAcc{}
	}
	c := a.classes[name]
	if c == nil {
		c = &clientClassAcc{lat304: newHist(histDigits), lat200: newHist(histDigits)}
		a.classes[name] = c
	}
	return c
}

// add takes one measured verdict.
func (a *clientAcc) add(v check.Verdict) {
	req := v.Req
	if req == nil || req.Attack != "" || req.Method != http.MethodGet || !isCacheClass(req.Class) {
		return
	}
	a.devices = max(a.devices, req.Device+1)
	c := a.class(req.Class)
	c.gets++
	if req.Kept != nil {
		a.used = true
		c.conditional++
	}
	switch {
	case v.Revalidated():
		c.notModified++
		c.bytesSaved += int64(len(req.Kept.Body))
		c.lat304.record(v.Res.Latency)
		how := v.Res.Headers.Get("X-Atlas-Revalidated")
		switch how {
		case "generations":
			c.loadsSaved++
		case "body":
			c.fromBody++
		}
		n, err := strconv.ParseInt(v.Res.Headers.Get("X-Atlas-Redis-Commands"), 10, 64)
		if err == nil && (how == "entry" || how == "generations") {
			c.commands += n
			c.withCommands++
		}
	case v.Res.Code == http.StatusOK:
		c.lat200.record(v.Res.Latency)
	}
}

// figures are the client-cache figures; nil when no measured request was conditional.
func (a *clientAcc) figures(checks check.Report) *summary.ClientCache {
	if !a.used {
		return nil
	}
	out := &summary.ClientCache{Devices: a.devices, ByClass: map[string]summary.ClientCacheClass{}}
	total := &clientClassAcc{lat304: newHist(histDigits), lat200: newHist(histDigits)}
	for name, c := range a.classes {
		out.ByClass[name] = c.figures(checks.ClientStale[name])
		total.gets += c.gets
		total.conditional += c.conditional
		total.notModified += c.notModified
		total.bytesSaved += c.bytesSaved
		total.loadsSaved += c.loadsSaved
		total.fromBody += c.fromBody
		total.commands += c.commands
		total.withCommands += c.withCommands
		_ = total.lat304.h.Merge(c.lat304.h)
		_ = total.lat200.h.Merge(c.lat200.h)
	}
	var stale int64
	for _, n := range checks.ClientStale {
		stale += n
	}
	out.Total = total.figures(stale)
	return out
}

func (c *clientClassAcc) figures(stale int64) summary.ClientCacheClass {
	f := summary.ClientCacheClass{
		Gets: c.gets, Conditional: c.conditional, NotModified: c.notModified, BytesSaved: c.bytesSaved,
		P50304MS: c.lat304.quantileMS(50), P50200MS: c.lat200.quantileMS(50),
		DBLoadsSaved: c.loadsSaved, FromBody: c.fromBody, StaleReads: stale,
	}
	if c.gets > 0 {
		f.Share304 = round3(float64(c.notModified) / float64(c.gets))
	}
	if c.withCommands > 0 {
		f.RedisCommandsPer304 = round3(float64(c.commands) / float64(c.withCommands))
	}
	return f
}
