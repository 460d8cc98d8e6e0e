package main

import (
	"flag"
	"io"
	"testing"
	"time"
)

// TestServeFromScenario: -scenario seeds what the scenario expects; a -seed* flag given
// as well wins.
func TestServeFromScenario(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := serveOptions{scenario: "core", seed: 1, seedUsers: 1000, seedTiers: "free=1"}
	fs.IntVar(&o.seedUsers, "seed-users", 1000, "")
	if err := fs.Parse([]string{"-seed-users", "7"}); err != nil {
		t.Fatal(err)
	}
	if err := o.fromScenario(fs); err != nil {
		t.Fatal(err)
	}
	// core.yaml: seed 12, 1000 core users, 5 conversations of 40 messages, 5 ms ± 1 ms.
	if o.seed != 12 || o.seedUsers != 7 || o.seedTiers != "free=0,core=1,studio=0" || o.seedConversations != 5 || o.seedMessages != 40 ||
		o.dbLatency != 5*time.Millisecond || o.dbJitter != time.Millisecond {
		t.Errorf("from core with -seed-users 7: %+v", o)
	}
}
