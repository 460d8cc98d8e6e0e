package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/compare"
	"github.com/atlasbench/atlasbench/internal/runner"
)

// clientCacheVariants are the two sides of bench compare -client-caches, in column order:
// the reference without client caches first.
var clientCacheVariants = []struct {
	on     bool
	suffix string
}{{false, "client caches off"}, {true, "client caches on"}}

// compareClientCaches runs the scenario under each config with the devices' caches off, then
// on (scenarios.Scenario.WithClientCaches), and renders them side by side: what a load test
// that ignores browser caches misjudges. The variants of one config run one after the other
// (each with o.Count repeats), not interleaved. It writes Out/<timestamp>-<scenario>-compare/
// with one directory per config and variant; nothing when nothing was measured.
func compareClientCaches(ctx context.Context, o runner.Options, configs []string, stdout io.Writer) error {
	sc := o.Scenario
	root := filepath.Join(o.Out, time.Now().UTC().Format("20060102T150405Z")+"-"+sc.Name+"-compare")
	var runs []compare.Run
	var runErr error
	for _, config := range configs {
		for _, v := range clientCacheVariants {
			vo := o
			vo.Config = config
			vo.Scenario = sc.WithClientCaches(v.on)
			vo.Out = filepath.Join(root, variantDir(config, v.on))
			res, err := runner.Run(ctx, vo)
			if res != nil {
				runs = append(runs, compare.Run{Config: config + ", " + v.suffix, Summary: res.Summary})
			}
			if err != nil || ctx.Err() != nil {
				runErr = err
				break
			}
		}
		if runErr != nil || ctx.Err() != nil {
			break
		}
	}
	if len(runs) < 2 {
		os.RemoveAll(root) // nothing to compare: leave no directory behind
		if runErr != nil {
			return runExit(ctx, runErr, nil)
		}
		return failError{"compare: interrupted before client caches were measured off and on"}
	}
	tbl, err := compare.Render(root, runs)
	if err != nil {
		return envError{err}
	}
	runner.LinkLatest(o.Out, root, runner.LatestCompareLink)
	fmt.Fprintln(stdout)
	tbl.Write(stdout)
	fmt.Fprintf(stdout, "\ncompare: %s\n", filepath.Join(root, compare.MarkdownFile))
	if runErr != nil {
		return runExit(ctx, runErr, nil)
	}
	if ctx.Err() != nil {
		return failError{"compare: interrupted before every config was measured with client caches off and on"}
	}
	return nil
}

// variantDir is the directory of one config's variant under the compare directory:
// "default-client-caches-on"; each holds that run's directory and its latest link.
func variantDir(config string, on bool) string {
	state := "off"
	if on {
		state = "on"
	}
	return strings.TrimSuffix(filepath.Base(config), filepath.Ext(config)) + "-client-caches-" + state
}
