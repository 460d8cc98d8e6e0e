package summary

import "testing"

// TestTotalRestarts: the restarts add up; a killed instance (no drain account) and a stopped
// one (not started again) count as restarts but not as drained or restarted.
func TestTotalRestarts(t *testing.T) {
	if TotalRestarts(nil) != nil {
		t.Fatal("totals without restarts")
	}
	ready := 1.5
	got := TotalRestarts([]Restart{
		{Server: 1, ExitS: 1.2, ReadyS: &ready, InFlight: 4, Errors: 0, Drain: &Drain{CutOff: 0, DrainMS: 30, Lost: 0}},
		{Server: 2, ExitS: 2.5, ReadyS: &ready, InFlight: 3, Errors: 2, Drain: &Drain{CutOff: 1, DrainMS: 80, Lost: 2}},
		{Server: 3, ExitS: 0.4, InFlight: 1, Errors: 1},
	})
	want := RestartTotals{Count: 3, Restarted: 2, Drained: 2, InFlight: 8, Errors: 3, CutOff: 1, Lost: 2, DrainMaxMS: 80, ExitMaxS: 2.5}
	if *got != want {
		t.Errorf("got %+v, want %+v", *got, want)
	}
}
