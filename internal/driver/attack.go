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
	// DefaultMaxLag is how far a scheduled run's sends may fall behind the schedule before
	// the run is cut off (Config.MaxLag).
	DefaultMaxLag = 10 * time.Second
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
	// ReadyPeriod, with several BaseURLs, makes the attack their load balancer: it polls each
	// instance's /readyz every ReadyPeriod and sends no new request to one that is not ready
	// (the request goes to the next ready instance instead; Record.Server says which) until
	// it is again. 0: no polling, every request goes where Scenario.Pin says.
	ReadyPeriod time.Duration
	// Scenario gives the plan, the schedule (Warmup + Duration) and the rate. Required.
	Scenario *scenarios.Scenario
	// Secret signs the bearer tokens. Required.
	Secret []byte
	// Mode is summary.ModeCache or ModeNoCache: the vegeta attack name and Outcome.Mode.
	Mode summary.Mode
	// ResultsPath is where every result of the measured window is written, body and headers
	// stripped, in vegeta's gob encoding (results-<mode>.bin). Empty: not written.
	ResultsPath string
	// WarmupPath is where the warm-up's results are written, the same way
	// (warmup-<mode>.bin), so that ResultsPath holds what the figures count. Empty: not written.
	WarmupPath string
	// Workers is vegeta's initial number of workers. Default DefaultWorkers.
	Workers uint64
	// MaxWorkers caps the workers vegeta may add to keep the schedule. 0: no cap (open loop).
	MaxWorkers uint64
	// Timeout bounds each request, reading the body included (to within 10 ms: requests sent
	// together share a deadline). Default DefaultTimeout.
	Timeout time.Duration
	// BodyLimit is how many bytes of each response body are read. 0: DefaultBodyLimit; < 0: no limit.
	BodyLimit int64
	// StopGrace is how long requests in flight may finish after ctx is cancelled before they
	// are aborted (aborted results go to the file but not to Sink). Default DefaultStopGrace.
	StopGrace time.Duration
	// MaxLag bounds how far behind its schedule a scheduled (open-loop) run may send: once a
	// request goes out more than MaxLag after its intended time, the run stops sending
	// (Outcome.CutOff), the rest of the schedule is counted as dropped (Rate.Dropped), and
	// the figures cover the window up to the cut. Default DefaultMaxLag; negative: never
	// cut off (vegeta's behaviour: keep sending late). Closed loops have no schedule.
	MaxLag time.Duration
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
	// DeviceCacheBytes bounds the bodies the devices' caches keep together (scenario clients
	// with cache: true). Default DefaultDeviceCacheBytes.
	DeviceCacheBytes int64
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
	// P50 and P99 are the latency (as Record.Latency) of the results received over the last
	// tick; 0 when none arrived.
	P50, P99 time.Duration
	// Lag is how far behind its schedule the latest result was sent (scheduled runs only;
	// 0 in a closed loop); CutOff is set once the run stopped sending for lagging more than
	// Config.MaxLag.
	Lag    time.Duration
	CutOff bool
}

// Outcome is what Run measured about the attack itself; the figures come from the sinks.
type Outcome struct {
	Mode     summary.Mode
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
	// CutOff is true when the run stopped sending because it fell more than Config.MaxLag
	// behind its schedule; Ran ends at the cut, Rate.Dropped counts what was never sent.
	CutOff   bool
	Sent     int64 // requests sent, warm-up included
	Results  int64 // results received, warm-up included
	Measured int64 // results in the measured window (intended time after warm-up)
	// WarmupLate counts the warm-up results answered after the measured window opened: a
	// server counting what it answered in the window counts them too, the harness does not.
	WarmupLate int64
	Scheduled  uint64 // hits the schedule meant for the part of the measured window that ran
	Aborted    int64  // requests aborted after an interrupt (not given to Sink)
	Unmatched  int64  // results no planned request could be found for
	Rate       summary.Rate
	// Search is what a capacity search found (rate shape search); nil otherwise.
	Search *SearchOutcome
	// Late is how long after Config.StartAt the measured window started; 0 without StartAt.
	Late        time.Duration
	Events      []EventRecord // the caller's events that ran, in order
	ResultsPath string
	// ResultsWriteMax is the slowest single write to the results file (a disk stall shows here).
	ResultsWriteMax time.Duration
}

// Run attacks cfg.BaseURL with the scenario's plan on its schedule (or, for the max rate
// shape, in a closed loop) and streams the results. It returns when the schedule is done, or
// soon after ctx is cancelled (Outcome.Interrupted, with everything measured until then; the
// error is nil). Errors are for a run that could not start or whose results file could not
// be written.
func Run(ctx context.Context, cfg Config) (*Outcome, error) {
	events, err := cfg.prepare()
	if err != nil {
		return nil, err
	}
	po := cfg.PlanOptions
	po.Secret = cfg.Secret
	plan, err := NewPlan(cfg.Scenario, po)
	if err != nil {
		return nil, err
	}
	rw, err := openResults(cfg.ResultsPath, cfg.WarmupPath)
	if err != nil {
		return nil, err
	}
	defer rw.close() // a no-op after the close below

	a, err := newAttack(&cfg, plan)
	if err != nil {
		rw.close()
		return nil, err
	}
	defer a.transport.CloseIdleConnections()
	defer a.rt.deadlines.stop()
	if !cfg.StartAt.IsZero() {
		late, err := waitUntil(ctx, cfg.StartAt.Add(-cfg.Scenario.Warmup))
		if err != nil {
			a.out.Interrupted = true
			return a.out, nil
		}
		a.out.Late = late
	}
	if a.bal != nil {
		defer a.bal.start(ctx)()
	}
	buffered := relay(a.start())
	stopWatch := a.watchInterrupt(ctx)
	stopEvents := a.runEvents(ctx, events)
	stopTicks := a.tick()

	a.consume(buffered, rw)

	stopWatch()
	a.out.Events = stopEvents()
	stopTicks()
	a.finish()
	if cfg.OnEvent != nil {
		now := time.Now()
		cfg.OnEvent(EventRecord{Name: EventEnd, At: a.out.Ran, Fired: now, Done: now, Offset: now.Sub(a.out.MeasureStart)})
	}
	writeErr := rw.close()
	a.out.ResultsWriteMax = rw.slowest
	if err := a.planError(); err != nil {
		return a.out, fmt.Errorf("driver: attack stopped: %w", err)
	}
	return a.out, writeErr
}

// prepare checks cfg, fills in the defaults and returns the caller's events sorted by At.
func (cfg *Config) prepare() ([]Event, error) {
	sc := cfg.Scenario
	if sc == nil {
		return nil, errors.New("driver: no scenario")
	}
	cfg.BaseURLs = slices.Clone(cfg.BaseURLs)
	if len(cfg.BaseURLs) == 0 {
		cfg.BaseURLs = []string{cfg.BaseURL}
	}
	for i, b := range cfg.BaseURLs {
		if b == "" {
			return nil, errors.New("driver: no base URL")
		}
		cfg.BaseURLs[i] = strings.TrimRight(b, "/")
	}
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
	if sc.Rate.ClosedLoop() {
		if sc.Rate.Workers < 1 {
			return nil, fmt.Errorf("driver: scenario %q: rate max needs workers >= 1", sc.Name)
		}
		// The closed loop: exactly Workers requests in flight, never more.
		cfg.Workers, cfg.MaxWorkers = uint64(sc.Rate.Workers), uint64(sc.Rate.Workers)
	}
	if sc.Rate.Searching() && cfg.Shard.Sharded() {
		return nil, fmt.Errorf("driver: scenario %q: a capacity search cannot be sharded (its steps are decided by every answer)", sc.Name)
	}
	if cfg.MaxLag == 0 {
		cfg.MaxLag = DefaultMaxLag
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
	return events, nil
}

// attack is the state of one Run: the vegeta attacker and what the consumer counts.
type attack struct {
	cfg       *Config
	sc        *scenarios.Scenario
	closed    bool               // the max shape: a closed loop, no schedule
	sched     scenarios.Schedule // what this attack sends: the whole schedule, or its shard's part
	search    *search            // the capacity search's schedule and judge; nil unless rate search
	whole     scenarios.Schedule // the unsharded run's schedule: a planned request's time
	plan      *Plan
	next      func() (*Request, error) // the plan's next request (of the shard's users)
	devices   *devices
	tracker   *tracker
	bal       *balancer // nil unless Config.ReadyPeriod balances several instances
	transport *http.Transport
	conns     *connSet
	rt        *roundTripper
	attacker  *vegeta.Attacker
	out       *Outcome
	prog      progress

	planMu  sync.Mutex
	planErr error

	interruptedAt atomic.Int64 // ns since start; 0: not interrupted
	cutAt         atomic.Int64 // ns since start when the run was cut off for lagging; 0: not cut
	maxLag        time.Duration
	aborted       atomic.Bool
	consumed      chan struct{} // closed when every result was consumed

	firstSent, lastSent time.Time
}

// newAttack builds the HTTP client and the vegeta attacker of cfg.
func newAttack(cfg *Config, plan *Plan) (*attack, error) {
	sc := cfg.Scenario
	a := &attack{
		cfg: cfg, sc: sc, closed: sc.Rate.ClosedLoop(), whole: sc.Schedule(), plan: plan, next: plan.Next,
		tracker: newTracker(), consumed: make(chan struct{}), devices: newDevices(sc, cfg.DeviceCacheBytes),
		out: &Outcome{Mode: cfg.Mode, Scenario: sc.Name, Warmup: sc.Warmup, Duration: sc.Duration, ResultsPath: cfg.ResultsPath},
	}
	a.sched = a.whole
	if sc.Rate.Searching() {
		s, err := newSearch(sc)
		if err != nil {
			return nil, err
		}
		a.search, a.sched, a.whole = s, s, s
	}
	if cfg.Shard.Sharded() {
		a.sched = newShardSchedule(sc, a.whole, cfg.Shard)
		a.next = func() (*Request, error) { return plan.nextOwned(cfg.Shard) }
	}
	if a.closed {
		a.out.Rate.ClosedLoopWorkers = sc.Rate.Workers
	}
	a.prog.init()
	if cfg.ReadyPeriod > 0 && len(cfg.BaseURLs) > 1 {
		a.bal = newBalancer(cfg.BaseURLs, cfg.ReadyPeriod)
	}
	a.transport, a.conns = newTransport()
	a.rt = &roundTripper{next: a.transport, tracker: a.tracker, deadlines: newSharedDeadline(cfg.Timeout)}
	// No Client.Timeout: the round tripper puts the deadline on each request's context. With
	// a Timeout and a RoundTripper that is not *http.Transport, net/http also arms a timer and
	// a goroutine per request for the legacy CancelRequest path (several % of a request's CPU).
	client := &http.Client{
		Transport:     a.rt,
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
	a.attacker = vegeta.NewAttacker(opts...)
	return a, nil
}

// Shared header values: vegeta copies them into each request, nobody modifies them.
var (
	acceptJSON      = []string{"application/json"}
	contentTypeJSON = []string{"application/json"}
)

// target is vegeta's Targeter: the plan's next request, parked in the tracker under its index.
func (a *attack) target(tgt *vegeta.Target) error {
	a.planMu.Lock()
	r, err := a.next()
	if err != nil && a.planErr == nil {
		a.planErr = err
	}
	var authz []string
	if err == nil && r.Token != "" {
		authz = a.plan.bearer(r.UserIndex, r.Token)
	}
	a.planMu.Unlock()
	if err != nil {
		return err
	}
	a.devices.prepare(r)
	th := a.tracker.header()
	h := th.h
	if authz != nil {
		h["Authorization"] = authz
	}
	for k, v := range r.Header {
		h[k] = v
	}
	th.id[0] = strconv.FormatUint(r.Index, 10)
	h["X-Request-Id"] = th.id[:]
	h["Accept"] = acceptJSON
	if r.Body != nil {
		h["Content-Type"] = contentTypeJSON
	}
	if r.Kept != nil {
		h["If-None-Match"] = []string{r.Kept.ETag}
	}
	tgt.Method, tgt.URL, tgt.Body, tgt.Header = r.Method, a.cfg.BaseURLs[a.bal.pick(a.server(r))]+r.Path, r.Body, h
	a.tracker.park(r, th)
	return nil
}

// server is the instance request r goes to.
func (a *attack) server(r *Request) int {
	return a.sc.Pin.Server(r.Index, r.Write, len(a.cfg.BaseURLs))
}

func (a *attack) planError() error {
	a.planMu.Lock()
	defer a.planMu.Unlock()
	return a.planErr
}

// start starts the attack. A schedule has no duration cut-off of its own: the pacer stops
// after its last hit. A generator that falls behind sends its late hits (their latency
// counts from the intended time) only up to Config.MaxLag: the first hit sent later than
// that stops the attacker (lagged), and the rest of the schedule is dropped (the run is
// cut off); with a negative MaxLag it keeps sending late. The closed loop runs until the
// end of the whole attack.
func (a *attack) start() <-chan *vegeta.Result {
	name := string(a.cfg.Mode)
	if name == "" {
		name = "atlasbench"
	}
	var pacer vegeta.Pacer = scenarios.NewPacer(a.sched)
	if a.closed {
		pacer = closedLoop{total: a.sc.Total()}
	}
	a.out.Start = time.Now()
	if a.search != nil {
		a.search.start(a.out.Start)
		pacer = a.search
	}
	a.out.MeasureStart = a.out.Start.Add(a.sc.Warmup)
	return a.attacker.Attack(a.target, pacer, 0, name)
}

// closedLoop is the pacer of the max shape: every hit is due at once, so each worker sends
// as soon as its previous request answered, until total.
type closedLoop struct{ total time.Duration }

func (p closedLoop) Pace(elapsed time.Duration, _ uint64) (time.Duration, bool) {
	return 0, elapsed >= p.total
}

func (p closedLoop) Rate(time.Duration) float64 { return 0 }

// consumePause is how long the consumer lets results gather once it has caught up, so that
// at full speed it takes them in batches: one wake-up per batch instead of one per result,
// with the checkers' state still in cache from the previous record. (Below a few hundred
// results a second it only delays each result's judging by 2 ms, which nothing waits on.)
const consumePause = 2 * time.Millisecond

// relay decouples the consumer (JSON decoding in the checkers) from vegeta's workers.
func relay(results <-chan *vegeta.Result) <-chan *vegeta.Result {
	buffered := make(chan *vegeta.Result, 1<<14)
	go func() {
		for r := range results {
			buffered <- r
		}
		close(buffered)
	}()
	return buffered
}

// watchInterrupt stops the pacer at once when ctx is cancelled, and aborts what is still in
// flight after the grace period. The returned function waits for the watcher to be done.
func (a *attack) watchInterrupt(ctx context.Context) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-a.consumed:
			return
		case <-ctx.Done():
		}
		a.interruptedAt.Store(max(int64(time.Since(a.out.Start)), 1))
		a.attacker.Stop()
		a.search.halt("interrupted: the steps measured so far are kept")
		t := time.NewTimer(a.cfg.StopGrace)
		defer t.Stop()
		select {
		case <-a.consumed:
		case <-t.C:
			a.aborted.Store(true)
			a.conns.closeAll()
		}
	}()
	return func() { <-done }
}

// runEvents runs the events, with the warm-up boundary first among those due at offset 0.
// The returned function stops those not yet due and returns the caller's that ran.
func (a *attack) runEvents(ctx context.Context, events []Event) (stop func() []EventRecord) {
	evStop := make(chan struct{})
	evDone := make(chan []EventRecord, 1)
	go func() {
		evDone <- runEvents(ctx, evStop, a.out.MeasureStart, append([]Event{{Name: EventWarmupEnd}}, events...), a.cfg.OnEvent)
	}()
	return func() []EventRecord {
		close(evStop)
		if ran := <-evDone; len(ran) > 1 {
			return ran[1:] // the caller's, without the warm-up boundary
		}
		return nil
	}
}

// tick starts the live progress; the returned function stops it.
func (a *attack) tick() (stop func()) {
	tickStop := make(chan struct{})
	tickDone := make(chan struct{})
	go func() {
		defer close(tickDone)
		if a.cfg.OnTick != nil {
			a.prog.tick(tickStop, a.out.Start, a.sc.Warmup, a.sc.Total(), &a.rt.sent, a.cfg.OnTick)
		}
	}()
	return func() { close(tickStop); <-tickDone }
}

// consume takes every result: match, stamp, count, write without body and headers, and hand
// to the sink.
func (a *attack) consume(results <-chan *vegeta.Result, rw *resultsWriter) {
	defer close(a.consumed)
	for res := range results {
		if len(results) == 0 {
			time.Sleep(consumePause)
		}
		a.out.Results++
		req, ok := a.tracker.take(res.Seq)
		if !ok {
			a.out.Unmatched++
		}
		rec := a.record(req, res)
		if a.search != nil {
			a.search.take(rec, unexpected(req, res))
		}
		a.devices.keep(req, res)
		if !a.closed {
			a.lagged(rec.Sent - rec.Intended)
		}
		rw.write(res, rec.Warmup)
		if a.aborted.Load() && res.Code == 0 && res.Error != "" {
			a.out.Aborted++
			continue
		}
		a.prog.add(req, res, rec.Latency)
		if rec.Warmup {
			if rec.End() > 0 {
				a.out.WarmupLate++
			}
		} else {
			a.out.Measured++
			if a.firstSent.IsZero() || res.Timestamp.Before(a.firstSent) {
				a.firstSent = res.Timestamp
			}
			if res.Timestamp.After(a.lastSent) {
				a.lastSent = res.Timestamp
			}
		}
		if a.cfg.Sink != nil {
			a.cfg.Sink(rec)
		}
	}
}

// lagged takes how late a request was sent against its schedule; past Config.MaxLag it
// stops the attacker, once: the run is cut off.
func (a *attack) lagged(lag time.Duration) {
	a.prog.lag.Store(int64(lag))
	a.maxLag = max(a.maxLag, lag)
	if a.cfg.MaxLag < 0 || lag <= a.cfg.MaxLag || a.cutAt.Load() != 0 || a.interruptedAt.Load() != 0 {
		return
	}
	a.cutAt.Store(max(int64(time.Since(a.out.Start)), 1))
	a.prog.cutOff.Store(true)
	a.attacker.Stop()
	a.search.halt(fmt.Sprintf("cut off: the generator fell more than %s behind its schedule", a.cfg.MaxLag))
}

// record stamps a result with its intended send time: the schedule's, or in a closed loop
// (which has none) the actual send, so that its latency is the service time.
func (a *attack) record(req *Request, res *vegeta.Result) Record {
	sent := res.Timestamp.Sub(a.out.MeasureStart)
	var rec Record
	if a.closed {
		rec = Record{Req: req, Res: res, Intended: sent, Sent: sent, Latency: res.Latency, Warmup: sent < 0}
	} else {
		at, _ := a.sched.At(res.Seq)
		// Warm-up or not is the planned request's, not the tick's that happened to send it
		// (vegeta pairs ticks and targets out of order), so that which requests are
		// measured is the plan's alone, sharded or not.
		planned := at
		if req != nil {
			planned, _ = a.whole.At(req.Index)
		}
		rec = Record{
			Req:      req,
			Res:      res,
			Intended: at - a.sc.Warmup,
			Sent:     sent,
			Latency:  res.End().Sub(a.out.Start.Add(at)),
			Warmup:   planned < a.sc.Warmup,
		}
	}
	if req != nil {
		rec.Server = a.server(req)
		if a.bal != nil {
			if i := a.bal.serverOf(res.URL); i >= 0 {
				rec.Server = i // where the balancer sent it
			}
		}
	}
	return rec
}

// finish computes the outcome's figures once every result was consumed.
func (a *attack) finish() {
	out, sc := a.out, a.sc
	out.Sent = a.rt.sent.Load()
	out.Ran = sc.Duration
	if a.search != nil {
		a.search.halt("")
		out.Search = a.search.outcome()
		// The search ends where its schedule does, within the duration it is capped at.
		out.Ran = min(max(a.search.endOffset()-sc.Warmup, 0), sc.Duration)
	}
	if ns := a.interruptedAt.Load(); ns != 0 {
		out.Interrupted = true
		out.Ran = min(max(time.Duration(ns)-sc.Warmup, 0), sc.Duration)
	} else if ns := a.cutAt.Load(); ns != 0 {
		out.CutOff = true
		out.Ran = min(max(time.Duration(ns)-sc.Warmup, 0), sc.Duration)
	}
	if !a.closed {
		out.Scheduled = scheduledIn(a.sched, sc.Warmup, sc.Warmup+out.Ran)
		if out.Ran > 0 {
			out.Rate.Target = float64(out.Scheduled) / out.Ran.Seconds()
		}
		out.Rate.MaxLagS = max(a.maxLag, 0).Seconds()
		if out.CutOff {
			out.Rate.CutOff = true
			out.Rate.Dropped = int64(scheduledIn(a.sched, sc.Warmup, sc.Warmup+sc.Duration)) - out.Measured
			out.Rate.Dropped = max(out.Rate.Dropped, 0)
		}
	}
	if out.Measured > 1 {
		if span := a.lastSent.Sub(a.firstSent).Seconds(); span > 0 {
			out.Rate.Achieved = float64(out.Measured-1) / span
		}
	}
	out.Rate.Kept = !out.CutOff && (out.Rate.Target == 0 || out.Rate.Achieved >= KeptRatio*out.Rate.Target)
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
