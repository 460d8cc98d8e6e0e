// Command bench is atlasbench: the load-test and benchmark harness for a Redis cache in
// front of a database, and the reference Atlas server it measures. See `bench help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first interrupt stops the run, which still writes what it measured; a second one
	// ends the process at once (the children die with it: they were started with Pdeathsig).
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}
