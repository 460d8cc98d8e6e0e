package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/atlasbench/atlasbench/internal/atomicfile"
	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// Part is one shard's measurements of one mode in a lossless form: the Recorder's
// histograms (HdrHistogram's own V2 compressed encoding, base64) and counters, what Finish
// read of the attack's outcome, the checkers' counts, and the server stats polled. The
// parts of a distributed run merge exactly (MergeParts): counts add, histograms merge, and
// nothing is averaged.
type Part struct {
	Mode         summary.Mode           `json:"mode"`
	Requests     int64                  `json:"requests"`
	Errors       int64                  `json:"errors"`
	ErrorsByKind map[string]int64       `json:"errors_by_kind,omitempty"`
	Latency      RawHist                `json:"latency"`
	Service      RawHist                `json:"service_time"`
	Endpoints    map[string]RawEndpoint `json:"endpoints"`
	// Bounds are the phase boundaries, seconds from the end of warm-up, with the verb that
	// set each; Phases has one more entry than Bounds.
	Bounds  []RawBound            `json:"bounds,omitempty"`
	Phases  []RawCounted          `json:"phases"`
	Seconds []RawSecond           `json:"seconds"`
	Headers map[string]RawLookups `json:"headers,omitempty"` // X-Cache outcomes seen, per cache class
	Servers []RawServer           `json:"servers,omitempty"` // per server instance (driver.Record.Server)

	Outcome   RawOutcome   `json:"outcome"`
	Checks    check.Report `json:"checks"`
	Snapshots []Snapshot   `json:"snapshots"`
	// ServerURLs are the instances the requests were spread over (Input.ServerURLs).
	ServerURLs []string `json:"server_urls,omitempty"`
	// KeyAudit is the audit of the keys the shard's own Redis held after the attack
	// (Input.KeyAudit); nil when there was none.
	KeyAudit *KeyAudit `json:"key_audit,omitempty"`
}

// RawHist is a latency histogram in microseconds (HdrHistogram V2 compressed, base64) and
// its exact maximum.
type RawHist struct {
	HDR   string `json:"hdr"`
	MaxUS int64  `json:"max_us"`
}

// RawCounted is a request count, an error count and their latency histogram.
type RawCounted struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Latency  RawHist `json:"latency"`
}

// RawEndpoint is one route's RawCounted and its X-Cache hits.
type RawEndpoint struct {
	RawCounted
	Hits int64 `json:"hits"`
}

// RawServer is one server instance's RawCounted and cache lookups seen in headers.
type RawServer struct {
	RawCounted
	RawLookups
}

// RawLookups are cache lookups and the hits among them.
type RawLookups struct {
	Hits    int64 `json:"hits"`
	Lookups int64 `json:"lookups"`
}

// RawBound is a phase boundary.
type RawBound struct {
	Verb string  `json:"verb"`
	AtS  float64 `json:"at_s"`
}

// RawSecond is one second of the measured window: results by intended time (N, Errors,
// the latency histogram at 2 significant digits) and requests sent in it.
type RawSecond struct {
	N       int64   `json:"n"`
	Errors  int64   `json:"errors"`
	Sent    int64   `json:"sent"`
	Latency RawHist `json:"latency"`
}

// RawOutcome is what Finish reads of a driver.Outcome.
type RawOutcome struct {
	Mode         summary.Mode `json:"mode"`
	MeasureStart time.Time    `json:"measure_start"`
	RanS         float64      `json:"ran_s"`
	Interrupted  bool         `json:"interrupted,omitempty"`
	Rate         summary.Rate `json:"rate"`
	Events       []RawEvent   `json:"events,omitempty"`
}

// RawEvent is an event that ran (driver.EventRecord without its error's type).
type RawEvent struct {
	Name    string  `json:"name"`
	AtS     float64 `json:"at_s"`
	OffsetS float64 `json:"offset_s"`
	Err     string  `json:"error,omitempty"`
}

// KeepRaw makes the Recorder keep each second's latency histogram in encoded form when it
// reduces it, so that Part can export the per-second series losslessly. Call it before the
// first Add; sharded runs do.
func (r *Recorder) KeepRaw() {
	r.mu.Lock()
	r.keepRaw = true
	r.mu.Unlock()
}

// Part exports the Recorder's state with Finish's input. Call it before Finish.
func (r *Recorder) Part(in Input) (*Part, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var firstErr error
	enc := func(h *hist) RawHist {
		rh, err := h.raw()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return rh
	}
	counted := func(requests, errors int64, h *hist) RawCounted {
		return RawCounted{Requests: requests, Errors: errors, Latency: enc(h)}
	}
	p := &Part{
		Mode: r.modeOf(in), Requests: r.requests, Errors: r.errors, ErrorsByKind: maps.Clone(r.errorsByKind),
		Latency: enc(r.latency), Service: enc(r.service), Endpoints: map[string]RawEndpoint{},
		Headers: map[string]RawLookups{}, Checks: in.Checks, Snapshots: in.Snapshots, ServerURLs: in.ServerURLs, KeyAudit: in.KeyAudit,
	}
	for route, ep := range r.endpoints {
		p.Endpoints[route] = RawEndpoint{RawCounted: counted(ep.requests, ep.errors, ep.lat), Hits: ep.hits}
	}
	for _, b := range r.bounds {
		p.Bounds = append(p.Bounds, RawBound{Verb: b.verb, AtS: b.at})
	}
	for _, ph := range r.phases {
		p.Phases = append(p.Phases, counted(ph.requests, ph.errors, ph.lat))
	}
	for _, s := range r.secs {
		rs := RawSecond{N: s.n, Errors: s.errors, Sent: s.sent}
		switch {
		case s.lat != nil:
			rs.Latency = enc(s.lat)
		case s.enc != nil:
			rs.Latency = *s.enc
		default:
			firstErr = cmpErr(firstErr, errors.New("metrics: part: a reduced second without its histogram (call KeepRaw before Add)"))
		}
		p.Seconds = append(p.Seconds, rs)
	}
	for class, h := range r.headers {
		p.Headers[class] = RawLookups{Hits: h.hits, Lookups: h.lookups}
	}
	for _, sa := range r.servers {
		p.Servers = append(p.Servers, RawServer{RawCounted: counted(sa.requests, sa.errors, sa.lat), RawLookups: RawLookups{sa.hits, sa.lookups}})
	}
	if out := in.Outcome; out != nil {
		p.Outcome = RawOutcome{Mode: out.Mode, MeasureStart: out.MeasureStart, RanS: out.Ran.Seconds(),
			Interrupted: out.Interrupted, Rate: out.Rate}
		for _, e := range out.Events {
			re := RawEvent{Name: e.Name, AtS: e.At.Seconds(), OffsetS: e.Offset.Seconds()}
			if e.Err != nil {
				re.Err = e.Err.Error()
			}
			p.Outcome.Events = append(p.Outcome.Events, re)
		}
	}
	return p, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// MergeParts combines the parts of one mode of a distributed run into a Recorder and the
// Input to Finish it with: counts are summed and histograms merged; the phase boundaries,
// the server stats and the window are the first part's (shard 1 injects the faults and polls
// the same server as the others); the rates are summed. Notes say where the parts disagree.
func MergeParts(parts []*Part) (*Recorder, Input, []summary.Note, error) {
	if len(parts) == 0 {
		return nil, Input{}, nil, errors.New("metrics: merge: no parts")
	}
	first := parts[0]
	r := NewRecorder(Options{Mode: first.Mode})
	var notes []summary.Note
	var err error
	add := func(dst *hist, src RawHist, what string) {
		if e := dst.mergeRaw(src); e != nil && err == nil {
			err = fmt.Errorf("metrics: merge: %s: %w", what, e)
		}
	}
	for _, b := range first.Bounds {
		r.bounds = append(r.bounds, boundary{verb: b.Verb, at: b.AtS})
		r.phases = append(r.phases, &phaseAcc{lat: newHist(histDigits)})
	}
	in := Input{
		Outcome: &driver.Outcome{Mode: first.Outcome.Mode, MeasureStart: first.Outcome.MeasureStart,
			Ran: time.Duration(first.Outcome.RanS * float64(time.Second))},
		Snapshots: first.Snapshots, ServerURLs: first.ServerURLs,
	}
	in.Checks.ErrorsByKind = map[string]int64{}
	for _, e := range first.Outcome.Events {
		ev := driver.EventRecord{Name: e.Name, At: seconds(e.AtS), Offset: seconds(e.OffsetS)}
		if e.Err != "" {
			ev.Err = errors.New(e.Err)
		}
		in.Outcome.Events = append(in.Outcome.Events, ev)
	}
	for k, p := range parts {
		if p.Mode != first.Mode {
			return nil, Input{}, nil, fmt.Errorf("metrics: merge: part %d is mode %s, part 1 %s", k+1, p.Mode, first.Mode)
		}
		r.requests += p.Requests
		r.errors += p.Errors
		for kind, n := range p.ErrorsByKind {
			r.errorsByKind[kind] += n
		}
		add(r.latency, p.Latency, "latency")
		add(r.service, p.Service, "service time")
		for route, ep := range p.Endpoints {
			acc := r.endpoints[route]
			if acc == nil {
				acc = &endpointAcc{lat: newHist(histDigits)}
				r.endpoints[route] = acc
			}
			acc.requests, acc.errors, acc.hits = acc.requests+ep.Requests, acc.errors+ep.Errors, acc.hits+ep.Hits
			add(acc.lat, ep.Latency, route)
		}
		if len(p.Phases) != len(r.phases) {
			notes = append(notes, summary.Notef(summary.NoteMerge, first.Mode, "merge: part %d has %d phases, part 1 %d: the extra ones count in the last", k+1, len(p.Phases), len(r.phases)))
		}
		for i, ph := range p.Phases {
			acc := r.phases[min(i, len(r.phases)-1)]
			acc.requests, acc.errors = acc.requests+ph.Requests, acc.errors+ph.Errors
			add(acc.lat, ph.Latency, fmt.Sprintf("phase %d", i))
		}
		for i, s := range p.Seconds {
			acc := r.mergedSecond(i)
			acc.n, acc.errors, acc.sent = acc.n+s.N, acc.errors+s.Errors, acc.sent+s.Sent
			add(acc.lat, s.Latency, fmt.Sprintf("second %d", i))
		}
		for class, h := range p.Headers {
			acc := r.headers[class]
			if acc == nil {
				acc = &headerAcc{}
				r.headers[class] = acc
			}
			acc.hits, acc.lookups = acc.hits+h.Hits, acc.lookups+h.Lookups
		}
		for i, s := range p.Servers {
			for len(r.servers) <= i {
				r.servers = append(r.servers, &serverAcc{lat: newHist(histDigits)})
			}
			acc := r.servers[i]
			acc.requests, acc.errors = acc.requests+s.Requests, acc.errors+s.Errors
			acc.hits, acc.lookups = acc.hits+s.Hits, acc.lookups+s.Lookups
			add(acc.lat, s.Latency, fmt.Sprintf("server %d", i+1))
		}
		c := &in.Checks
		c.Checked += p.Checks.Checked
		c.Errors += p.Checks.Errors
		for kind, n := range p.Checks.ErrorsByKind {
			c.ErrorsByKind[kind] += n
		}
		c.Isolation += p.Checks.Isolation
		c.Owners, c.Ownerless = c.Owners+p.Checks.Owners, c.Ownerless+p.Checks.Ownerless
		if k == 0 || p.Checks.IsolationNA == "" {
			c.IsolationNA = p.Checks.IsolationNA // not applicable only when no part could judge it
		}
		c.Tier += p.Checks.Tier
		c.Stale += p.Checks.Stale
		c.StaleMax = max(c.StaleMax, p.Checks.StaleMax)
		c.Examples = append(c.Examples, p.Checks.Examples...)
		if a := p.KeyAudit; a != nil {
			// Each shard's Redis is its own: the audits add up.
			if in.KeyAudit == nil {
				in.KeyAudit = &KeyAudit{}
			}
			in.KeyAudit.Audited += a.Audited
			in.KeyAudit.Foreign = append(in.KeyAudit.Foreign, a.Foreign...)
		}
		o := in.Outcome
		o.Rate.Target += p.Outcome.Rate.Target
		o.Rate.Achieved += p.Outcome.Rate.Achieved
		o.Interrupted = o.Interrupted || p.Outcome.Interrupted
		o.Rate.CutOff = o.Rate.CutOff || p.Outcome.Rate.CutOff
		o.Rate.Dropped += p.Outcome.Rate.Dropped
		o.Rate.MaxLagS = max(o.Rate.MaxLagS, p.Outcome.Rate.MaxLagS)
		if d := p.Outcome.MeasureStart.Sub(first.Outcome.MeasureStart).Abs(); d > time.Second {
			notes = append(notes, summary.Notef(summary.NoteMerge, first.Mode, "merge: part %d measured from %s, part 1 from %s (%.1fs apart): server figures cover part 1's window",
				k+1, p.Outcome.MeasureStart.UTC().Format(time.RFC3339Nano), first.Outcome.MeasureStart.UTC().Format(time.RFC3339Nano), d.Seconds()))
		}
	}
	o := in.Outcome
	o.Rate.Kept = !o.Rate.CutOff && (o.Rate.Target == 0 || o.Rate.Achieved >= driver.KeptRatio*o.Rate.Target)
	in.Servers = len(r.servers)
	return r, in, notes, err
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// mergedSecond returns second i's accumulator with a live histogram, for merging.
func (r *Recorder) mergedSecond(i int) *secondAcc {
	for len(r.secs) <= i {
		r.secs = append(r.secs, &secondAcc{lat: newHist(secondDigits)})
	}
	r.newestSec = max(r.newestSec, i)
	return r.secs[i]
}

// raw encodes x.
func (x *hist) raw() (RawHist, error) {
	b, err := x.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return RawHist{}, fmt.Errorf("metrics: encode histogram: %w", err)
	}
	return RawHist{HDR: string(b), MaxUS: x.max}, nil
}

// mergeRaw adds an encoded histogram to x.
func (x *hist) mergeRaw(rh RawHist) error {
	if rh.HDR == "" {
		return errors.New("empty histogram")
	}
	h, err := hdrhistogram.Decode([]byte(rh.HDR))
	if err != nil {
		return err
	}
	if dropped := x.h.Merge(h); dropped > 0 {
		return fmt.Errorf("%d values outside the histogram's range", dropped)
	}
	x.max = max(x.max, rh.MaxUS)
	return nil
}

// PartFile is the name of a mode's part in a shard's run directory.
func PartFile(mode string) string { return "shard-" + mode + ".json" }

// WritePart stores p as dir/PartFile(p.Mode), atomically.
func WritePart(dir string, p *Part) error {
	err := atomicfile.Write(filepath.Join(dir, PartFile(string(p.Mode))), func(w io.Writer) error {
		return json.NewEncoder(w).Encode(p)
	})
	if err != nil {
		return fmt.Errorf("metrics: part: %w", err)
	}
	return nil
}

// ReadPart loads a part written by WritePart.
func ReadPart(path string) (*Part, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: part: %w", err)
	}
	var p Part
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("metrics: part %s: %w", path, err)
	}
	if p.Mode == "" || len(p.Phases) == 0 {
		return nil, fmt.Errorf("metrics: part %s: not a shard's measurements (no mode or phases)", path)
	}
	return &p, nil
}
