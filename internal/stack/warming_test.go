package stack

import (
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
)

// TestWarmedLineRoundTrip: what bench serve prints when warming ends and after each batch
// reads back as it was, and other lines are not taken for them.
func TestWarmedLineRoundTrip(t *testing.T) {
	r := cache.WarmReport{Active: 100000, Users: 99999, Keys: 199069, Bytes: 40669686, Ops: 500123, OpsPerSec: 10000,
		Took: 47306 * time.Millisecond, Stopped: cache.WarmBudget}
	got, ok := ParseWarmed(WarmedLine(r))
	if !ok || got != r {
		t.Errorf("ParseWarmed(WarmedLine(%+v)) = %+v, %v", r, got, ok)
	}
	running := r
	running.Stopped = ""
	if got, ok := ParseWarming(WarmingLine(r)); !ok || got != running {
		t.Errorf("ParseWarming(WarmingLine(%+v)) = %+v, %v", r, got, ok)
	}
	for _, line := range []string{"atlas: seeded 5 users in 1s", "atlas: warmed users=x", "atlas: drained in_flight=0", WarmingLine(r)} {
		if _, ok := ParseWarmed(line); ok {
			t.Errorf("ParseWarmed(%q) took it for a warmed line", line)
		}
	}
	if _, ok := ParseWarming("atlas: warming users=x keys=3"); ok {
		t.Error("ParseWarming took a line without a number")
	}
}
