package gate

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

func TestZZScratch(t *testing.T) {
	dir := os.Getenv("ZZDIR")
	if dir == "" {
		t.Skip()
	}
	runs := map[string]*summary.Summary{}
	ms, _ := filepath.Glob(filepath.Join(dir, "*-?", "latest", "summary.json"))
	triples := map[string]bool{}
	for _, m := range ms {
		name := filepath.Base(filepath.Dir(filepath.Dir(m)))
		s, err := summary.Read(m)
		if err != nil {
			t.Fatal(err)
		}
		runs[name] = s
		triples[name[:2]] = true
	}
	var ts []string
	for k := range triples {
		if runs[k+"-O"] != nil && runs[k+"-N"] != nil && runs[k+"-K"] != nil {
			ts = append(ts, k)
		}
	}
	sort.Strings(ts)
	for _, m := range []string{"latency.p50", "service_time.p50", "latency.mean", "latency.p99", "nocache.latency.p50"} {
		line := m + ":"
		for _, k := range ts {
			o := threshold_(runs[k+"-O"], m)
			line += fmt.Sprintf(" N%+.2f/K%+.2f", math.Log(threshold_(runs[k+"-N"], m)/o), math.Log(threshold_(runs[k+"-K"], m)/o))
		}
		fmt.Println(line)
	}
	for n := 5; n <= len(ts); n++ {
	for start := 0; start+n <= len(ts); start++ {
		for _, side := range []string{"N", "K"} {
			var pairs []Pair
			for _, k := range ts[start : start+n] {
				pairs = append(pairs, Pair{Old: runs[k+"-O"], New: runs[k+"-"+side]})
			}
			res, err := ComparePairs(pairs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var regs []string
			for _, r := range res.Rows {
				if r.Verdict == Regression {
					regs = append(regs, fmt.Sprintf("%s %+.0f%% p=%.3f", r.Metric, 100*r.Delta, r.Test.P))
				}
			}
			fmt.Printf("n=%d window %d side %s regressed=%v %v\n", n, start, side, res.Regressed(), regs)
		}
	}
	}
}

func threshold_(s *summary.Summary, m string) float64 {
	v := s.Samples[m]
	if len(v) == 0 {
		return math.NaN()
	}
	return v[0]
}
