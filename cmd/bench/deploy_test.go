package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// TestRollingDeploy runs a seconds-long rolling-deploy (three instances balanced on /readyz,
// each restarted in turn under load) twice: with the graceful server it passes with 0 errors
// and 0 stale reads and accounts for every restart (drain, readiness again, the first
// seconds); with a server that exits on SIGTERM without readiness or drain
// (unsafe.abruptShutdown) the same run fails with errors.
func TestRollingDeploy(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, config string) (*summary.Summary, int, string) {
		out := t.TempDir()
		stdout, stderr, code := runBench(t, context.Background(), nil, "run", "-scenario", filepath.Join("testdata", "rolling-deploy.yaml"),
			"-mode", "cache", "-redis", "process", "-config", config, "-out", out, "-quiet")
		if _, err := summary.Read(filepath.Join(out, "latest")); err != nil {
			t.Fatalf("exit %d, no summary: %v\n%s\n%s", code, err, stdout, stderr)
		}
		return readValidSummary(t, filepath.Join(out, "latest")), code, stdout + stderr
	}
	t.Run("graceful", func(t *testing.T) {
		t.Parallel()
		s, code, log := run(t, "default")
		for _, n := range s.Notes {
			t.Log(n)
		}
		if code != 0 || s.Errors != 0 || s.StaleReads != 0 || s.IsolationViolations != 0 {
			t.Fatalf("exit %d, %d errors (%v), %d stale reads, %d isolation violations; want a clean pass\n%s",
				code, s.Errors, s.ErrorsByKind, s.StaleReads, s.IsolationViolations, log)
		}
		if len(s.Restarts) != 3 {
			t.Fatalf("restarts %+v; want the 3 instances restarted", s.Restarts)
		}
		if tot := s.RestartsTotal; tot == nil || tot.Count != 3 || tot.Restarted != 3 || tot.Drained != 3 || tot.CutOff != 0 || tot.Lost != 0 {
			t.Errorf("restarts_total %+v; want 3 restarted and drained, nothing cut off or lost", tot)
		}
		sc, err := scenarios.Load(filepath.Join("testdata", "rolling-deploy.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		window, inWindow := sc.Duration, 0
		for i, r := range s.Restarts {
			if r.Server != i+1 || r.Errors != 0 || r.ReadyS == nil || *r.ReadyS < r.ExitS {
				t.Errorf("restart %d: %+v; want instance %d, no errors, ready again after its exit", i, r, i+1)
			}
			if r.Drain == nil || r.Drain.CutOff != 0 || r.Drain.Lost != 0 || r.Drain.DelayMS <= 0 {
				t.Errorf("restart %d: drain %+v; want the server's account, a delay, nothing cut off or lost", i, r.Drain)
			}
			if r.First == nil || r.First.Errors != 0 {
				t.Errorf("restart %d: first window %+v; want no errors", i, r.First)
				continue
			}
			// Each restart waits for the one before it to answer again, so on a busy machine
			// the last may come back too late for its first window to lie in the measured one:
			// requests are wanted only where it does, and at least once.
			if r.ReadyS != nil && r.TermS+*r.ReadyS+r.First.Seconds <= window.Seconds() {
				inWindow++
				if r.First.Requests == 0 {
					t.Errorf("restart %d: first window %+v; want requests answered", i, r.First)
				}
			}
		}
		if inWindow == 0 {
			t.Errorf("restarts %+v: none came back in time for its first window to lie in the %v measured", s.Restarts, window)
		}
		// The server's counters began again with each new process: the witnesses say so
		// instead of crying disagreement.
		if cc := s.CrossChecks; cc == nil || len(cc.Checks) == 0 {
			t.Error("no cross-checks")
		} else {
			for _, c := range cc.Checks {
				if c.Verdict != summary.NotMade {
					t.Errorf("cross-check %q: %s (%s); want n/a after the restarts", c.Figure, c.Verdict, c.Detail)
				}
			}
		}
		// Each instance answered its share of the run: the balancer sent to every one again.
		for _, sv := range s.Servers {
			if sv.Requests*6 < s.Requests {
				t.Errorf("instance %d answered %d of %d requests; want about a third", sv.Server, sv.Requests, s.Requests)
			}
		}
	})
	t.Run("abrupt", func(t *testing.T) {
		t.Parallel()
		s, code, _ := run(t, filepath.Join("testdata", "weak-abrupt-shutdown.yaml"))
		if code != exitFail || s.Errors == 0 {
			t.Fatalf("a server that exits without draining: exit %d with %d errors; want the run failed with errors", code, s.Errors)
		}
		var during int64
		for _, r := range s.Restarts {
			during += r.Errors
		}
		if during == 0 {
			t.Errorf("restarts %+v: want the errors counted against the restarts", s.Restarts)
		}
		t.Logf("abrupt shutdown: %d errors (%v), %d during the restarts", s.Errors, s.ErrorsByKind, during)
		for _, n := range s.Notes {
			t.Log(n)
		}
	})
}

// TestRestartDuringPartition: instance 1 takes the writes while Redis is cut off from it,
// and is restarted before Redis comes back to it. The invalidations it owes are handed over
// to the fence log at its shutdown (none lost) and no read through instance 2 is stale.
// Then instance 2 is stopped for good (stop-server): its reads move to instance 1.
func TestRestartDuringPartition(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	stdout, stderr, code := runBench(t, context.Background(), nil, "run", "-scenario", filepath.Join("testdata", "restart-partition.yaml"),
		"-mode", "cache", "-redis", "process", "-out", out, "-quiet")
	s, err := summary.Read(filepath.Join(out, "latest"))
	if err != nil {
		t.Fatalf("exit %d, no summary: %v\n%s\n%s", code, err, stdout, stderr)
	}
	for _, n := range s.Notes {
		t.Log(n)
	}
	if code != 0 || s.Errors != 0 || s.StaleReads != 0 || s.IsolationViolations != 0 {
		t.Fatalf("exit %d, %d errors (%v), %d stale reads, %d isolation violations; want a clean pass\n%s\n%s",
			code, s.Errors, s.ErrorsByKind, s.StaleReads, s.IsolationViolations, stdout, stderr)
	}
	if len(s.Restarts) != 2 || s.Restarts[0].Drain == nil || s.Restarts[0].Server != 1 {
		t.Fatalf("restarts %+v; want instance 1's restart with its drain, then instance 2's stop", s.Restarts)
	}
	d := s.Restarts[0].Drain
	if d.Pending == 0 || d.Lost != 0 || d.Applied+d.HandedOver != d.Pending {
		t.Errorf("drain %+v; want invalidations pending at the SIGTERM (Redis cut off), every one handed over or applied, none lost", d)
	}
	if stop := s.Restarts[1]; stop.Server != 2 || stop.ReadyS != nil || stop.First != nil || stop.Drain == nil || stop.Errors != 0 {
		t.Errorf("stop-server: %+v; want instance 2 drained and gone, without errors", stop)
	}
}
