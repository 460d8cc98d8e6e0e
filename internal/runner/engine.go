package runner

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/atlasbench/atlasbench/internal/live"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// engine runs what its Options describe. It is built once from them (defaults applied, a
// fresh secret for a stack of its own) and holds the run's state; the Options stay the
// caller's plain configuration.
type engine struct {
	Options
	attacks *plan         // the run's attacks, for the overall ETA of the progress
	learned *usersLearned // the users file's learning, once done
	lines   io.Writer     // where the one line per mode goes; Progress itself unless Quiet
	live    *live.View    // the live view; nil without MetricsAddr and JSONL
}

// newEngine applies o's defaults and checks the options that need no config or server
// (check does the rest): every problem at once, each naming its flag, as one *UsageError.
func newEngine(o Options) (*engine, error) {
	if o.Scenario == nil {
		return nil, errors.New("runner: no scenario")
	}
	if o.Config == "" {
		o.Config = "default"
	}
	if o.Mode == "" {
		o.Mode = summary.ModeBoth
	}
	if o.Out == "" {
		o.Out = "reports"
	}
	if o.RedisMemory == (stack.Memory{}) {
		o.RedisMemory = stack.DefaultMemory
	}
	if o.Count <= 0 {
		o.Count = 1
	}
	if err := o.usage(); err != nil {
		return nil, &UsageError{err}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	lines := io.Discard
	if o.Quiet {
		lines, o.Progress = o.Progress, io.Discard
	}
	if o.Target == "" {
		// A fresh secret per run, hex so it travels in the server's environment.
		b := make([]byte, 32)
		rand.Read(b)
		o.Secret = []byte(hex.EncodeToString(b))
	}
	return &engine{Options: o, lines: lines}, nil
}

// execute runs every (repeat, config, mode) in interleaved order and writes one run
// directory per config. It returns the configs that measured anything.
func (e *engine) execute(ctx context.Context, configs []string, dirOf func(config string) string) ([]*Result, error) {
	if err := checkThresholds(e.Scenario); err != nil {
		return nil, &UsageError{err}
	}
	if _, err := abortRules(e.Scenario); err != nil {
		return nil, &UsageError{err}
	}
	modes := e.modes()
	if err := e.preflight(ctx, modes); err != nil {
		return nil, err
	}
	var err error
	if e.live, err = e.openLive(ctx); err != nil {
		return nil, err
	}
	defer e.live.Close()
	e.attacks = &plan{total: e.Count * len(configs) * len(modes)}
	runs := make([]*run, len(configs))
	for i, config := range configs {
		r, err := e.newRun(config, dirOf(config))
		if err != nil {
			return nil, err
		}
		runs[i] = r
	}
	interrupted, runErr := e.measure(ctx, runs, modes)
	var results []*Result
	for _, r := range runs {
		if len(r.figs) == 0 {
			// Nothing measured: leave no directory behind (an error quotes the server log).
			os.RemoveAll(r.dir)
			continue
		}
		if err := e.finishRun(r, interrupted, runErr); err != nil {
			return results, err
		}
		results = append(results, &Result{Dir: r.dir, Summary: r.s})
	}
	if len(results) == 0 && runErr == nil {
		// Nothing measured: no report, and Out/latest stays where it was.
		runErr = fmt.Errorf("runner: interrupted before its measured window: nothing measured, no report written: %w", cmp.Or(ctx.Err(), context.Canceled))
	}
	return results, runErr
}

// modes are the modes each repeat of each config runs, in order.
func (e *engine) modes() []summary.Mode {
	switch {
	case e.Target != "":
		return []summary.Mode{summary.ModeTarget}
	case e.Mode != summary.ModeBoth:
		return []summary.Mode{e.Mode}
	}
	return []summary.Mode{summary.ModeNoCache, summary.ModeCache}
}

// measure runs every repeat of every config's modes, interleaved, until done, interrupted
// or an error; each mode's figures go to its run.
func (e *engine) measure(ctx context.Context, runs []*run, modes []summary.Mode) (interrupted bool, err error) {
	for rep := 1; rep <= e.Count; rep++ {
		for _, r := range runs {
			for _, mode := range modes {
				if ctx.Err() != nil {
					return true, nil
				}
				res, notes, backend, err := e.runMode(ctx, r.dir, r.s.Config, r.cache, mode, rep)
				if backend != "" {
					r.s.Env.RedisBackend = backend
				}
				if err != nil {
					return false, err
				}
				if res.interrupted && res.figures.Requests == 0 {
					return true, nil // stopped before its measured window: nothing to report
				}
				e.add(r, res, notes)
				if res.aborted != "" {
					r.s.Aborted = res.aborted
					return false, nil // an aborting threshold is lost: the run stops here
				}
				if res.interrupted {
					return true, nil
				}
			}
		}
	}
	return false, nil
}
