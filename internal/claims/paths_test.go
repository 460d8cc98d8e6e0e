package claims

import (
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/threshold"
)

// TestTableParses: every check of the table is an expression of the gate's language (a
// Versus check once its limit is written in), every shown figure a summary path, and every
// claim either measured by checks on runs Plan knows or not measured with the reason.
func TestTableParses(t *testing.T) {
	known := map[string]bool{RunWorld: true, RunWarmOn: true, RunWarmOff: true, RunTierChange: true, RunHostile: true,
		RunFaults: true, RunTTLNet: true, RunScale: true, RunReplicas: true, RunNoWait: true, RunAOF: true, RunAOFOff: true,
		RunClients: true, RunDeploy: true}
	ids := map[string]bool{}
	for _, c := range Table() {
		if ids[c.ID] {
			t.Errorf("claim %s twice", c.ID)
		}
		ids[c.ID] = true
		if c.Quote == "" {
			t.Errorf("claim %s: no quote", c.ID)
		}
		if len(c.Checks) == 0 && c.Missing == "" {
			t.Errorf("claim %s: neither checks nor the reason it is not measured", c.ID)
		}
		for _, ch := range c.Checks {
			expr := ch.Expr
			if ch.Versus != nil {
				expr += " 0.5"
				if _, err := threshold.ParsePath(ch.Versus.Path); err != nil {
					t.Errorf("claim %s: versus %s: %v", c.ID, ch.Versus.Path, err)
				}
			}
			if _, err := threshold.Parse(expr); err != nil {
				t.Errorf("claim %s: %v", c.ID, err)
			}
		}
		for _, s := range c.Show {
			if _, err := threshold.ParsePath(s.Path); err != nil {
				t.Errorf("claim %s: show %s: %v", c.ID, s.Path, err)
			}
		}
		for _, r := range c.Runs() {
			if !known[r] {
				t.Errorf("claim %s reads run %q, which Plan does not make", c.ID, r)
			}
		}
		if c.Sweep != nil && !strings.HasPrefix(c.Sweep.Path, "hit_rate.") && c.Sweep.Path != "db_query_reduction" {
			t.Errorf("claim %s sweeps %s", c.ID, c.Sweep.Path)
		}
	}
}
