package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/atlasbench/atlasbench/scenarios"
)

const scenariosUsage = `scenarios

Lists the built-in scenarios with one line each. Run one with "bench run -scenario NAME",
or write your own YAML (the format is in docs/SCENARIOS.md) and pass its path.`

func runScenarios(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scenarios", scenariosUsage, stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("scenarios: unexpected argument %q", fs.Arg(0))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, info := range scenarios.Builtins() {
		fmt.Fprintf(tw, "%s\t%s\n", info.Name, info.Description)
	}
	return tw.Flush()
}
