package summary

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// summary.json names the mode once; Read gives every figures its mode back, by run mode.
func TestModeOnce(t *testing.T) {
	for _, tc := range []struct {
		mode, targetMode Mode
		nocache          bool
		want             Mode
	}{
		{ModeBoth, "", true, ModeCache},       // both: the top-level figures are the cache's
		{ModeNoCache, "", false, ModeNoCache}, // one mode: the run's
		{ModeTarget, ModeNoCache, false, ModeNoCache},
		{ModeTarget, "", false, ModeCache}, // a target that said nothing: cache
	} {
		s := &Summary{Scenario: "smoke", Mode: tc.mode, Env: Env{TargetMode: tc.targetMode}, Figures: Figures{Mode: "wrong"}}
		if tc.nocache {
			s.NoCache = &Figures{Mode: "wrong"}
		}
		dir := t.TempDir()
		if err := Write(dir, s); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, FileName))
		if n := bytes.Count(data, []byte(`"mode":`)); n != 1 {
			t.Errorf("%s: %d \"mode\" fields in summary.json, want 1", tc.mode, n)
		}
		back, err := Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		if back.Figures.Mode != tc.want || tc.nocache && back.NoCache.Mode != ModeNoCache {
			t.Errorf("%s: figures' mode %q (nocache %v), want %q", tc.mode, back.Figures.Mode, back.NoCache, tc.want)
		}
	}
}

// A v1 summary still reads: string notes, the no-cache figures' own mode, and the Redis
// Cluster slot ranges it called shards.
func TestReadV1(t *testing.T) {
	v1 := `{"schema": "atlasbench/summary/v1", "scenario": "cluster", "mode": "both",
  "notes": ["embedded Redis: latencies not representative"],
  "redis": {"topology": {"kind": "cluster", "masters": 2, "replicas": 0}, "shards": [{"name": "shard-1", "slots": "0-8191", "lookups": 5, "hit_rate": 0.8, "bypass_share": 0}]},
  "series": {"hit_rate_by_shard": {"shard-1": [0.8]}},
  "phases": [{"name": "steady"}, {"name": "redis-down", "shards": [{"name": "shard-1", "slots": "0-8191", "lookups": 2}]}],
  "nocache": {"mode": "nocache", "requests": 7},
  "thresholds": [], "pass": true}`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Notes) != 1 || s.Notes[0] != (Note{Kind: NoteOther, Text: "embedded Redis: latencies not representative"}) {
		t.Errorf("notes %+v", s.Notes)
	}
	if s.Figures.Mode != ModeCache || s.NoCache == nil || s.NoCache.Mode != ModeNoCache || s.NoCache.Requests != 7 {
		t.Errorf("modes: figures %q, nocache %+v", s.Figures.Mode, s.NoCache)
	}
	if s.Redis == nil || len(s.Redis.SlotRanges) != 1 || s.Redis.SlotRanges[0].Slots != "0-8191" ||
		len(s.Series.HitRateBySlotRange["shard-1"]) != 1 || len(s.Phases) != 2 || s.Phases[1].SlotRanges[0].Lookups != 2 {
		t.Errorf("slot ranges: redis %+v, series %+v, phases %+v", s.Redis, s.Series, s.Phases)
	}
}

// A note prints with its shard and mode in front; a v2 note round-trips whole.
func TestNoteString(t *testing.T) {
	n := Note{Kind: NoteStats, Mode: ModeCache, Text: "2 stats polls failed", Shard: "2/3"}
	if got := n.String(); got != "shard 2/3: cache: 2 stats polls failed" {
		t.Errorf("String %q", got)
	}
	dir := t.TempDir()
	if err := Write(dir, &Summary{Scenario: "x", Mode: ModeCache, Notes: []Note{n}}); err != nil {
		t.Fatal(err)
	}
	back, err := Read(dir)
	if err != nil || len(back.Notes) != 1 || back.Notes[0] != n {
		t.Errorf("round trip: %v, %+v", err, back)
	}
}
