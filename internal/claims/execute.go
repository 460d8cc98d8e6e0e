package claims

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// RunFunc runs one run of the plan (cmd/bench: through runner.Run, into its own directory)
// and returns what it produced.
type RunFunc func(ctx context.Context, r Run) Result

// Execute runs the calibration probe (when the world is among the runs) and the plan,
// parallel runs at a time, printing to progress which run serves which claims and the ETA;
// the world waits for the calibration. It returns the scorecard (nil when nothing was
// measured) and every run's result in plan order (the probe's first, when it ran). The
// error is the plan's or the evaluation's; a run's failure is in its Result.
func Execute(ctx context.Context, o Options, run RunFunc, progress io.Writer, parallel int) (*Scorecard, []Result, error) {
	runs, err := Plan(o)
	if err != nil {
		return nil, nil, err
	}
	var probe *Run
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Name == RunWorld }) {
		p, err := ProbeRun(o)
		if err != nil {
			return nil, nil, err
		}
		probe = &p
	}
	x := &execution{o: o, run: run, progress: progress, parallel: max(parallel, 1)}
	x.all(ctx, probe, runs)
	if !slices.ContainsFunc(x.results, func(r Result) bool { return r.Summary != nil }) {
		return nil, x.ordered(probe, runs), nil
	}
	var plan []Result
	for _, r := range x.results {
		if probe == nil || r.Run.Name != probe.Name {
			plan = append(plan, r)
		}
	}
	sc, err := Evaluate(o, x.ordered(nil, runs))
	if err != nil {
		return nil, x.ordered(probe, runs), err
	}
	if x.cal != nil {
		for _, r := range plan {
			if r.Run.Name == RunWorld && r.Summary != nil && r.Summary.NoCache != nil {
				x.cal.WorldP50MS = r.Summary.NoCache.Latency.P50
			}
		}
		sc.Calibration = x.cal
	}
	return sc, x.ordered(probe, runs), nil
}

// execution is one Execute: the runs' results as they finish and the calibration.
type execution struct {
	o        Options
	run      RunFunc
	progress io.Writer
	parallel int

	mu      sync.Mutex
	results []Result
	done    time.Duration // estimated time of the runs finished
	cal     *Calibration
	calErr  error
}

// ordered returns the results of the probe (when given) and the plan's runs, in that order.
func (x *execution) ordered(probe *Run, runs []Run) []Result {
	order := runs
	if probe != nil {
		order = append([]Run{*probe}, runs...)
	}
	var out []Result
	for _, r := range order {
		if i := slices.IndexFunc(x.results, func(res Result) bool { return res.Run.Name == r.Name }); i >= 0 {
			out = append(out, x.results[i])
		}
	}
	return out
}

// serves names the claims a run's figures go to.
func (x *execution) serves(name string) string {
	if name == "calibration" {
		return "the world's DB round trip"
	}
	sel, _ := Select(Table(), x.o.Only)
	var ids []string
	for _, c := range sel {
		if slices.Contains(c.Runs(), name) || strings.HasPrefix(name, SweepPrefix) && c.Sweep != nil {
			ids = append(ids, c.ID)
		}
	}
	return strings.Join(ids, ", ")
}

// all runs the probe (when given) and the plan, x.parallel at a time. The world run waits
// for the calibration and is not run when it failed.
func (x *execution) all(ctx context.Context, probe *Run, runs []Run) {
	queue := runs
	if probe != nil {
		queue = append([]Run{*probe}, runs...)
	}
	var total time.Duration
	for _, r := range queue {
		total += r.Estimate()
	}
	fmt.Fprintf(x.progress, "claims: %d runs, about %s\n", len(queue), (total / time.Duration(x.parallel)).Round(time.Second))
	calibrated := make(chan struct{})
	if probe == nil {
		close(calibrated)
	}
	start := time.Now()
	jobs := make(chan Run)
	var wg sync.WaitGroup
	for range x.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				if r.Name == RunWorld {
					<-calibrated
					if x.cal == nil {
						x.add(Result{Run: r, Err: fmt.Errorf("not run: the calibration failed: %w", x.calErr)})
						continue
					}
					r.Calibrated(*x.cal)
				}
				x.mu.Lock()
				left := (total - x.done) / time.Duration(x.parallel)
				fmt.Fprintf(x.progress, "claims: %s (%s): %s — about %s, ETA %s\n", r.Name, x.serves(r.Name),
					r.Describe, r.Estimate().Round(time.Second), left.Round(time.Second))
				x.mu.Unlock()
				res := x.run(ctx, r)
				res.Run = r
				x.mu.Lock()
				x.done += r.Estimate()
				if res.Err != nil {
					fmt.Fprintf(x.progress, "claims: run %s failed: %v\n", r.Name, res.Err)
				}
				x.mu.Unlock()
				if probe != nil && r.Name == probe.Name {
					x.calibrate(res)
					close(calibrated)
				}
				x.add(res)
			}
		}()
	}
	for _, r := range queue {
		if ctx.Err() != nil {
			break
		}
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	fmt.Fprintf(x.progress, "claims: runs done in %s\n", time.Since(start).Round(time.Second))
}

func (x *execution) add(r Result) {
	x.mu.Lock()
	x.results = append(x.results, r)
	x.mu.Unlock()
}

// calibrate takes the probe's result: the calibration, or why there is none.
func (x *execution) calibrate(probe Result) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case probe.Summary != nil:
		c, err := Calibrate(probe.Summary.Latency.P50)
		if err != nil {
			x.calErr = err
			return
		}
		x.cal = &c
		fmt.Fprintf(x.progress, "claims: calibration: %s\n", c)
	case probe.Err != nil:
		x.calErr = probe.Err
	default:
		x.calErr = errors.New("the probe produced no summary")
	}
}
