package runner

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/scenarios"
)

// The options are checked once, in the runner, whoever calls it: each problem names its
// flag, and every problem is reported at once.
func TestOptionsUsage(t *testing.T) {
	sc, err := scenarios.Load("smoke")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		o    Options
		want []string // the flags the error names; none: no error
	}{
		{"defaults", Options{}, nil},
		{"bad mode", Options{Mode: "sometimes"}, []string{"-mode"}},
		{"bad memory", Options{RedisMemory: stack.Memory{MaxMemory: "lots", Policy: "allkeys-lru"}}, []string{"-redis-maxmemory"}},
		{"a shard repeated", Options{Shard: driver.Shard{Index: 1, Count: 2}, Count: 2, Mode: "cache"}, []string{"-shard"}},
		{"start-at with both modes", Options{StartAt: at}, []string{"-start-at"}},
		{"start-at with one mode", Options{StartAt: at, Mode: "cache"}, nil},
		{"target witnesses without a target", Options{TargetRedis: "redis://h:1"}, []string{"-target-redis and -target-db"}},
		{"bad target witnesses", Options{Target: "http://h:1", TargetRedis: "h:1", TargetDB: "mysql://u:pw@h/x"},
			[]string{"-target-redis \"h:1\"", "-target-db \"mysql://u:xxxxx@h/x\""}},
		{"every problem at once", Options{Mode: "x", StartAt: at, Count: 2}, []string{"-mode", "-start-at"}},
	} {
		o := tc.o
		o.Scenario = sc
		_, err := newEngine(o)
		var use *UsageError
		switch {
		case len(tc.want) == 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case len(tc.want) > 0 && !errors.As(err, &use):
			t.Errorf("%s: %v, want a UsageError naming %q", tc.name, err, tc.want)
		}
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want it to name %s", tc.name, err, w)
			}
		}
	}
}
