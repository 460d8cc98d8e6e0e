package driver

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"1/1", Shard{1, 1}, true},     // a single shard is still a shard
		{"2/3", Shard{2, 3}, true},     // the usual form
		{" 3 / 3 ", Shard{3, 3}, true}, // spaces tolerated
		{"0/3", Shard{}, false},        // 1-based
		{"4/3", Shard{}, false},        // beyond the count
		{"1/0", Shard{}, false},        // no shards
		{"2", Shard{}, false},          // no count
		{"a/b", Shard{}, false},        // not numbers
		{"-1/2", Shard{}, false},       // negative
	} {
		got, err := ParseShard(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if (Shard{}).Sharded() || !(Shard{}).Owns(7) {
		t.Error("the zero Shard must be the whole run")
	}
	if s := (Shard{2, 3}); !s.Owns(2) || !s.Owns(5) || s.Owns(1) || s.Owns(3) || s.String() != "2/3" {
		t.Errorf("shard 2/3 owns users 2, 5, … only, and prints as 2/3")
	}
}

// The shards' schedules partition the whole schedule, and each shard plans exactly the
// whole plan's requests of its own users, in order, with the same indices.
func TestShardsPartitionThePlan(t *testing.T) {
	sc := scenario(t, fmt.Sprintf(mixedYAML, 7))
	whole := sc.Schedule()
	now := time.Unix(1_700_000_000, 0)
	all := newPlan(t, sc, now)
	var wholeReqs []*Request
	for range whole.Hits() {
		r, err := all.Next()
		if err != nil {
			t.Fatal(err)
		}
		wholeReqs = append(wholeReqs, r)
	}
	const n = 3
	seen := make([]int, whole.Hits())
	for i := 1; i <= n; i++ {
		s := Shard{Index: i, Count: n}
		ss := newShardSchedule(sc, whole, s)
		p := newPlan(t, sc, now)
		for k := range ss.Hits() {
			r, err := p.nextOwned(s)
			if err != nil {
				t.Fatal(err)
			}
			g := ss.idx[k]
			want := wholeReqs[g]
			if r.Index != g || r.Path != want.Path || r.UserID != want.UserID || r.Tier != want.Tier || string(r.Body) != string(want.Body) {
				t.Fatalf("shard %s hit %d: planned %s (index %d), the whole plan's request %d is %s", s, k, r, r.Index, g, want)
			}
			if !s.Owns(r.UserIndex) {
				t.Fatalf("shard %s planned user %d", s, r.UserIndex)
			}
			at, _ := ss.At(k)
			if wat, _ := whole.At(g); at != wat {
				t.Fatalf("shard %s hit %d at %v, the whole run sends it at %v", s, k, at, wat)
			}
			seen[g]++
		}
		if _, ok := ss.At(ss.Hits()); ok {
			t.Errorf("shard %s: At past the last hit is ok", s)
		}
	}
	for g, c := range seen {
		if c != 1 {
			t.Fatalf("request %d planned by %d shards, want exactly 1", g, c)
		}
	}
}

// Three shards started at one StartAt send, together, exactly the unsharded run's requests,
// and measure the same ones.
func TestRunShardsAddUp(t *testing.T) {
	srv := echoServer(t, nil)
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "300ms", "1s", 150))
	count := func(recs []Record) (measured int, routes map[string]int) {
		routes = map[string]int{}
		for _, r := range recs {
			if r.Req == nil {
				t.Fatalf("unmatched result seq %d", r.Res.Seq)
			}
			if !r.Warmup {
				measured++
				routes[r.Req.Route]++
			}
		}
		return measured, routes
	}
	run := func(s Shard, at time.Time) (*Outcome, []Record) {
		var recs []Record
		out, err := Run(context.Background(), Config{
			BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Mode: "cache", Shard: s, StartAt: at,
			Sink: func(r Record) { recs = append(recs, r) },
		})
		if err != nil {
			t.Error(err)
		}
		return out, recs
	}
	_, wholeRecs := run(Shard{}, time.Time{})
	wantMeasured, wantRoutes := count(wholeRecs)

	startAt := time.Now().Add(sc.Warmup + 300*time.Millisecond)
	var wg sync.WaitGroup
	outs := make([]*Outcome, 3)
	recs := make([][]Record, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], recs[i] = run(Shard{Index: i + 1, Count: 3}, startAt)
		}()
	}
	wg.Wait()
	total, measured, routes := 0, 0, map[string]int{}
	var target float64
	for i := range 3 {
		m, rs := count(recs[i])
		total, measured = total+len(recs[i]), measured+m
		for k, v := range rs {
			routes[k] += v
		}
		target += outs[i].Rate.Target
		if outs[i].Late > 200*time.Millisecond {
			// Not a failure of the code under test: a starved machine started the goroutine late.
			t.Logf("shard %d started %v late", i+1, outs[i].Late)
		}
		if d := outs[i].MeasureStart.Sub(startAt); d < 0 {
			t.Errorf("shard %d measured from %v, before StartAt %v", i+1, outs[i].MeasureStart, startAt)
		}
	}
	if total != len(wholeRecs) || measured != wantMeasured {
		t.Errorf("shards sent %d (measured %d), unsharded %d (measured %d)", total, measured, len(wholeRecs), wantMeasured)
	}
	for k, v := range wantRoutes {
		if routes[k] != v {
			t.Errorf("route %s: shards measured %d, unsharded %d", k, routes[k], v)
		}
	}
	if target < 149 || target > 151 {
		t.Errorf("shards' target rates add up to %v, want 150", target)
	}
}

// A shard whose StartAt has passed starts at once and says how late it is.
func TestRunStartAtPassed(t *testing.T) {
	srv := echoServer(t, nil)
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "200ms", 50))
	out, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Scenario: sc, Secret: testSecret, Mode: "cache",
		Shard: Shard{Index: 1, Count: 2}, StartAt: time.Now().Add(-3 * time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Late < 3*time.Second || out.Results == 0 {
		t.Errorf("late %v with %d results, want >= 3s and some results", out.Late, out.Results)
	}
}

// Cancelled while waiting for StartAt: nothing sent, interrupted.
func TestRunStartAtCancelled(t *testing.T) {
	srv := echoServer(t, nil)
	sc := scenario(t, fmt.Sprintf(getOnlyYAML, "0s", "200ms", 50))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	out, err := Run(ctx, Config{BaseURL: srv.URL, Scenario: sc, Secret: testSecret, StartAt: time.Now().Add(time.Hour)})
	if err != nil || !out.Interrupted || out.Sent != 0 {
		t.Errorf("outcome %+v, err %v: want interrupted with nothing sent", out, err)
	}
}
