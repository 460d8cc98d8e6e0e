package metrics

import (
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
	// Mode is Figures.Mode: ModeCache or ModeNoCache; ModeTarget for a server the harness
	// did not start, whose figures are of the mode it reports (see Finish).
	Mode summary.Mode
}

// Recorder accumulates one mode's figures. Add is meant to be called from one goroutine
// (the checker's Next), Event from another (driver.Config.OnEvent); both are safe.
type Recorder struct {
	mu           sync.Mutex
	mode         summary.Mode
	latency      *hist // from the intended send time
	service      *hist // from the actual send
	hits         *hist // from the intended send time, answers served wholly from the cache (hitOnly)
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
	clients      clientAcc    // the devices' HTTP caches (clients.go)
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
		hits:         newHist(histDigits),
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
	r.clients.add(v)
	if !isErr && hitOnly(v, class) {
		r.hits.record(v.Latency)
	}
}

// hitLatency is the latency of the answers served wholly from the cache; nil without any.
func (r *Recorder) hitLatency() *summary.Latency {
	if r.hits == nil || r.hits.count() == 0 {
		return nil
	}
	l := r.hits.latency()
	return &l
}

// hitOnly reports whether a GET was answered wholly from the cache: its tier lookup and its
// route's own lookup both hit (GET /api/me/tier makes the tier lookup only).
func hitOnly(v check.Verdict, class string) bool {
	if v.Req == nil || v.Req.Method != "GET" || v.Res.Code < 200 || v.Res.Code >= 300 {
		return false
	}
	tier := v.Res.Headers.Get("X-Atlas-Tier-Cache")
	if class == "tier" {
		return tier == "HIT" || tier == "" && v.Res.Headers.Get("X-Cache") == "HIT"
	}
	return tier == "HIT" && isCacheClass(class) && v.Res.Headers.Get("X-Cache") == "HIT"
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
	hits, lookups := headerLookups(v)
	sa.hits += hits
	sa.lookups += lookups
}

// headerLookups counts the cache lookups an answer shows (X-Cache and X-Atlas-Tier-Cache)
// and how many of them hit.
func headerLookups(v check.Verdict) (hits, lookups int64) {
	for _, h := range []string{"X-Cache", "X-Atlas-Tier-Cache"} {
		switch v.Res.Headers.Get(h) {
		case "HIT":
			hits++
			lookups++
		case "MISS", "BYPASS":
			lookups++
		}
	}
	return hits, lookups
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
	ok := v.Res.Code >= 200 && v.Res.Code < 300 || v.Res.Code == 404 || v.Revalidated()
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
	// KeyAudit is what a scan of the run's Redis found after the attack; nil when there was
	// none (no Redis of the harness's, or the scan failed).
	KeyAudit *KeyAudit
}

// KeyAudit is a scan of the keys a run left in Redis: how many were read, and those no
// legitimate request could have produced (a hostile input that reached a key of its
// choosing), each an isolation violation.
type KeyAudit struct {
	Audited int      `json:"audited"`
	Foreign []string `json:"foreign,omitempty"`
}

// modeOf is the mode the figures are of: the Recorder's, except that a run against a
// target (summary.ModeTarget) is of the mode the server reports in its first stats
// answer (cache when it reports none), and a Recorder without one takes the driver's.
func (r *Recorder) modeOf(in Input) summary.Mode {
	switch r.mode {
	case "":
		return in.Outcome.Mode
	case summary.ModeTarget:
		if len(in.Snapshots) > 0 && in.Snapshots[0].Mode != "" {
			return summary.Mode(in.Snapshots[0].Mode)
		}
		return summary.ModeCache
	}
	return r.mode
}

// Finish computes the figures; notes are caveats for the report (e.g. the server's and the
// headers' hit rates disagree). The Recorder must not be used afterwards.
func (r *Recorder) Finish(in Input) (summary.Figures, []summary.Note) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ran := in.Outcome.Ran.Seconds()
	var notes []summary.Note
	f := r.totals(in)
	cs := newCounterSeries(in.Snapshots, in.Outcome.MeasureStart)
	whole, ok, more := serverCounters(cs, ran, f.Mode)
	notes = append(notes, more...)
	r.fromCounters(&f, whole)
	notes = append(notes, r.fromHeaders(&f, whole, ok)...)
	f.Series = r.series(cs, ran)
	var phaseNotes []summary.Note
	f.Phases, phaseNotes = r.phaseFigures(in.Outcome, cs, f.Series, ran, f.Mode)
	notes = append(notes, phaseNotes...)
	return f, notes
}

// totals are the figures of the verdicts themselves: counts, latency, endpoints, checks,
// the key audit and each server instance's share.
func (r *Recorder) totals(in Input) summary.Figures {
	f := summary.Figures{
		Mode:                r.modeOf(in),
		Requests:            r.requests,
		Rate:                in.Outcome.Rate,
		Errors:              r.errors,
		ErrorsByKind:        maps.Clone(r.errorsByKind),
		Latency:             r.latency.latency(),
		ServiceTime:         r.service.latency(),
		ByEndpoint:          map[string]summary.Endpoint{},
		IsolationViolations: in.Checks.IsolationViolations(),
		IsolationNA:         in.Checks.IsolationNA,
		StaleReads:          in.Checks.Stale,
		StaleMaxS:           in.Checks.StaleMax.Seconds(),
		LatencyHits:         r.hitLatency(),
		Examples:            in.Checks.Examples,
		Percentiles:         r.latency.percentileCurve(),
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
	if a := in.KeyAudit; a != nil {
		if f.Extra == nil {
			f.Extra = map[string]float64{}
		}
		f.Extra["cache_keys_audited"] = float64(a.Audited)
		for _, k := range a.Foreign {
			f.IsolationViolations++
			f.Examples = append(f.Examples, summary.Example{Kind: "cache-key", Request: "SCAN of the run's Redis",
				Expected: "only keys the cache layer builds for a real user's routed resource", Got: k})
		}
	}
	f.Servers = r.serverShares(in)
	f.ClientCache = r.clients.figures(in.Checks)
	return f
}

// serverShares are each instance's figures when the requests went to more than one.
func (r *Recorder) serverShares(in Input) []summary.Server {
	if len(r.servers) <= 1 && in.Servers <= 1 {
		return nil
	}
	var out []summary.Server
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
		out = append(out, sf)
	}
	return out
}

// serverCounters is the growth of the server's counters over the measured window (empty
// when they are unknown; ok says whether they are known), with a note when they are
// unknown or cover less than 90% of it.
func serverCounters(cs *counterSeries, ran float64, mode summary.Mode) (whole counters, ok bool, notes []summary.Note) {
	whole, covered, ok := cs.delta(0, ran)
	switch {
	case !ok:
		notes = append(notes, summary.Notef(summary.NoteStats, mode, "no server stats over the measured window: hit rates and DB queries unknown"))
		whole = counters{}
	case covered < 0.9*ran:
		notes = append(notes, summary.Notef(summary.NoteStats, mode, "server stats cover %.1fs of the %.1fs measured window", covered, ran))
	}
	return whole, ok, notes
}

// fromCounters fills what the server's counters say over the window: hit rates, DB
// queries and the cache's counters per class.
func (r *Recorder) fromCounters(f *summary.Figures, whole counters) {
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
}

// fromHeaders fills the hit rates the X-Cache headers show and, when the server's counters
// are known (ok), notes every class where the two differ by more than HeaderGap.
func (r *Recorder) fromHeaders(f *summary.Figures, whole counters, ok bool) []summary.Note {
	if len(r.headers) == 0 {
		return nil
	}
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
	if !ok {
		return nil
	}
	var notes []summary.Note
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
			notes = append(notes, summary.Notef(summary.NoteHeaders, f.Mode, "hit rate %s: server counters %.3f, X-Cache headers %.3f (differ by more than %.0f point)",
				class, s, h, HeaderGap*100))
		}
	}
	return notes
}

// series are the per-second figures of the measured window: latency, sent rate and errors
// from the verdicts, hit rates and DB queries per second from the server's counters.
func (r *Recorder) series(cs *counterSeries, ran float64) *summary.Series {
	nsec := int(math.Ceil(ran - 1e-9))
	ser := &summary.Series{
		LatencyP50: make([]float64, nsec), LatencyP99: make([]float64, nsec), LatencyMax: make([]float64, nsec),
		RPS: make([]float64, nsec), Errors: make([]float64, nsec), DBQPS: make([]float64, nsec),
		HitRate: map[string][]float64{},
	}
	// A second without a single result (the generator lagged, or the window was cut off)
	// has no latency: -1, a gap in the charts, never 0 ms.
	for _, l := range [][]float64{ser.LatencyP50, ser.LatencyP99, ser.LatencyMax} {
		for i := range l {
			l[i] = -1
		}
	}
	for i, s := range r.secs {
		j := min(i, nsec-1) // late ones fold into the last second
		if j < 0 {
			break
		}
		r.reduce(s)
		if s.n > 0 {
			if i < nsec {
				ser.LatencyP50[j], ser.LatencyP99[j] = s.p50, s.p99
			}
			ser.LatencyMax[j] = math.Max(ser.LatencyMax[j], s.max)
		}
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
	return ser
}

// phaseFigures are the phases of the window (steady, each fault's, recoveries) with their
// figures and recovery times; it marks the fault windows in ser.
func (r *Recorder) phaseFigures(out *driver.Outcome, cs *counterSeries, ser *summary.Series, ran float64, mode summary.Mode) ([]summary.Phase, []summary.Note) {
	var notes []summary.Note
	ws := phaseWindows(r.bounds, ran)
	if len(r.bounds) == 0 {
		for _, e := range out.Events {
			if _, ok := boundaryOf(e); ok {
				notes = append(notes, summary.Notef(summary.NotePhases, mode, "phases: fault events were not passed to the metrics Recorder (wire driver.Config.OnEvent to Recorder.Event)"))
				break
			}
		}
	}
	var phases []summary.Phase
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
		phases = append(phases, p)
	}
	return phases, notes
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
