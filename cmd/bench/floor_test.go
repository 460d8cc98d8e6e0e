package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestFloorSideBySide runs bench floor briefly: both servers come up on one Redis, both
// answer every request of every leg with 200, and the table has both sides' figures and
// the ratios. (No timing is asserted: the ratios are what a person reads.)
func TestFloorSideBySide(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runBench(t, context.Background(), nil,
		"floor", "-rounds", "2", "-duration", "700ms", "-warmup", "300ms", "-rate", "200", "-workers", "4")
	if code != 0 {
		t.Fatalf("bench floor exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	row := func(label string) []string {
		for _, line := range strings.Split(stdout, "\n") {
			if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(strings.TrimSpace(line), label) {
				return strings.Fields(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), label)))
			}
		}
		t.Fatalf("no %q row in:\n%s", label, stdout)
		return nil
	}
	if got := row("errors"); len(got) != 2 || got[0] != "0" || got[1] != "0" {
		t.Errorf("errors row %v, want 0 for the refserver and 0 for the floor:\n%s", got, stdout)
	}
	for _, label := range []string{"p50 at 200 rps (ms)", "p99 at 200 rps (ms)", "full speed, 4 workers (rps)"} {
		got := row(label)
		if len(got) < 3 {
			t.Fatalf("%s row %v: want refserver, floor and ratio", label, got)
		}
		for i, side := range []string{"refserver", "floor"} {
			if v, err := strconv.ParseFloat(got[i], 64); err != nil || !(v > 0) {
				t.Errorf("%s of the %s = %q, want a positive number", label, side, got[i])
			}
		}
		if !regexp.MustCompile(`^\d+\.\d\dx$`).MatchString(got[2]) {
			t.Errorf("%s ratio %q, want like 1.23x", label, got[2])
		}
	}
	// The refserver's answers were served from its cache: the path the floor is the bound of.
	m := regexp.MustCompile(`refserver X-Cache HIT: ([\d.]+)% of (\d+) answers`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no X-Cache line in:\n%s", stdout)
	}
	if hit, _ := strconv.ParseFloat(m[1], 64); hit < 50 {
		t.Errorf("refserver X-Cache HIT %s%%: the measured path is not the cached one", m[1])
	}
}
