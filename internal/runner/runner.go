// Package runner owns one `bench run`: for each repeat and mode it brings the stack up,
// drives it with the scenario, checks every response, measures, tears down; then it
// assembles summary.json, evaluates the thresholds and renders the report. Data flows one
// way: scenario → stack + driver → checkers → metrics → summary → report.
//
// By file: runner.go is the API (Options, Run, Compare); engine.go the engine built from
// the Options and the run's loop; check.go every check of the options; stack.go how the
// stack is chosen; mode.go how a mode runs; figures.go how a mode's figures are built (one
// step per source, composed once by Compose); summarise.go how a run is summarised
// (Summarise and Write, which bench merge uses too); witness.go, procs.go and redismem.go
// are sources of figures.
package runner

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// Options configure a run. Zero values mean the documented defaults.
type Options struct {
	Scenario *scenarios.Scenario // required
	// Config is the cache config (built-in name or file) the cache-mode server runs with; default "default".
	Config string
	// Mode is cache, nocache or both (default): both runs the same seeded requests without,
	// then with the cache.
	Mode summary.Mode
	// Out is the reports root; the run writes Out/<UTC timestamp>-<scenario>/ and Out/latest. Default "reports".
	Out string
	// Redis is the -redis spec: auto (default), process, docker, embedded or a URL.
	Redis string
	// RedisMemory limits the memory of a Redis the run starts; zero: stack.DefaultMemory.
	RedisMemory stack.Memory
	// MaxLag is driver.Config.MaxLag: how far behind its schedule a scheduled run may send
	// before it is cut off; zero: driver.DefaultMaxLag, negative: never.
	MaxLag time.Duration
	// Saturation is the rule that judges whether the load generator was saturated in a
	// mode's window (bench run -saturation; loadhealth.ParseRule); zero:
	// loadhealth.DefaultRule, Off: never. A saturated run's latency thresholds are
	// INCONCLUSIVE.
	Saturation summary.SaturationRule
	// DB is sqlite (default) or a postgres:// server URL.
	DB string
	// Target drives an already running server instead of starting a stack.
	Target string
	// Secret signs tokens for Target (its ATLAS_JWT_SECRET); stacks get a fresh random one.
	Secret []byte
	// TargetRedis and TargetDB are the Redis (a redis:// or redis+cluster:// URL) and the
	// PostgreSQL database (a postgres:// URL) behind Target: second witnesses of its figures.
	TargetRedis, TargetDB string
	// Count repeats the measured window, modes interleaved; default 1.
	Count int
	// Shard limits the run to one shard's users (bench run -shard i/N); zero: every user.
	// Only shard 1 injects the scenario's faults; the others mark the fault times as phase
	// boundaries so that their phases line up with shard 1's.
	Shard driver.Shard
	// StartAt is when the measured window starts (bench run -start-at), the same for every
	// shard of a run; zero: as soon as the stack is up.
	StartAt time.Time
	// Binary is the bench executable the server runs from; default os.Executable().
	Binary string
	// Progress receives live progress; TTY rewrites one line, else a line every 5 s.
	Progress io.Writer
	TTY      bool
	// Quiet keeps Progress to one line per mode (which mode of which config and repeat starts).
	Quiet bool
	// MetricsAddr, when set, serves the run's live figures for Prometheus at
	// http://MetricsAddr/metrics (package live); JSONL, when not nil, gets one JSON line of
	// progress per second.
	MetricsAddr string
	JSONL       io.Writer
	Log         *slog.Logger
	// Users, with Target, is the population from a users file (bench run -users) instead
	// of the seeded u1…uN; what it lacks is learned from the target before the first attack.
	Users *driver.Users
	// Owner is where the target's answers name their owner (bench run -owner); zero: the
	// Atlas model (userId, and every listed item's).
	Owner check.Pointer
}

// UsageError is a bad scenario, config or option: the run never started.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// EnvError is an environment failure (Redis or DB could not start, target unreachable).
type EnvError struct{ Err error }

func (e *EnvError) Error() string { return e.Err.Error() }
func (e *EnvError) Unwrap() error { return e.Err }

// Result is a finished (or interrupted) run.
type Result struct {
	Dir     string
	Summary *summary.Summary
}

// Run executes the run and writes its directory. An interrupted run (ctx cancelled) still
// writes what it measured and returns it with Summary.Interrupted set.
func Run(ctx context.Context, o Options) (*Result, error) {
	e, err := newEngine(o)
	if err != nil {
		return nil, err
	}
	if err := e.check([]string{e.Config}); err != nil {
		return nil, err
	}
	dir := runDir(e.Out, e.Scenario.Name, "")
	results, err := e.execute(ctx, []string{e.Config}, func(string) string { return dir })
	if len(results) == 0 {
		return nil, err
	}
	LinkLatest(e.Out, dir, LatestLink)
	return results[0], err
}

// Names of the links in Out to the newest results. LatestLink always names a single run
// directory (what bench report and bench gate read); a compare moves LatestCompareLink only.
const (
	LatestLink        = "latest"
	LatestCompareLink = "latest-compare"
)

// Compare runs the scenario once per cache config, repeats interleaved across configs
// (A, B, A, B, …) so drift on a shared machine hits all alike. It writes one run directory
// per config under Out/<timestamp>-<scenario>-compare/, points Out/latest-compare (never
// Out/latest) at it, and returns that directory.
func Compare(ctx context.Context, o Options, configs []string) (string, []*Result, error) {
	e, err := newEngine(o)
	if err != nil {
		return "", nil, err
	}
	if len(configs) < 2 {
		return "", nil, &UsageError{errors.New("compare: want at least two -config flags, e.g. -config default -config none")}
	}
	if err := e.check(configs); err != nil {
		return "", nil, err
	}
	root := runDir(e.Out, e.Scenario.Name, "-compare")
	results, err := e.execute(ctx, configs, func(config string) string {
		return filepath.Join(root, safeName(config))
	})
	if len(results) > 0 {
		LinkLatest(e.Out, root, LatestCompareLink)
	} else {
		os.Remove(root) // empty: every config's directory was removed
	}
	return root, results, err
}

func runDir(out, scenario, suffix string) string {
	return filepath.Join(out, time.Now().UTC().Format("20060102T150405Z")+"-"+scenario+suffix)
}

// safeName turns a config name or path into a directory name.
func safeName(config string) string {
	name := strings.TrimSuffix(filepath.Base(config), filepath.Ext(config))
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, name)
}
