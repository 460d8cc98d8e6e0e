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

// runBench calls run as main would, with the built binary for the server.
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
