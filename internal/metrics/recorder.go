package metrics

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// HeaderGap is how far (absolute) the hit rate from the server's counters and the one from
// the headers may differ before Finish adds a note.
const HeaderGap = 0.01

// secondLag is how many seconds behind the newest one a per-second histogram is reduced to
// its p50/p99/max and recycled; records later than that only update the counts and max.
const secondLag = 30

// Options configure a Recorder.
type Options struct {
	Mode summary.Mode // ModeCache or ModeNoCache: Figures.Mode
}

// Recorder accumulates one mode's figures. Add is meant to be called from one goroutine
// (the checker's Next), Event from another (driver.Config.OnEvent); both are safe.
type Recorder struct {
	mu           sync.Mutex
	mode         summary.Mode
	latency      *hist // from the intended send time
	service      *hist // from the actual send
	requests     int64
	errors       int64
	errorsByKind map[string]int64
	endpoints    map[string]*endpointAcc
	bounds       []boundary
	phases       []*phaseAcc // one per phase: len(bounds)+1
	secs         []*secondAcc
	newestSec    int
	compacted    int // seconds below this are reduced
	pool         []*hist
	headers      map[string]*headerAcc
	servers      []*serverAcc // by driver.Record.Server
	keepRaw      bool         // see KeepRaw
}

// serverAcc is one server instance's share of the records.
type serverAcc struct {
	requests, errors int64
	lat              *hist
	hits, lookups    int64
}

type endpointAcc struct {
	requests, errors, hits int64
	lat                    *hist
}

type phaseAcc struct {
	requests, errors int64
	lat              *hist
}

type secondAcc struct {
	n, errors, sent int64
	lat             *hist // nil once reduced
	p50, p99, max   float64
	enc             *RawHist // lat encoded before it was recycled (KeepRaw)
}

type headerAcc struct{ hits, lookups int64 }

// NewRecorder returns an empty Recorder.
func NewRecorder(o Options) *Recorder {
	return &Recorder{
		mode:         o.Mode,
		latency:      newHist(histDigits),
		service:      newHist(histDigits),
		errorsByKind: map[string]int64{},
		endpoints:    map[string]*endpointAcc{},
		phases:       []*phaseAcc{{lat: newHist(histDigits)}},
		headers:      map[string]*headerAcc{},
	}
}

// Event takes an event as it happens; fault verbs and start/heal open phases. Call it from
// driver.Config.OnEvent, so that later records fall in the right phase.
func (r *Recorder) Event(e driver.EventRecord) {
	b, ok := boundaryOf(e)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bounds = append(r.bounds, b)
	r.phases = append(r.phases, &phaseAcc{lat: newHist(histDigits)})
}

// Add takes one verdict; warm-up records are left out.
func (r *Recorder) Add(v check.Verdict) {
	if v.Warmup {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	isErr := v.Error != ""
	r.requests++
	if isErr {
		r.errors++
		r.errorsByKind[v.Error]++
	}
	r.latency.record(v.Latency)
	r.service.record(v.Res.Latency)

	route, class := "unmatched", ""
	if v.Req != nil {
		route, class = v.Req.Route, v.Req.Class
	}
	ep := r.endpoints[route]
	if ep == nil {
		ep = &endpointAcc{lat: newHist(histDigits)}
		r.endpoints[route] = ep
	}
	ep.requests++
	ep.lat.record(v.Latency)
	if isErr {
		ep.errors++
	}
	if v.Res.Headers.Get("X-Cache") == "HIT" {
		ep.hits++
	}

	t := v.Intended.Seconds()
	ph := r.phases[phaseIndex(r.bounds, t)]
	ph.requests++
	ph.lat.record(v.Latency)
	if isErr {
		ph.errors++
	}

	s := r.second(int(math.Floor(t)))
	s.n++
	if isErr {
		s.errors++
	}
	if s.lat != nil {
		s.lat.record(v.Latency)
	} else if ms := float64(v.Latency.Microseconds()) / 1000; ms > s.max {
		s.max = ms
	}
	r.second(int(math.Floor(math.Max(v.Sent.Seconds(), 0)))).sent++

	r.countHeaders(v, class)
	r.countServer(v, isErr)
}

// countServer adds the record to its instance's figures.
func (r *Recorder) countServer(v check.Verdict, isErr bool) {
	for len(r.servers) <= v.Server {
		r.servers = append(r.servers, &serverAcc{lat: newHist(histDigits)})
	}
	sa := r.servers[v.Server]
	sa.requests++
	sa.lat.record(v.Latency)
	if isErr {
		sa.errors++
	}
	for _, h := range []string{"X-Cache", "X-Atlas-Tier-Cache"} {
		switch v.Res.Headers.Get(h) {
		case "HIT":
			sa.hits++
			sa.lookups++
		case "MISS", "BYPASS":
			sa.lookups++
		}
	}
}

// countHeaders adds the cache outcomes a response shows: X-Atlas-Tier-Cache for the tier
// lookup every authenticated request makes, X-Cache for the route's own class.
func (r *Recorder) countHeaders(v check.Verdict, class string) {
	if v.Res.Code == 0 {
		return
	}
	add := func(class, outcome string) {
		if outcome != "HIT" && outcome != "MISS" && outcome != "BYPASS" {
			return
		}
		h := r.headers[class]
		if h == nil {
			h = &headerAcc{}
			r.headers[class] = h
		}
		h.lookups++
		if outcome == "HIT" {
			h.hits++
		}
	}
	add("tier", v.Res.Headers.Get("X-Atlas-Tier-Cache"))
	ok := v.Res.Code >= 200 && v.Res.Code < 300 || v.Res.Code == 404
	if ok && class != "tier" && isCacheClass(class) {
		add(class, v.Res.Headers.Get("X-Cache"))
	}
}

func isCacheClass(c string) bool { return slices.Contains(summary.CacheClasses(), c) }

// second returns the accumulator of second i (clamped at 0), reducing old ones.
func (r *Recorder) second(i int) *secondAcc {
	i = max(i, 0)
	for len(r.secs) <= i {
		var h *hist
		if len(r.secs) >= r.compacted {
			if n := len(r.pool); n > 0 {
				h, r.pool = r.pool[n-1], r.pool[:n-1]
			} else {
				h = newHist(secondDigits)
			}
		}
		r.secs = append(r.secs, &secondAcc{lat: h})
	}
	if i > r.newestSec {
		r.newestSec = i
		for r.compacted < r.newestSec-secondLag {
			r.reduce(r.secs[r.compacted])
			r.compacted++
		}
	}
	return r.secs[i]
}

// reduce keeps a second's p50/p99/max and recycles its histogram.
func (r *Recorder) reduce(s *secondAcc) {
	if s.lat == nil {
		return
	}
	if s.lat.count() > 0 {
		s.p50, s.p99, s.max = s.lat.quantileMS(50), s.lat.quantileMS(99), s.lat.maxMS()
	}
	if r.keepRaw {
		if rh, err := s.lat.raw(); err == nil {
			s.enc = &rh
		}
	}
	s.lat.h.Reset()
	s.lat.max = 0
	r.pool = append(r.pool, s.lat)
	s.lat = nil
}

// Input is what Finish needs beside the recorded verdicts.
type Input struct {
	Outcome   *driver.Outcome // required
	Checks    check.Report    // the checker's report, after Close
	Snapshots []Snapshot      // the poller's, after a last Poll at the end
	// Servers is how many instances the driver spread requests over, ServerURLs their base
	// URLs; with more than one, Figures.Servers holds each one's share.
	Servers    int
	ServerURLs []string
}

// Finish computes the figures; notes are caveats for the report (e.g. the server's and the
// headers' hit rates disagree). The Recorder must not be used afterwards.
func (r *Recorder) Finish(in Input) (summary.Figures, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := in.Outcome
	var notes []string
	ran := out.Ran.Seconds()
	nsec := int(math.Ceil(ran - 1e-9))

	f := summary.Figures{
		Mode:                r.mode,
		Requests:            r.requests,
		Rate:                out.Rate,
		Errors:              r.errors,
		ErrorsByKind:        maps.Clone(r.errorsByKind),
		Latency:             r.latency.latency(),
		ServiceTime:         r.service.latency(),
		ByEndpoint:          map[string]summary.Endpoint{},
		IsolationViolations: in.Checks.IsolationViolations(),
		StaleReads:          in.Checks.Stale,
		Examples:            in.Checks.Examples,
		Percentiles:         r.latency.percentileCurve(),
	}
	if f.Mode == "" {
		f.Mode = out.Mode
	}
	if r.requests > 0 {
		f.SuccessRatio = float64(r.requests-r.errors) / float64(r.requests)
	}
	if len(f.ErrorsByKind) == 0 {
		f.ErrorsByKind = nil
	}
	for route, ep := range r.endpoints {
		e := summary.Endpoint{Requests: ep.requests, Errors: ep.errors, Latency: ep.lat.latency()}
		if ep.requests > 0 {
			e.HitRate = float64(ep.hits) / float64(ep.requests)
		}
		f.ByEndpoint[route] = e
	}
	if in.Checks.Tier > 0 {
		f.Extra = map[string]float64{"tier_violations": float64(in.Checks.Tier)}
	}
	if len(r.servers) > 1 || in.Servers > 1 {
		for i := range max(len(r.servers), in.Servers) {
			sf := summary.Server{Server: i + 1, HitRate: -1}
			if i < len(in.ServerURLs) {
				sf.URL = in.ServerURLs[i]
			}
			if i < len(r.servers) {
				sa := r.servers[i]
				sf.Requests, sf.Errors, sf.P99 = sa.requests, sa.errors, sa.lat.latency().P99
				if sa.lookups > 0 {
					sf.HitRate = float64(sa.hits) / float64(sa.lookups)
				}
			}
			f.Servers = append(f.Servers, sf)
		}
	}

	// The server's counters.
	cs := newCounterSeries(in.Snapshots, out.MeasureStart)
	whole, covered, ok := cs.delta(0, ran)
	switch {
	case !ok:
		notes = append(notes, "no server stats over the measured window: hit rates and DB queries unknown")
		whole = counters{}
	case covered < 0.9*ran:
		notes = append(notes, fmt.Sprintf("server stats cover %.1fs of the %.1fs measured window", covered, ran))
	}
	f.HitRate = whole.hitRates()
	f.DBQueries = summary.DBQueries{Total: round(whole["db/total"]), ByClass: map[string]uint64{}}
	f.CacheStats = map[string]summary.ClassStats{}
	for k, v := range whole {
		if class, ok := strings.CutPrefix(k, "db/"); ok && class != "total" {
			f.DBQueries.ByClass[class] = round(v)
		}
	}
	for _, class := range summary.CacheClasses() {
		if _, ok := whole["cache/"+class+"/hits"]; !ok {
			continue
		}
		f.CacheStats[class] = summary.ClassStats{
			Hits: round(whole["cache/"+class+"/hits"]), Misses: round(whole["cache/"+class+"/misses"]),
			Errors: round(whole["cache/"+class+"/errors"]), Bypasses: round(whole["cache/"+class+"/bypasses"]),
		}
	}
	if r.requests > 0 {
		f.DBQueries.PerRequest = float64(f.DBQueries.Total) / float64(r.requests)
	}

	// The headers, and the cross-check.
	if len(r.headers) > 0 {
		hr := map[string]float64{}
		var th, tl int64
		for _, class := range summary.CacheClasses() {
			if h := r.headers[class]; h != nil && h.lookups > 0 {
				hr[class] = float64(h.hits) / float64(h.lookups)
				th, tl = th+h.hits, tl+h.lookups
			}
		}
		if tl > 0 {
			hr[summary.Overall] = float64(th) / float64(tl)
		}
		hrs := summary.NewHitRate(func(class string) float64 { return hr[class] })
		f.HitRateHeaders = &hrs
		if ok {
			// Overall is comparable only when the headers saw every class the server counted.
			comparable := true
			for _, class := range summary.CacheClasses() {
				if _, seen := hr[class]; !seen && whole.hitRate(class) >= 0 {
					comparable = false
				}
			}
			for _, class := range summary.HitRateClasses() {
				h, seen := hr[class]
				s := whole.hitRate(class)
				if !seen || s < 0 || class == summary.Overall && !comparable {
					continue
				}
				if math.Abs(s-h) > HeaderGap {
					notes = append(notes, fmt.Sprintf("hit rate %s: server counters %.3f, X-Cache headers %.3f (differ by more than %.0f point)",
						class, s, h, HeaderGap*100))
				}
			}
		}
	}

	// Per-second series.
	ser := &summary.Series{
		LatencyP50: make([]float64, nsec), LatencyP99: make([]float64, nsec), LatencyMax: make([]float64, nsec),
		RPS: make([]float64, nsec), Errors: make([]float64, nsec), DBQPS: make([]float64, nsec),
		HitRate: map[string][]float64{},
	}
	for i, s := range r.secs {
		j := min(i, nsec-1) // late ones fold into the last second
		if j < 0 {
			break
		}
		r.reduce(s)
		if i < nsec {
			ser.LatencyP50[j], ser.LatencyP99[j] = s.p50, s.p99
		}
		ser.LatencyMax[j] = math.Max(ser.LatencyMax[j], s.max)
		ser.RPS[j] += float64(s.sent)
		ser.Errors[j] += float64(s.errors)
	}
	for _, class := range summary.HitRateClasses() {
		ser.HitRate[class] = make([]float64, nsec)
	}
	for i := range nsec {
		d, cov, ok := cs.delta(float64(i), math.Min(float64(i+1), ran))
		for class, hr := range ser.HitRate {
			hr[i] = -1
			if ok {
				hr[i] = d.hitRate(class)
			}
		}
		if ok && cov > 0 {
			ser.DBQPS[i] = d["db/total"] / cov
		}
	}

	// Phases.
	ws := phaseWindows(r.bounds, ran)
	if len(r.bounds) == 0 {
		for _, e := range out.Events {
			if _, ok := boundaryOf(e); ok {
				notes = append(notes, "phases: fault events were not passed to the metrics Recorder (wire driver.Config.OnEvent to Recorder.Event)")
				break
			}
		}
	}
	steady := math.NaN()
	for i, w := range ws {
		ph := r.phases[i]
		if w.end-w.start <= 0 && ph.requests == 0 {
			continue
		}
		p := summary.Phase{
			Name: w.name, StartS: round3(w.start), EndS: round3(w.end),
			Requests: ph.requests, Errors: ph.errors, Latency: ph.lat.latency(),
		}
		if w.isFault || w.name == summary.PhaseRecovery {
			p.Fault = w.fault
		}
		if d, _, ok := cs.delta(w.start, w.end); ok {
			p.HitRate = d.hitRates()
			if w.isSteady && math.IsNaN(steady) {
				steady = d.hitRate(summary.Overall)
			}
		}
		p.DBQPSPeak = peakIn(ser.DBQPS, w.start, w.end)
		if w.isFault {
			p.RecoveryS = recoverySeconds(ser.HitRate[summary.Overall], steady, w.faultEnd, w.until)
			ser.Faults = append(ser.Faults, summary.FaultMark{Name: w.name, StartS: p.StartS, EndS: p.EndS})
		}
		f.Phases = append(f.Phases, p)
	}
	f.Series = ser
	return f, notes
}

// peakIn is the largest per-second value over the seconds whose middle falls in [start,
// end), or of the second holding the middle of a window too short to hold any.
func peakIn(perSecond []float64, start, end float64) float64 {
	peak, found := 0.0, false
	for s := max(int(math.Floor(start)), 0); s < len(perSecond) && float64(s) < end; s++ {
		if mid := float64(s) + 0.5; mid >= start && mid < end {
			peak, found = math.Max(peak, perSecond[s]), true
		}
	}
	if !found {
		if s := int(math.Floor((start + end) / 2)); s >= 0 && s < len(perSecond) {
			peak = perSecond[s]
		}
	}
	return peak
}

func round(x float64) uint64 {
	if x <= 0 {
		return 0
	}
	return uint64(math.Round(x))
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
