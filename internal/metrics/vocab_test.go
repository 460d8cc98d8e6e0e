package metrics

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// Every fault verb either opens one of the summary's fault phases or ends a fault, and
// every fault phase the summary names is opened by some verb.
func TestFaultVerbsOpenSummaryPhases(t *testing.T) {
	opened := map[string]bool{}
	for _, verb := range scenarios.FaultVerbs() {
		phase, opens := faultPhases[verb]
		switch {
		case opens && closers[verb]:
			t.Errorf("%s both opens %s and ends a fault", verb, phase)
		case opens && !slices.Contains(summary.FaultPhases(), phase):
			t.Errorf("%s opens %q, not one of summary.FaultPhases()", verb, phase)
		case !opens && !closers[verb]:
			t.Errorf("%s neither opens a phase nor ends a fault", verb)
		}
		opened[phase] = true
	}
	for _, phase := range summary.FaultPhases() {
		if !opened[phase] {
			t.Errorf("no fault verb opens %s", phase)
		}
	}
	// The phases that are not a fault's are neither listed as fault phases nor taken for one.
	for _, phase := range []string{summary.PhaseSteady, summary.PhaseRecovery} {
		if slices.Contains(summary.FaultPhases(), phase) {
			t.Errorf("summary.FaultPhases() lists %q, which is not a fault's phase", phase)
		}
		if summary.IsFaultPhase(phase) {
			t.Errorf("IsFaultPhase(%s) = true", phase)
		}
	}
	for verb := range instant {
		if _, ok := faultPhases[verb]; !ok {
			t.Errorf("instant %s opens no phase", verb)
		}
	}
}

// fill sets every number of v (a struct, pointer or map, recursively) to x; maps get one key.
func fill(v reflect.Value, x uint64) {
	switch v.Kind() {
	case reflect.Uint64, reflect.Uint, reflect.Uint32:
		v.SetUint(x)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), x)
		}
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), x)
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		key := reflect.New(v.Type().Key()).Elem()
		key.SetString("k")
		val := reflect.New(v.Type().Elem()).Elem()
		fill(val, x)
		v.SetMapIndex(key, val)
	}
}

// check reports every number of v that is not want, by its path.
func checkAll(t *testing.T, path string, v reflect.Value, want uint64) {
	switch v.Kind() {
	case reflect.Uint64, reflect.Uint, reflect.Uint32:
		if v.Uint() != want {
			t.Errorf("%s = %d, want %d", path, v.Uint(), want)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			checkAll(t, path+"."+v.Type().Field(i).Name, v.Field(i), want)
		}
	case reflect.Pointer:
		if v.IsNil() {
			t.Errorf("%s is nil", path)
			return
		}
		checkAll(t, path, v.Elem(), want)
	case reflect.Map:
		if v.Len() == 0 {
			t.Errorf("%s is empty", path)
		}
		for _, k := range v.MapKeys() {
			checkAll(t, path+"["+k.String()+"]", v.MapIndex(k), want)
		}
	}
}

func TestAddStatsSumsEveryCounter(t *testing.T) {
	var a, b atlas.Stats
	fill(reflect.ValueOf(&a).Elem(), 1)
	fill(reflect.ValueOf(&b).Elem(), 2)
	sum := addStats(a, b)
	checkAll(t, "Stats", reflect.ValueOf(sum), 3)
	// Without Redis stats on one side, the other's are kept.
	b.Redis = nil
	if got := addStats(a, b).Redis; got == nil || got.KeysRead != 1 {
		t.Errorf("Redis of a + b without Redis = %+v, want a's", got)
	}
}

// Finish builds the whole of a mode's figures: the mode a target server reports, and the
// keys the audit found foreign as isolation violations (beside the checker's, here one
// tier violation); Part carries the same mode.
func TestFinishModeAndKeyAudit(t *testing.T) {
	out := &driver.Outcome{Mode: summary.ModeTarget, MeasureStart: origin, Ran: time.Second}
	for _, tc := range []struct {
		opt   summary.Mode
		snaps []Snapshot
		want  summary.Mode
	}{
		{summary.ModeNoCache, []Snapshot{{At: origin, Mode: "cache"}}, summary.ModeNoCache},
		{summary.ModeTarget, []Snapshot{{At: origin, Mode: "nocache"}, {At: origin.Add(time.Second), Mode: "cache"}}, summary.ModeNoCache},
		{summary.ModeTarget, nil, summary.ModeCache},
		{"", nil, summary.ModeTarget},
	} {
		rec := NewRecorder(Options{Mode: tc.opt})
		rec.KeepRaw()
		in := Input{Outcome: out, Snapshots: tc.snaps}
		part, err := rec.Part(in)
		if err != nil {
			t.Fatal(err)
		}
		if f, _ := rec.Finish(in); f.Mode != tc.want || part.Mode != tc.want {
			t.Errorf("Options.Mode %q, snapshots %v: figures of %q, part of %q; want %q", tc.opt, tc.snaps, f.Mode, part.Mode, tc.want)
		}
	}

	rec := NewRecorder(Options{Mode: summary.ModeCache})
	f, _ := rec.Finish(Input{Outcome: out, Checks: check.Report{Tier: 1},
		KeyAudit: &KeyAudit{Audited: 40, Foreign: []string{"atlas:evil", "atlas:worse"}}})
	if f.IsolationViolations != 3 || len(f.Examples) != 2 || f.Examples[1].Got != "atlas:worse" || f.Examples[0].Kind != "cache-key" ||
		f.Extra["cache_keys_audited"] != 40 || f.Extra["tier_violations"] != 1 {
		t.Errorf("key audit: %d violations, examples %+v, extra %v", f.IsolationViolations, f.Examples, f.Extra)
	}
}
