package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/atlasbench/atlasbench/internal/strictyaml"
)

// Exit codes (docs/CLI.md, "Exit codes").
const (
	exitOK    = 0
	exitFail  = 1 // a threshold or the regression gate failed
	exitUsage = 2 // bad usage, scenario or config
	exitEnv   = 3 // the environment failed: Redis or DB could not start, target unreachable
	// exitInconclusive is a run (or gate) in which nothing failed but a latency verdict is
	// INCONCLUSIVE: the load generator or its machine was saturated.
	exitInconclusive = 4
	// exitInterrupted is a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report
	// it): no verdict; its report, if it measured anything, holds what was measured.
	exitInterrupted = 130
)

// usageError is bad usage, a bad scenario or a bad config: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// envError is an environment failure: exit 3.
type envError struct{ err error }

func (e envError) Error() string { return e.err.Error() }
func (e envError) Unwrap() error { return e.err }

// interruptedError is a run stopped by an interrupt: exit 130, whatever its figures.
type interruptedError struct{ msg string }

func (e interruptedError) Error() string { return e.msg }

// inconclusiveError is a run or gate in which nothing failed but a latency verdict is
// INCONCLUSIVE (a saturated generator): exit 4. Its report is printed already.
type inconclusiveError struct{ msg string }

func (e inconclusiveError) Error() string { return e.msg }

// failError is a run or gate that finished but did not pass: exit 1. Its report is printed already.
type failError struct{ msg string }

func (e failError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode prints err (unless it is help) and maps it to the process exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintln(stderr, "bench:", err)
	var u usageError
	var e envError
	var f failError
	var i interruptedError
	var inc inconclusiveError
	switch {
	case errors.As(err, &i):
		return exitInterrupted
	case errors.As(err, &inc):
		return exitInconclusive
	case errors.As(err, &f):
		return exitFail
	case errors.As(err, &u):
		return exitUsage
	case errors.As(err, &e):
		return exitEnv
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	default:
		return exitEnv
	}
}

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "[flags]", "run a load scenario (both modes), check every answer, write reports/", runRun},
		{"claims", "[-quick]", "measure every claim of the Atlas write-up: verdicts, evidence, where each holds", runClaims},
		{"compare", "-config A -config B", "one scenario across cache configs, side by side, significance-tested", runCompare},
		{"gate", "SUMMARY", "thresholds, and regression vs a baseline (-baseline FILE)", runGate},
		{"serve", "[flags]", "run the reference Atlas server (cache or no-cache mode)", runServe},
		{"floor", "[flags]", "the cached GET /api/me beside a bare one-GET server on the same Redis: ratios", runFloor},
		{"doctor", "-redis URL|-target URL", "is this Redis set up right for a cache, does this service keep the API contract", runDoctor},
		{"token", "USERID", "print a JWT for USERID signed with ATLAS_JWT_SECRET", runToken},
		{"report", "DIR", "re-render a run's report and charts from its summary.json", runReport},
		{"merge", "SHARD_DIR...", "merge the shards of a distributed run (run -shard i/N) exactly", runMerge},
		{"scenarios", "", "list the built-in scenarios", runScenarios},
		{"version", "", "print the version (also bench --version)", runVersion},
	}
}

// run dispatches to a subcommand. main only calls this.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		printUsage(stdout)
		if len(args) == 0 {
			return usagef("no command given")
		}
		return nil
	}
	if args[0] == "--version" || args[0] == "-version" {
		return runVersion(ctx, args[1:], getenv, stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	printUsage(stderr)
	return usagef("unknown command %q", args[0])
}

func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("atlasbench: proves what a Redis cache in front of a database really buys.\n\nUsage:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  bench %-9s %-20s %s\n", c.name, c.args, c.summary)
	}
	b.WriteString("\nRun `bench COMMAND -h` for a command's flags.\n")
	io.WriteString(w, b.String())
}

// newFlagSet makes a flag set whose -h prints the command's help (usage: the synopsis
// line, then the text) to stdout and whose errors are usage errors.
func newFlagSet(name, usage string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bench "+name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		// usage starts with the synopsis ("run [flags]"), then the text.
		synopsis, text, _ := strings.Cut(strings.TrimSpace(usage), "\n")
		fmt.Fprintf(stdout, "Usage: bench %s\n\n%s\n", synopsis, strings.TrimSpace(text))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(stdout, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args; a parse error is a usage error of one line (an unknown flag with
// the closest known one, "did you mean"), not the whole usage; -h prints the usage and is
// flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return err
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var known []string
		fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
		msg = "unknown flag -" + name
		if near := strictyaml.Closest(strings.TrimLeft(name, "-"), known); near != "" {
			msg += fmt.Sprintf(" (did you mean -%s?)", near)
		}
	}
	return usagef("%s: %s; see %s -h", strings.TrimPrefix(fs.Name(), "bench "), msg, fs.Name())
}

// envOr returns getenv(key) when set, else def.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
