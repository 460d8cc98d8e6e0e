package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// benchBin is a bench binary built once for the tests: bench run starts `bench serve` as a
// child process, and the test binary itself cannot play that part.
var benchBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "atlasbench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	benchBin = filepath.Join(dir, "bench")
	build := exec.Command("go", "build", "-o", benchBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building bench:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBench calls run as main would, with the built binary for the server. run keeps no
// state between calls (no globals, no environment, no working directory; each run its own
// Redis and server on free ports and the -out directory it is given), so the end-to-end
// tests that start a stack run in parallel (t.Parallel): they judge counts and ratios of
// their own run, never the machine's speed. TestDocumentedCommands changes the working
// directory and so stays sequential (go test runs it before the parallel ones), as do
// the claims tests, which run several stacks at once themselves.
func runBench(t *testing.T, ctx context.Context, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	getenv := func(k string) string {
		if k == "ATLAS_BENCH_BIN" {
			return benchBin
		}
		return env[k]
	}
	var out, errb bytes.Buffer
	err := run(ctx, args, getenv, &out, &errb)
	code = exitCode(err, &errb)
	return out.String(), errb.String(), code
}
