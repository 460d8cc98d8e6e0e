package metrics

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// Three recorders that each saw a third of the records, exported, sent through JSON and
// merged, give exactly the figures of one recorder that saw them all: percentiles from the
// merged histograms, counts summed, the server's counters once.
func TestMergePartsEqualsWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	routes := []struct{ route, class string }{
		{"GET /api/me", "userProfile"}, {"GET /api/me/tier", "tier"}, {"POST /api/conversations", "writes"},
	}
	var snaps []Snapshot
	for i := -1; i <= 41; i++ {
		x := float64(i) + 1
		snaps = append(snaps, snap(float64(i), cs(x, 80, 20, 0, 0), cs(x, 30, 5, 5, 0), cs(x, 10, 10, 0, 0), cs(x, 50, 50, 0, 0),
			map[string]uint64{"tier": uint64(20 * x), "writes": uint64(5 * x)}))
	}
	whole := NewRecorder(Options{Mode: "cache"})
	const n = 3
	parts := make([]*Recorder, n)
	for i := range parts {
		parts[i] = NewRecorder(Options{Mode: "cache"})
		parts[i].KeepRaw() // 40 s > secondLag: some seconds are reduced before the export
	}
	// Shard 1 injects the faults, which take effect a little after their planned time; the
	// others mark the planned time. No record falls in between here (records every 1/150 s);
	// one that did would count in the next phase in the merge.
	faults := []driver.EventRecord{{Name: "kill-redis", At: 10*time.Second + time.Millisecond, Offset: 10*time.Second + 5*time.Millisecond},
		{Name: "start-redis", At: 20*time.Second + time.Millisecond, Offset: 20*time.Second + 6*time.Millisecond}}
	for _, e := range faults {
		whole.Event(e)
		parts[0].Event(e)
		for _, p := range parts[1:] {
			m := e
			m.Offset = e.At // the other shards mark the planned time
			p.Event(m)
		}
	}
	for i := range 6000 {
		at := float64(i) / 150 // 40 s
		rt := routes[rng.IntN(len(routes))]
		lat := time.Duration(200+rng.ExpFloat64()*3000) * time.Microsecond
		code, errKind, hdr := 200, "", "X-Cache: HIT"
		if rng.IntN(50) == 0 {
			code, errKind = 503, "5xx"
		}
		if rng.IntN(3) == 0 {
			hdr = "X-Cache: MISS"
		}
		v := verdict(rt.route, rt.class, at, lat, lat/2, code, errKind, hdr, "X-Atlas-Tier-Cache: HIT")
		v.Server = rng.IntN(2)
		whole.Add(v)
		parts[rng.IntN(n)].Add(v)
	}
	out := &driver.Outcome{Mode: "cache", MeasureStart: origin, Ran: 40 * time.Second, Events: faults,
		Rate: summary.Rate{Target: 150, Achieved: 149, Kept: true}}
	checks := check.Report{Checked: 6000, Isolation: 1, Stale: 2, Tier: 3, ErrorsByKind: map[string]int64{}}
	// Each shard audits its own Redis's keys; the whole run's audit is their sum.
	audits := []*KeyAudit{{Audited: 10, Foreign: []string{"atlas:evil"}}, {Audited: 7}, nil}
	wantFigs, _ := whole.Finish(Input{Outcome: out, Checks: checks, Snapshots: snaps,
		KeyAudit: &KeyAudit{Audited: 17, Foreign: []string{"atlas:evil"}}})

	var exported []*Part
	for i, r := range parts {
		o := *out
		o.Rate = summary.Rate{Target: 50, Achieved: 149.0 / 3}
		c := check.Report{}
		if i == 0 {
			c = checks // the checkers' counts add up; here shard 1 found them all
		}
		p, err := r.Part(Input{Outcome: &o, Checks: c, Snapshots: snaps, KeyAudit: audits[i]})
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Part
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		exported = append(exported, &back)
	}
	rec, in, notes, err := MergeParts(exported)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) > 0 {
		t.Errorf("notes: %v", notes)
	}
	got, _ := rec.Finish(in)
	if !near(got.Rate.Achieved, 149, 1e-9) || got.Rate.Target != 150 || !got.Rate.Kept {
		t.Errorf("rate %+v, want the shards' summed", got.Rate)
	}
	got.Rate, wantFigs.Rate = summary.Rate{}, summary.Rate{}
	gj, _ := json.MarshalIndent(got, "", " ")
	wj, _ := json.MarshalIndent(wantFigs, "", " ")
	if string(gj) != string(wj) {
		t.Errorf("merged figures differ from the whole recorder's:\n got %s\nwant %s", gj, wj)
	}
	if got.Extra["cache_keys_audited"] != 17 || got.IsolationViolations != checks.IsolationViolations()+1 {
		t.Errorf("key audit: %v keys audited, %d isolation violations; want 17 and the checkers' + 1", got.Extra["cache_keys_audited"], got.IsolationViolations)
	}
	if got.Requests != 6000 || got.Latency.P99 == 0 || len(got.Phases) != 3 {
		t.Errorf("requests %d p99 %v phases %d", got.Requests, got.Latency.P99, len(got.Phases))
	}
}

// A part that lost a reduced second's histogram (KeepRaw not called) cannot be exported.
func TestPartNeedsKeepRaw(t *testing.T) {
	r := NewRecorder(Options{Mode: "cache"})
	for i := range 80 {
		r.Add(verdict("GET /api/me", "userProfile", float64(i), time.Millisecond, time.Millisecond, 200, ""))
	}
	if _, err := r.Part(Input{Outcome: &driver.Outcome{Ran: 80 * time.Second}}); err == nil {
		t.Error("export of a recorder whose old seconds were recycled succeeded")
	}
}

// Corrupt histograms are refused with what they belong to.
func TestMergePartsCorrupt(t *testing.T) {
	r := NewRecorder(Options{Mode: "cache"})
	r.Add(verdict("GET /api/me", "userProfile", 0.5, time.Millisecond, time.Millisecond, 200, ""))
	p, err := r.Part(Input{Outcome: &driver.Outcome{Ran: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ep := p.Endpoints["GET /api/me"]
	ep.Latency.HDR = "not-base64!"
	p.Endpoints["GET /api/me"] = ep
	if _, _, _, err := MergeParts([]*Part{p}); err == nil {
		t.Error("a corrupt endpoint histogram merged")
	}
}
