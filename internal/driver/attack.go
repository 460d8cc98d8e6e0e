package driver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// Defaults of Config.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultBodyLimit = 1 << 20
	DefaultWorkers   = 10
	DefaultStopGrace = 2 * time.Second
)

// Names of the boundary events Run reports through Config.OnEvent besides the caller's.
const (
	EventWarmupEnd = "warmup-end" // the measured window starts (offset 0)
	EventEnd       = "end"        // the attack is over and every result was consumed
)

// KeptRatio is the share of the target rate the generator must achieve for Rate.Kept.
const KeptRatio = 0.95

// Config is one attack. Zero values mean the documented defaults.
type Config struct {
	// BaseURL is the server, e.g. "http://127.0.0.1:8000". Required unless BaseURLs is set.
	BaseURL string
	// BaseURLs are several instances of the server: request n goes to the instance
	// Scenario.Pin.Server picks (round-robin by request unless pinned). Overrides BaseURL.
	BaseURLs []string
	// Scenario gives the plan, the schedule (Warmup + Duration) and the rate. Required.
	Scenario *scenarios.Scenario
	// Secret signs the bearer tokens. Required.
	Secret []byte
	// Mode is "cache" or "nocache": the vegeta attack name and Outcome.Mode.
	Mode string
	// ResultsPath is where every result of the measured window is written, body stripped,
	// in vegeta's gob encoding (results-<mode>.bin). Empty: not written.
	ResultsPath string
	// WarmupPath is where the warm-up's results are written, the same way
	// (warmup-<mode>.bin), so that ResultsPath holds what the figures count. Empty: not written.
	WarmupPath string
	// Workers is vegeta's initial number of workers. Default DefaultWorkers.
	Workers uint64
	// MaxWorkers caps the workers vegeta may add to keep the schedule. 0: no cap (open loop).
	MaxWorkers uint64
	// Timeout bounds each request, reading the body included. Default DefaultTimeout.
	Timeout time.Duration
	// BodyLimit is how many bytes of each response body are read. 0: DefaultBodyLimit; < 0: no limit.
	BodyLimit int64
	// StopGrace is how long requests in flight may finish after ctx is cancelled before they
	// are aborted (aborted results go to the file but not to Sink). Default DefaultStopGrace.
	StopGrace time.Duration
	// Events run during the attack at offsets from the end of warm-up, in order of At, one
	// at a time (a late one runs as soon as the one before returns), with ctx. Events not
	// yet due when the attack ends or ctx is cancelled are not run.
	Events []Event
	// Sink receives every result with its planned request, one at a time, from one
	// goroutine, in about the order of completion. Warm-up results included (Record.Warmup).
	Sink func(Record)
	// OnEvent is called after each event has run, and for the boundaries EventWarmupEnd and
	// EventEnd; from the events goroutine (EventEnd: from Run's), never concurrently.
	OnEvent func(EventRecord)
	// OnTick receives live progress once a second, from its own goroutine.
	OnTick func(Progress)
	// PlanOptions are passed to NewPlan; Secret is taken from Config.Secret.
	PlanOptions PlanOptions
	// Shard limits the attack to one shard's users, each of their requests sent when the
	// unsharded run would send it. Zero: every user.
	Shard Shard
	// StartAt is when the measured window starts (the attack starts Warmup before), so that
	// the shards of a run measure the same window. Zero: at once. When that moment has
	// passed, the attack starts at once and Outcome.Late says by how much.
	StartAt time.Time
}

// Event is an action run at an offset from the end of warm-up, e.g. killing Redis.
type Event struct {
	At   time.Duration // from the end of warm-up; within [0, Scenario.Duration]
	Name string        // e.g. the fault verb "kill-redis"
	Fn   func(ctx context.Context) error
}

// EventRecord is what happened when an event ran.
type EventRecord struct {
	Name   string
	At     time.Duration // planned, from the end of warm-up
	Fired  time.Time     // when Fn was called
	Done   time.Time     // when Fn returned: the effect is in place
	Offset time.Duration // Done - end of warm-up
	Err    error
}

// Record is one result matched to its planned request.
type Record struct {
	// Req is the planned request; nil when the result could not be matched (Outcome.Unmatched).
	Req *Request
	// Res is vegeta's result, body included. Sinks must not modify it.
	Res *vegeta.Result
	// Intended is the intended send time, from the end of warm-up (negative during warm-up).
	Intended time.Duration
	// Sent is the actual send time (Res.Timestamp), from the end of warm-up.
	Sent time.Duration
	// Latency is from the intended send time to the end of the response: stalls of the
	// generator or the server are not hidden (coordinated omission).
	Latency time.Duration
	// Warmup is true when the intended send time falls in the warm-up.
	Warmup bool
	// Server is the 0-based instance (Config.BaseURLs) the request went to.
	Server int
}

// Service is the service time: from the actual send to the end of the response.
func (r Record) Service() time.Duration { return r.Res.Latency }

// End is when the response ended, from the end of warm-up.
func (r Record) End() time.Duration { return r.Sent + r.Res.Latency }

// Progress is the live state of an attack.
type Progress struct {
	Elapsed time.Duration // since the attack started
	Total   time.Duration // warm-up + duration
	Warmup  bool          // still in warm-up
	Sent    int64         // requests sent so far
	Done    int64         // results received so far
	RPS     float64       // results received over the last tick
	// Errors are transport failures, 5xx and statuses the plan did not expect, so far (the
	// checkers' final count also applies the free-tier 429 rule).
	Errors int64
	// HitRate is the share of X-Cache: HIT among cacheable reads so far; -1 before the first.
	HitRate float64
}

// Outcome is what Run measured about the attack itself; the figures come from the sinks.
type Outcome struct {
	Mode     string
	Scenario string
	// Start is the attack start: request seq n was meant to be sent at Start + Schedule.At(n).
	Start time.Time
	// MeasureStart is Start + Warmup, the origin of every offset.
	MeasureStart time.Time
	Warmup       time.Duration
	Duration     time.Duration
	// Ran is how much of the measured window ran (Duration unless interrupted).
	Ran time.Duration
	// Interrupted is true when ctx was cancelled before the end.
	Interrupted bool
	Sent        int64  // requests sent, warm-up included
	Results     int64  // results received, warm-up included
	Measured    int64  // results in the measured window (intended time after warm-up)
	Scheduled   uint64 // hits the schedule meant for the part of the measured window that ran
	Aborted     int64  // requests aborted after an interrupt (not given to Sink)
	Unmatched   int64  // results no planned request could be found for
	Rate        summary.Rate
	// Late is how long after Config.StartAt the measured window started; 0 without StartAt.
	Late        time.Duration
	Events      []EventRecord // the caller's events that ran, in order
	ResultsPath string
}

// Run attacks cfg.BaseURL with the scenario's plan on its schedule and streams the results.
// It returns when the schedule is done, or soon after ctx is cancelled (Outcome.Interrupted,
// with everything measured until then; the error is nil). Errors are for a run that could
// not start or whose results file could not be written.
func Run(ctx context.Context, cfg Config) (*Outcome, error) {
	sc := cfg.Scenario
	if sc == nil {
		return nil, errors.New("driver: no scenario")
	}
	bases := slices.Clone(cfg.BaseURLs)
	if len(bases) == 0 {
		bases = []string{cfg.BaseURL}
	}
	for i, b := range bases {
		if b == "" {
			return nil, errors.New("driver: no base URL")
		}
		bases[i] = strings.TrimRight(b, "/")
	}
	server := func(r *Request) int { return sc.Pin.Server(r.Index, r.Write, len(bases)) }
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.BodyLimit == 0:
		cfg.BodyLimit = DefaultBodyLimit
	case cfg.BodyLimit < 0:
		cfg.BodyLimit = -1
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	events := slices.Clone(cfg.Events)
	for _, e := range events {
		if e.At < 0 || e.At > sc.Duration {
			return nil, fmt.Errorf("driver: event %q at %s: outside the measured window [0, %s]", e.Name, e.At, sc.Duration)
		}
	}
	slices.SortStableFunc(events, func(a, b Event) int { return cmp.Compare(a.At, b.At) })

	po := cfg.PlanOptions
	po.Secret = cfg.Secret
	plan, err := NewPlan(sc, po)
	if err != nil {
		return nil, err
	}
	total := sc.Total()
	whole := sc.Schedule()
	sched := whole
	next := plan.Next
	if cfg.Shard.Sharded() {
		sched = newShardSchedule(sc, whole, cfg.Shard)
		next = func() (*Request, error) { return plan.nextOwned(cfg.Shard) }
	}

	resw, err := openResults(cfg.ResultsPath, cfg.WarmupPath)
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			resw.close()
		}
	}()

	trk := newTracker()
	abortCtx, abort := context.WithCancel(context.Background())
	defer abort()
	tr := newTransport()
	defer tr.CloseIdleConnections()
	rt := &roundTripper{next: tr, tracker: trk, abort: abortCtx}
	client := &http.Client{
		Transport:     rt,
		Timeout:       cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	opts := []func(*vegeta.Attacker){
		vegeta.Client(client),
		vegeta.Workers(cfg.Workers),
		vegeta.MaxBody(cfg.BodyLimit),
	}
	if cfg.MaxWorkers > 0 {
		opts = append(opts, vegeta.MaxWorkers(cfg.MaxWorkers))
	}
	attacker := vegeta.NewAttacker(opts...)

	var planMu sync.Mutex
	var planErr error
	targeter := func(tgt *vegeta.Target) error {
		planMu.Lock()
		r, err := next()
		if err != nil && planErr == nil {
			planErr = err
		}
		planMu.Unlock()
		if err != nil {
			return err
		}
		trk.park(r)
		h := http.Header{}
		if r.Token != "" {
			h.Set("Authorization", "Bearer "+r.Token)
		}
		for k, v := range r.Header {
			h[k] = v
		}
		h.Set("X-Request-Id", strconv.FormatUint(r.Index, 10))
		h.Set("Accept", "application/json")
		if r.Body != nil {
			h.Set("Content-Type", "application/json")
		}
		tgt.Method, tgt.URL, tgt.Body, tgt.Header = r.Method, bases[server(r)]+r.Path, r.Body, h
		return nil
	}

	out := &Outcome{Mode: cfg.Mode, Scenario: sc.Name, Warmup: sc.Warmup, Duration: sc.Duration, ResultsPath: cfg.ResultsPath}
	name := cfg.Mode
	if name == "" {
		name = "atlasbench"
	}

	if !cfg.StartAt.IsZero() {
		late, err := waitUntil(ctx, cfg.StartAt.Add(-sc.Warmup))
		if err != nil {
			out.Interrupted = true
			return out, nil
		}
		out.Late = late
	}

	// No duration cut-off: the pacer stops after the schedule's last hit, and a generator
	// that fell behind sends its late hits (their latency counts from the intended time)
	// instead of dropping them.
	start := time.Now()
	results := attacker.Attack(targeter, scenarios.NewPacer(sched), 0, name)
	out.Start = start
	out.MeasureStart = start.Add(sc.Warmup)

	// Decouple the consumer (JSON decoding in the checkers) from vegeta's workers.
	buffered := make(chan *vegeta.Result, 1<<14)
	go func() {
		for r := range results {
			buffered <- r
		}
		close(buffered)
	}()

	// Interrupts: stop the pacer at once, abort what is still in flight after the grace.
	var interruptedAt atomic.Int64 // ns since start; 0: not interrupted
	var aborted atomic.Bool
	attackDone := make(chan struct{})
	var watchWG sync.WaitGroup
	watchWG.Add(1)
	go func() {
		defer watchWG.Done()
		select {
		case <-attackDone:
			return
		case <-ctx.Done():
		}
		interruptedAt.Store(max(int64(time.Since(start)), 1))
		attacker.Stop()
		t := time.NewTimer(cfg.StopGrace)
		defer t.Stop()
		select {
		case <-attackDone:
		case <-t.C:
			aborted.Store(true)
			abort()
		}
	}()

	// Events, with the warm-up boundary first among those due at offset 0.
	evStop := make(chan struct{})
	evDone := make(chan []EventRecord, 1)
	go func() {
		evDone <- runEvents(ctx, evStop, out.MeasureStart, append([]Event{{Name: EventWarmupEnd}}, events...), cfg.OnEvent)
	}()

	// Live progress.
	var prog progress
	tickStop := make(chan struct{})
	tickDone := make(chan struct{})
	go func() {
		defer close(tickDone)
		if cfg.OnTick != nil {
			prog.tick(tickStop, start, sc.Warmup, total, &rt.sent, cfg.OnTick)
		}
	}()

	// The consumer: match, stamp, hand to the sink, write without the body.
	var firstSent, lastSent time.Time
	for res := range buffered {
		out.Results++
		req, ok := trk.take(res.Seq)
		if !ok {
			out.Unmatched++
		}
		at, _ := sched.At(res.Seq)
		intended := start.Add(at)
		// Warm-up or not is the planned request's, not the tick's that happened to send it
		// (vegeta pairs ticks and targets out of order), so that which requests are
		// measured is the plan's alone, sharded or not.
		planned := at
		if req != nil {
			planned, _ = whole.At(req.Index)
		}
		rec := Record{
			Req:      req,
			Res:      res,
			Intended: at - sc.Warmup,
			Sent:     res.Timestamp.Sub(out.MeasureStart),
			Latency:  res.End().Sub(intended),
			Warmup:   planned < sc.Warmup,
		}
		if req != nil {
			rec.Server = server(req)
		}
		resw.write(res, rec.Warmup)
		if aborted.Load() && res.Code == 0 && res.Error != "" {
			out.Aborted++
			continue
		}
		prog.add(req, res)
		if !rec.Warmup {
			out.Measured++
			if firstSent.IsZero() || res.Timestamp.Before(firstSent) {
				firstSent = res.Timestamp
			}
			if res.Timestamp.After(lastSent) {
				lastSent = res.Timestamp
			}
		}
		if cfg.Sink != nil {
			cfg.Sink(rec)
		}
	}
	close(attackDone)
	watchWG.Wait()
	close(evStop)
	if ran := <-evDone; len(ran) > 1 {
		out.Events = ran[1:] // the caller's, without the warm-up boundary
	}
	close(tickStop)
	<-tickDone

	out.Sent = rt.sent.Load()
	out.Ran = sc.Duration
	if ns := interruptedAt.Load(); ns != 0 {
		out.Interrupted = true
		out.Ran = min(max(time.Duration(ns)-sc.Warmup, 0), sc.Duration)
	}
	out.Scheduled = scheduledIn(sched, sc.Warmup, sc.Warmup+out.Ran)
	if out.Ran > 0 {
		out.Rate.Target = float64(out.Scheduled) / out.Ran.Seconds()
	}
	if out.Measured > 1 {
		if span := lastSent.Sub(firstSent).Seconds(); span > 0 {
			out.Rate.Achieved = float64(out.Measured-1) / span
		}
	}
	out.Rate.Kept = out.Rate.Target == 0 || out.Rate.Achieved >= KeptRatio*out.Rate.Target

	if cfg.OnEvent != nil {
		now := time.Now()
		cfg.OnEvent(EventRecord{Name: EventEnd, At: out.Ran, Fired: now, Done: now, Offset: now.Sub(out.MeasureStart)})
	}

	closed = true
	writeErr := resw.close()
	if planErr != nil {
		return out, fmt.Errorf("driver: attack stopped: %w", planErr)
	}
	return out, writeErr
}

// waitUntil sleeps until t; when t has passed it returns at once with how long ago that was.
// The error is ctx's when it is cancelled first.
func waitUntil(ctx context.Context, t time.Time) (time.Duration, error) {
	d := time.Until(t)
	if d <= 0 {
		return -d, nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// runEvents runs events (sorted by At) at origin + At, one at a time, until stop is closed
// or ctx is cancelled, and returns what ran.
func runEvents(ctx context.Context, stop <-chan struct{}, origin time.Time, events []Event, onEvent func(EventRecord)) []EventRecord {
	var ran []EventRecord
	for _, e := range events {
		t := time.NewTimer(time.Until(origin.Add(e.At)))
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
			return ran
		case <-ctx.Done(): // interrupted: no more faults
			t.Stop()
			return ran
		}
		rec := EventRecord{Name: e.Name, At: e.At, Fired: time.Now()}
		if e.Fn != nil {
			rec.Err = e.Fn(ctx)
		}
		rec.Done = time.Now()
		rec.Offset = rec.Done.Sub(origin)
		ran = append(ran, rec)
		if onEvent != nil {
			onEvent(rec)
		}
	}
	return ran
}

// progress counts what the live progress shows.
type progress struct {
	done, errs, hits, lookups atomic.Int64
}

// add counts one result.
func (p *progress) add(req *Request, res *vegeta.Result) {
	p.done.Add(1)
	if unexpected(req, res) {
		p.errs.Add(1)
	}
	if req != nil && !req.Write && res.Code >= 200 && res.Code < 300 {
		switch res.Headers.Get("X-Cache") {
		case "HIT":
			p.hits.Add(1)
			p.lookups.Add(1)
		case "MISS", "BYPASS":
			p.lookups.Add(1)
		}
	}
}

// tick calls onTick once a second until stop is closed.
func (p *progress) tick(stop <-chan struct{}, start time.Time, warmup, total time.Duration, sent *atomic.Int64, onTick func(Progress)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, lastAt := int64(0), start
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			done := p.done.Load()
			pr := Progress{
				Elapsed: now.Sub(start), Total: total, Sent: sent.Load(), Done: done,
				Errors: p.errs.Load(), HitRate: -1,
			}
			pr.Warmup = pr.Elapsed < warmup
			if dt := now.Sub(lastAt).Seconds(); dt > 0 {
				pr.RPS = float64(done-last) / dt
			}
			if l := p.lookups.Load(); l > 0 {
				pr.HitRate = float64(p.hits.Load()) / float64(l)
			}
			last, lastAt = done, now
			onTick(pr)
		}
	}
}

// unexpected reports a transport failure, a 5xx, or a status the plan did not expect; the
// progress count of errors.
func unexpected(req *Request, res *vegeta.Result) bool {
	if res.Code == 0 || res.Code >= 500 || req == nil {
		return true
	}
	return !slices.Contains(req.Expect, int(res.Code))
}

// scheduledIn counts the hits the schedule places in [from, to).
func scheduledIn(s scenarios.Schedule, from, to time.Duration) uint64 {
	return firstAtOrAfter(s, to) - firstAtOrAfter(s, from)
}

// firstAtOrAfter is the index of the first hit sent at or after t (Hits() when none).
func firstAtOrAfter(s scenarios.Schedule, t time.Duration) uint64 {
	lo, hi := uint64(0), s.Hits()
	for lo < hi {
		mid := lo + (hi-lo)/2
		at, ok := s.At(mid)
		if ok && at < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
