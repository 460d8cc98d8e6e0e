package stats

import (
	"math"
	"testing"
)

func TestSummarizeAndSignificance(t *testing.T) {
	in := []float64{5, 1, 3, 2, 4}
	s := Summarize(in, DefaultConfidence)
	if s.N != 5 || s.Center != 3 || s.Max != 5 || in[0] != 5 {
		t.Errorf("Summarize = %+v (input %v)", s, in)
	}
	if s := Summarize(nil, DefaultConfidence); !math.IsNaN(s.Center) {
		t.Errorf("Summarize(nil).Center = %v, want NaN", s.Center)
	}
	lo, hi := []float64{1, 2, 3, 4, 5, 6}, []float64{11, 12, 13, 14, 15, 16}
	if r := Significance(lo, hi, DefaultAlpha); !r.Significant || r.TooFew {
		t.Errorf("disjoint samples: %+v, want significant", r)
	}
	if r := Significance(lo[:2], hi[:2], DefaultAlpha); r.Significant || !r.TooFew {
		t.Errorf("2 against 2: %+v, want too few", r)
	}
	if n := SamplesNeeded(DefaultAlpha); MinP(n, n) >= DefaultAlpha || MinP(n-1, n-1) < DefaultAlpha {
		t.Errorf("SamplesNeeded = %d is not the smallest that can reach alpha", n)
	}
}
