package main

import (
	"archive/tar"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/atlasbench/atlasbench/internal/gate"
	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/runner"
	"github.com/atlasbench/atlasbench/internal/stats"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

// abOptions is what bench gate -against runs.
type abOptions struct {
	against, newBin string
	pairs           int
	scenario, mode  string
	out             string
	runArgs         []string // after --: given to every bench run of both sides
	tolerances      map[string]float64
	baseline        string // with -baseline: the new runs' counts and ratios against it too
	junit           string
}

// abSide is one side of the A/B: a bench binary and how to name it.
type abSide struct {
	name, bin, label string
}

// abLatestLink names the link in the reports root to the newest A/B directory.
const abLatestLink = "latest-ab"

// runGateAgainst builds or takes the old bench, runs the scenario alternately with the old
// and the new one (A B B A A B …), and judges the pairs with gate.ComparePairs.
func runGateAgainst(ctx context.Context, o abOptions, getenv func(string) string, stdout io.Writer) error {
	if o.pairs < stats.MinPairs {
		return usagef("gate: -pairs %d: want %d or more (a paired test needs them)", o.pairs, stats.MinPairs)
	}
	if m := summary.Mode(o.mode); m != summary.ModeBoth && m != summary.ModeCache && m != summary.ModeNoCache {
		return usagef("gate: -mode %q: want both, cache or nocache", o.mode)
	}
	newSide := abSide{name: "new", bin: o.newBin}
	if newSide.bin == "" {
		newSide.bin = getenv("ATLAS_BENCH_BIN") // tests point this at a built bench
	}
	if newSide.bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return envError{fmt.Errorf("gate: the new side: %w", err)}
		}
		newSide.bin = exe
	}
	if !isExecutable(newSide.bin) {
		return usagef("gate: -new %s: not an executable file", newSide.bin)
	}
	newSide.label = gitLabel(ctx, "HEAD")
	if o.newBin != "" {
		newSide.label = filepath.Base(o.newBin)
	}

	tmp, err := os.MkdirTemp("", "atlasbench-ab-")
	if err != nil {
		return envError{fmt.Errorf("gate: %w", err)}
	}
	defer os.RemoveAll(tmp)
	oldSide, err := oldBench(ctx, o.against, tmp, stdout)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return interruptedError{"gate: interrupted before the first run: no verdict"}
	}
	root := filepath.Join(o.out, time.Now().UTC().Format("20060102T150405Z")+"-ab-"+filepath.Base(strings.TrimSuffix(o.scenario, ".yaml")))
	if err := os.MkdirAll(root, 0o755); err != nil {
		return envError{fmt.Errorf("gate: %w", err)}
	}
	runner.LinkLatest(o.out, root, abLatestLink)
	fmt.Fprintf(stdout, "gate: A/B of %s (old) against %s (new): scenario %s, mode %s, %d pairs = %d runs, alternated A B B A …; runs in %s\n",
		oldSide.label, newSide.label, o.scenario, o.mode, o.pairs, 2*o.pairs, root)

	pairs := make([]gate.Pair, o.pairs)
	total, done := 2*o.pairs, 0
	started := time.Now()
	for i := range o.pairs {
		order := []abSide{oldSide, newSide}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, side := range order {
			done++
			dir := filepath.Join(root, fmt.Sprintf("%02d-%s", done, side.name))
			t0 := time.Now()
			s, err := abRun(ctx, side, o, dir)
			if ctx.Err() != nil {
				fmt.Fprintf(stdout, "\ngate: INTERRUPTED after %d of %d runs (%d complete pairs): no verdict; what was measured is in %s\n",
					done-1, total, completePairs(pairs), root)
				return interruptedError{"gate: interrupted: no verdict"}
			}
			if err != nil {
				if side.name == "old" {
					return envError{fmt.Errorf("gate: the old side (%s) cannot run the scenario: %w", oldSide.label, err)}
				}
				return err
			}
			if side.name == "old" {
				pairs[i].Old = s
			} else {
				pairs[i].New = s
			}
			fmt.Fprintf(stdout, "[%2d/%d] pair %d %-3s %s  %s (%s elapsed)\n", done, total, i+1, side.name,
				runLine(s), time.Since(t0).Round(time.Second), time.Since(started).Round(time.Second))
		}
	}

	res, err := gate.ComparePairs(pairs, gate.Options{Tolerances: o.tolerances})
	switch {
	case errors.Is(err, gate.ErrIncompatible):
		return envError{err}
	case err != nil:
		return usageError{err}
	}
	res.Baseline.Git, res.Current.Git = oldSide.label, newSide.label
	var failed []string
	fmt.Fprintln(stdout)
	// The thresholds are judged on the new run with the median p50 latency, as bench run -count
	// judges its median repeat: a run that a burst of load disturbed (hit rates drop when Redis
	// calls time out) neither fails nor passes the gate alone. The other runs' failures are listed.
	mid := medianRun(pairs)
	newThresholds := pairs[mid].New.Thresholds
	if len(newThresholds) > 0 {
		fmt.Fprintf(stdout, "thresholds of the new run with the median p50 latency (pair %d):\n", mid+1)
		threshold.WriteTable(stdout, newThresholds)
		if !threshold.Passed(newThresholds) {
			failed = append(failed, "thresholds failed")
		}
		for i, p := range pairs {
			for _, t := range p.New.Thresholds {
				if i != mid && !t.Pass {
					fmt.Fprintf(stdout, "note: pair %d's new run failed %s (%s)\n", i+1, t.Expr, runLine(p.New))
				}
			}
		}
		fmt.Fprintln(stdout)
	}
	if err := res.Write(stdout); err != nil {
		return err
	}
	if res.Regressed() {
		failed = append(failed, "regression against the old code")
	}
	cases := append(newThresholds, abCases(res)...)
	if o.baseline != "" {
		bres, err := countsAgainstBaseline(o.baseline, pairs, o.tolerances)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\ncounts and ratios of the %d new runs against %s (timings are judged by the A/B above):\n", len(pairs), o.baseline)
		bres.Write(stdout)
		if bres.Regressed() {
			failed = append(failed, "counts or ratios regressed against the baseline")
		}
		cases = append(cases, abCases(bres)...)
	}
	if o.junit != "" {
		if err := writeThresholdsJUnit(o.junit, "gate-ab-"+o.scenario, cases); err != nil {
			return envError{err}
		}
	}
	if len(failed) > 0 {
		return failError{"gate: " + strings.Join(failed, "; ")}
	}
	fmt.Fprintln(stdout, "gate: PASS")
	return nil
}

// medianRun is the index of the pair whose new run has the median p50 latency (the lower of
// the two middle ones).
func medianRun(pairs []gate.Pair) int {
	idx := make([]int, len(pairs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(pairs[a].New.Latency.P50, pairs[b].New.Latency.P50)
	})
	return idx[(len(idx)-1)/2]
}

// completePairs counts the pairs with both runs.
func completePairs(pairs []gate.Pair) int {
	n := 0
	for _, p := range pairs {
		if p.Old != nil && p.New != nil {
			n++
		}
	}
	return n
}

// runLine is a run's headline figures for the progress line.
func runLine(s *summary.Summary) string {
	line := fmt.Sprintf("p50 %s ms, p99 %s ms, service p50 %s ms", render.Sig(s.Latency.P50, 3), render.Sig(s.Latency.P99, 3), render.Sig(s.ServiceTime.P50, 3))
	if s.HitRate.Overall > 0 {
		line += ", hit rate " + render.Percent(s.HitRate.Overall)
	}
	return line
}

// abCases turns a comparison's rows into JUnit cases: one per metric, failing on a regression.
func abCases(res *gate.Result) []summary.Threshold {
	out := make([]summary.Threshold, 0, len(res.Rows))
	for _, r := range res.Rows {
		t := summary.Threshold{Expr: fmt.Sprintf("%s: %s (%s)", r.Metric, r.Verdict, r.Note), Value: r.Delta, Pass: r.Verdict != gate.Regression}
		if r.Verdict == gate.NotJudged {
			t.NotJudged = r.Note
		}
		out = append(out, t)
	}
	return out
}

// countsAgainstBaseline judges the new runs' counts and ratios, pooled as the samples of one
// run, against a committed baseline (gate.Options.CountsOnly).
func countsAgainstBaseline(path string, pairs []gate.Pair, tolerances map[string]float64) (*gate.Result, error) {
	baseline, err := summary.Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, envError{fmt.Errorf("gate: no baseline at %s", path)}
	}
	if err != nil {
		return nil, envError{fmt.Errorf("gate: baseline: %w", err)}
	}
	pooled := *pairs[len(pairs)-1].New
	pooled.Count = len(pairs)
	pooled.Samples = map[string][]float64{}
	for _, p := range pairs {
		for k, v := range p.New.Samples {
			pooled.Samples[k] = append(pooled.Samples[k], v...)
		}
	}
	res, err := gate.Compare(baseline, &pooled, gate.Options{Tolerances: tolerances, CountsOnly: true})
	switch {
	case errors.Is(err, gate.ErrIncompatible), errors.Is(err, gate.ErrNoBaseline):
		return nil, envError{err}
	case err != nil:
		return nil, usageError{err}
	}
	return res, nil
}

// abRun runs the scenario once with side's bench into dir and reads its summary. A run
// whose thresholds failed (exit 1) is still a measurement; any other failure is an error
// naming the run's log.
func abRun(ctx context.Context, side abSide, o abOptions, dir string) (*summary.Summary, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, envError{err}
	}
	args := append([]string{"run", "-scenario", o.scenario, "-mode", o.mode, "-count", "1", "-quiet", "-out", dir}, o.runArgs...)
	cmd := exec.CommandContext(ctx, side.bin, args...)
	logPath := filepath.Join(dir, "run.log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, envError{err}
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	// The run starts its server from this side's binary, never from whatever the caller's
	// environment names (the last value of a key wins).
	cmd.Env = append(os.Environ(), "ATLAS_BENCH_BIN="+side.bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Interrupted: the run gets SIGINT, as from a terminal, and stops its Redis and server.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err == nil, errors.As(err, &exit) && (exit.ExitCode() == exitFail || exit.ExitCode() == exitInconclusive):
	default:
		return nil, fmt.Errorf("bench run (%s) failed: %w; see %s: %s", side.bin, err, logPath, lastLine(logPath))
	}
	s, err := summary.Read(filepath.Join(dir, "latest"))
	if err != nil {
		return nil, fmt.Errorf("bench run (%s) wrote no summary: %w; see %s", side.bin, err, logPath)
	}
	return s, nil
}

// lastLine is a file's last non-empty line (a run's error message).
func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// gitLabel is the short commit of a ref in the current directory's repository, or "" outside one.
func gitLabel(ctx context.Context, ref string) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "--verify", "--quiet", ref+"^{commit}").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// oldBench is the old side: REF itself when it is an executable, else the bench built from
// the git commit REF names (git archive into dir/old-src, go build into dir, a temporary
// directory the caller removes). Anything that fails here is exit 3.
func oldBench(ctx context.Context, ref, dir string, stdout io.Writer) (abSide, error) {
	if isExecutable(ref) {
		return abSide{name: "old", bin: ref, label: filepath.Base(ref)}, nil
	}
	commit := gitLabel(ctx, ref)
	if commit == "" {
		return abSide{}, envError{fmt.Errorf("gate: -against %q is neither an executable bench nor a git commit of this repository", ref)}
	}
	src := filepath.Join(dir, "old-src")
	fmt.Fprintf(stdout, "gate: building bench at %s (%s)…\n", ref, commit)
	if err := gitExtract(ctx, commit, src); err != nil {
		return abSide{}, envError{fmt.Errorf("gate: -against %s: %w", ref, err)}
	}
	bin, err := filepath.Abs(filepath.Join(dir, "bench-old"))
	if err != nil {
		return abSide{}, envError{err}
	}
	build := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", bin, "./cmd/bench")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return abSide{}, envError{fmt.Errorf("gate: -against %s: go build ./cmd/bench at %s failed: %w\n%s", ref, commit, err, out)}
	}
	return abSide{name: "old", bin: bin, label: commit}, nil
}

// gitExtract writes the tree of commit into dir (git archive, read with archive/tar).
func gitExtract(ctx context.Context, commit, dir string) error {
	top, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return fmt.Errorf("git rev-parse --show-toplevel: %w", err)
	}
	// From the top: in a subdirectory git archive writes only that subdirectory's tree.
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", commit)
	cmd.Dir = strings.TrimSpace(string(top))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	tr := tar.NewReader(out)
	var extractErr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			extractErr = err
			break
		}
		name := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(name, filepath.Clean(dir)+string(filepath.Separator)) {
			continue // never outside dir
		}
		switch h.Typeflag {
		case tar.TypeDir:
			extractErr = os.MkdirAll(name, 0o755)
		case tar.TypeReg:
			extractErr = writeFileFrom(name, tr, os.FileMode(h.Mode)&0o777)
		case tar.TypeSymlink:
			extractErr = os.Symlink(h.Linkname, name)
		}
		if extractErr != nil {
			break
		}
	}
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %w: %s", commit, err, strings.TrimSpace(stderr.String()))
	}
	return extractErr
}

func writeFileFrom(path string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
