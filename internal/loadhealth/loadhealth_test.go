package loadhealth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/testutil"
)

// fakeProc is a /proc fixture the test rewrites between samples.
type fakeProc struct {
	t    *testing.T
	root string
}

func newFakeProc(t *testing.T, psi bool) *fakeProc {
	root := t.TempDir()
	if psi {
		if err := os.MkdirAll(filepath.Join(root, "pressure"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &fakeProc{t: t, root: root}
}

// set writes the counters: PSI some total (µs; ignored without PSI), the aggregate CPU
// line's total ticks (all idle but steal) and its steal ticks, and the 1-minute load.
func (f *fakeProc) set(psiUS int64, totalTicks, stealTicks uint64, load1 float64) {
	f.t.Helper()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(f.root, name), []byte(body), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(f.root, "pressure")); err == nil {
		write("pressure/cpu", fmt.Sprintf("some avg10=1.00 avg60=2.00 avg300=3.00 total=%d\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", psiUS))
	}
	idle := totalTicks - stealTicks
	write("stat", fmt.Sprintf("cpu  0 0 0 %d 0 0 0 %d 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\nintr 1\n", idle, stealTicks))
	write("loadavg", fmt.Sprintf("%.2f 1.00 0.50 3/200 1234\n", load1))
}

// clock is a time the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time                { return c.t }
func (c *clock) advance(d time.Duration)       { c.t = c.t.Add(d) }
func newClock() *clock                         { return &clock{t: time.Unix(1_700_000_000, 0)} }
func approx(a, b float64) bool                 { return a-b < 1e-6 && b-a < 1e-6 }
func pointString(p summary.HealthPoint) string { return fmt.Sprintf("%+v", p) }

// TestSamplerWithPSI reads PSI, steal and load from fixtures: each point is the share of
// its own second, and the lags taken between two samples give that point's p99.
func TestSamplerWithPSI(t *testing.T) {
	proc, c := newFakeProc(t, true), newClock()
	proc.set(1_000_000, 1000, 0, 0.5)
	s := newSampler(Options{Proc: proc.root, CPUs: 2}, c.now)
	// Second 1: PSI some 620 ms of 1 s, 5 of 100 ticks stolen, lags 1..100 ms.
	for i := 1; i <= 100; i++ {
		s.Lag(time.Duration(i) * time.Millisecond)
	}
	c.advance(time.Second)
	proc.set(1_620_000, 1100, 5, 3.5)
	s.sample()
	// Second 2: PSI some 100 ms, nothing stolen, no request sent.
	c.advance(time.Second)
	proc.set(1_720_000, 1200, 5, 2.5)
	s.sample()
	h := s.Stop()
	if len(h.Timeline) != 2 || !h.PSI || !h.Steal || h.CPUs != 2 {
		t.Fatalf("health %+v", h)
	}
	p1, p2 := h.Timeline[0], h.Timeline[1]
	if !approx(p1.T, 1) || !approx(p1.PSISome, 0.62) || !approx(p1.Steal, 0.05) || p1.Load1 != 3.5 {
		t.Errorf("second 1: %s", pointString(p1))
	}
	if p1.LagP99MS < 98 || p1.LagP99MS > 101 || p1.LagMaxMS < 99 || p1.LagMaxMS > 101 {
		t.Errorf("second 1 lag p99 %v max %v, want about 99 and 100", p1.LagP99MS, p1.LagMaxMS)
	}
	if !approx(p2.PSISome, 0.1) || p2.Steal != 0 || p2.LagP99MS != 0 {
		t.Errorf("second 2: %s", pointString(p2))
	}
	a := h.Aggregates
	if !approx(a.PSISomeMean, 0.36) || !approx(a.PSISomeMax, 0.62) || !approx(a.StealMean, 0.025) || a.Load1Max != 3.5 || a.Load1Mean != 3 {
		t.Errorf("aggregates %+v", a)
	}
	if a.LagP99MS < 98 || a.LagP99MS > 101 || a.LagP50MS < 49 || a.LagP50MS > 51 {
		t.Errorf("window lag p50 %v p99 %v, want about 50 and 99 (every lag taken)", a.LagP50MS, a.LagP99MS)
	}
	// By the default rule, second 1 is saturated (PSI 62% > 50%, lag p99 > 50 ms): half the
	// window, above the 20% the rule allows.
	if !p1.Saturated || p2.Saturated || !h.Saturated || a.SaturatedShare != 0.5 || len(h.Reasons) != 2 {
		t.Fatalf("saturated %v (%v, %v), share %v, reasons %q", h.Saturated, p1.Saturated, p2.Saturated, a.SaturatedShare, h.Reasons)
	}
	want := "generator health: the machine was saturated (PSI cpu some avg 36.0%, scheduling lag p99 "
	if f := Finding(&h); !strings.HasPrefix(f, want) || !strings.HasSuffix(f, "ms): latency verdicts are INCONCLUSIVE") {
		t.Errorf("finding %q, want it to start %q", f, want)
	}
	if again := s.Stop(); len(again.Timeline) != 2 {
		t.Errorf("a second Stop changed the health: %+v", again)
	}
}

// TestSamplerWithoutPSI: a machine without /proc/pressure/cpu (an old kernel, psi=0) has
// PSI figures of -1, and the rule judges by the rest.
func TestSamplerWithoutPSI(t *testing.T) {
	proc, c := newFakeProc(t, false), newClock()
	proc.set(0, 1000, 0, 1)
	s := newSampler(Options{Proc: proc.root}, c.now)
	for range 3 {
		c.advance(time.Second)
		proc.set(0, 1000+100*uint64(c.t.Unix()%10), 30*uint64(c.t.Unix()%10), 1)
		s.sample()
	}
	h := s.Stop()
	if h.PSI || !h.Steal || len(h.Timeline) != 3 {
		t.Fatalf("health %+v", h)
	}
	for _, p := range h.Timeline {
		if p.PSISome != -1 {
			t.Errorf("PSI %v without PSI, want -1", p.PSISome)
		}
	}
	if h.Aggregates.PSISomeMean != -1 || h.Aggregates.PSISomeMax != -1 {
		t.Errorf("aggregates %+v, want PSI -1", h.Aggregates)
	}
	// 30 of 100 ticks stolen each second: above the default 10%.
	if !h.Saturated || len(h.Reasons) != 1 || !strings.HasPrefix(h.Reasons[0], "CPU steal avg 30.0%") {
		t.Errorf("saturated %v, reasons %q, want steal", h.Saturated, h.Reasons)
	}
}

// TestSamplerNoProc: without /proc at all, the machine's figures are unknown (-1 or 0) and
// nothing is judged saturated on them; the sampler still runs on its own clock.
func TestSamplerNoProc(t *testing.T) {
	s := Start(context.Background(), Options{Proc: filepath.Join(t.TempDir(), "none"), Every: 100 * time.Millisecond,
		Rule: summary.SaturationRule{PSISome: 0.01, Steal: 0.01, Share: 0}})
	testutil.WaitFor(t, "two samples", func() bool { return len(s.Snapshot().Timeline) >= 2 })
	h := s.Stop()
	if h.PSI || h.Steal || len(h.Timeline) < 2 || h.Saturated {
		t.Fatalf("health %+v", h)
	}
}

// TestJudge is the saturation rule on timelines: a point is saturated when one limit is
// exceeded, the window when more than the rule's share of its points are.
func TestJudge(t *testing.T) {
	calm := summary.HealthPoint{LagP99MS: 2, SchedP99MS: 1, PSISome: 0.1, Steal: 0}
	lagging := summary.HealthPoint{LagP99MS: 180, SchedP99MS: 1, PSISome: 0.1, Steal: 0}
	pressed := summary.HealthPoint{LagP99MS: 2, SchedP99MS: 1, PSISome: 0.8, Steal: 0}
	stolen := summary.HealthPoint{LagP99MS: 2, SchedP99MS: 1, PSISome: -1, Steal: 0.3}
	sched := summary.HealthPoint{LagP99MS: 2, SchedP99MS: 90, PSISome: 0.1, Steal: -1}
	unknown := summary.HealthPoint{LagP99MS: 2, SchedP99MS: 1, PSISome: -1, Steal: -1}
	rep := func(p summary.HealthPoint, n int) []summary.HealthPoint {
		out := make([]summary.HealthPoint, n)
		for i := range out {
			out[i] = p
		}
		return out
	}
	cat := func(parts ...[]summary.HealthPoint) []summary.HealthPoint {
		var out []summary.HealthPoint
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		rule      summary.SaturationRule
		timeline  []summary.HealthPoint
		saturated bool
		share     float64
		reasons   []string // prefixes
	}{
		// A calm window is not saturated.
		{"calm", DefaultRule(), rep(calm, 10), false, 0, nil},
		// One bad second in ten is 10%, under the default 20%: a blip, not saturation.
		{"one lagging second is a blip", DefaultRule(), cat(rep(calm, 9), rep(lagging, 1)), false, 0.1, nil},
		// Three in ten is over 20%.
		{"lag", DefaultRule(), cat(rep(calm, 7), rep(lagging, 3)), true, 0.3, []string{"scheduling lag p99 "}},
		{"PSI", DefaultRule(), cat(rep(calm, 5), rep(pressed, 5)), true, 0.5, []string{"PSI cpu some avg 45.0%"}},
		{"steal", DefaultRule(), rep(stolen, 4), true, 1, []string{"CPU steal avg 30.0%"}},
		{"scheduler latency", DefaultRule(), rep(sched, 4), true, 1, []string{"harness Go scheduler latency p99 90.0 ms"}},
		// Every limit broken somewhere: one reason each, PSI first.
		{"all", DefaultRule(), cat(rep(lagging, 2), rep(pressed, 2), rep(stolen, 2), rep(sched, 2)), true, 1,
			[]string{"PSI cpu some", "scheduling lag", "harness Go scheduler", "CPU steal"}},
		// Unknown figures (-1) break no limit.
		{"unknown figures", DefaultRule(), rep(unknown, 5), false, 0, nil},
		// A limit of 0 is not checked.
		{"PSI limit off", summary.SaturationRule{LagP99MS: 50, Share: 0.2}, rep(pressed, 5), false, 0, nil},
		// off: never saturated, whatever the figures.
		{"off", summary.SaturationRule{Off: true}, rep(lagging, 5), false, 0, nil},
		// A stricter share: any saturated second makes the window saturated.
		{"share 0", summary.SaturationRule{LagP99MS: 50}, cat(rep(calm, 9), rep(lagging, 1)), true, 0.1, []string{"scheduling lag"}},
		// No samples: nothing to judge.
		{"empty", DefaultRule(), nil, false, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := summary.GeneratorHealth{Rule: tc.rule, Timeline: tc.timeline}
			h.Aggregates = Aggregate(tc.timeline)
			Judge(&h)
			if h.Saturated != tc.saturated || !approx(h.Aggregates.SaturatedShare, tc.share) || len(h.Reasons) != len(tc.reasons) {
				t.Fatalf("saturated %v share %v reasons %q; want %v %v %q", h.Saturated, h.Aggregates.SaturatedShare, h.Reasons, tc.saturated, tc.share, tc.reasons)
			}
			for i, r := range tc.reasons {
				if !strings.HasPrefix(h.Reasons[i], r) {
					t.Errorf("reason %d %q, want it to start %q", i, h.Reasons[i], r)
				}
			}
			if (Finding(&h) != "") != tc.saturated {
				t.Errorf("finding %q for saturated %v", Finding(&h), tc.saturated)
			}
		})
	}
}

func TestParseRule(t *testing.T) {
	def := DefaultRule()
	for _, tc := range []struct {
		in   string
		want summary.SaturationRule
		err  string
	}{
		{"auto", def, ""},
		{"", def, ""},
		{"off", summary.SaturationRule{Off: true}, ""},
		{"lag=100ms", summary.SaturationRule{LagP99MS: 100, SchedP99MS: 50, PSISome: 0.5, Steal: 0.1, Share: 0.2}, ""},
		{"psi=60%,steal=0.2,share=30%,sched=1s", summary.SaturationRule{LagP99MS: 50, SchedP99MS: 1000, PSISome: 0.6, Steal: 0.2, Share: 0.3}, ""},
		{"psi=0,lag=0", summary.SaturationRule{SchedP99MS: 50, Steal: 0.1, Share: 0.2}, ""},
		{"lag=fast", summary.SaturationRule{}, "lag=fast: want a duration"},
		{"psi=120%", summary.SaturationRule{}, "psi=120%: want a share"},
		{"cpu=50%", summary.SaturationRule{}, "cpu=50%: unknown key"},
		{"sometimes", summary.SaturationRule{}, `"sometimes": want key=value`},
	} {
		got, err := ParseRule(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseRule(%q) error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// TestQuantile reads a runtime/metrics histogram's delta between two readings.
func TestQuantile(t *testing.T) {
	bounds := []float64{0, 0.001, 0.01, 0.1, 1}
	before := []uint64{10, 0, 0, 0}
	after := []uint64{10 + 90, 9, 1, 0} // 100 new: 90 under 1 ms, 9 under 10 ms, 1 under 100 ms
	if v, mx := quantile(bounds, before, after, 0.99); v != 0.01 || mx != 0.1 {
		t.Errorf("p99 %v max %v, want 0.01 and 0.1", v, mx)
	}
	if v, mx := quantile(bounds, after, after, 0.99); v != 0 || mx != 0 {
		t.Errorf("no change: %v %v, want 0", v, mx)
	}
}
