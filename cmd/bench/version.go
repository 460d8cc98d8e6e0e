package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/atlasbench/atlasbench/refserver"
)

const versionUsage = `version

Prints the version of bench: the module version (a release tag, or "(devel)" for a build
from a checkout), the VCS revision it was built from, and the Go version. Also bench --version.`

func runVersion(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", versionUsage, stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version: unexpected argument %q", fs.Arg(0))
	}
	_, err := fmt.Fprintln(stdout, versionLine())
	return err
}

// versionLine is "bench VERSION (revision REV[, modified], built at TIME, GO)" from the
// build information the Go toolchain stamps into the binary.
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "bench (unknown version: built without module information)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var details []string
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if settings["vcs.modified"] == "true" {
			rev += ", modified"
		}
		details = append(details, "revision "+rev)
	}
	if t := settings["vcs.time"]; t != "" {
		details = append(details, "committed "+t)
	}
	details = append(details, bi.GoVersion)
	if sd, _ := refserver.BuildSlowdown(); !sd.Zero() {
		details = append(details, "TEST-ONLY build: cache hits slowed by "+sd.String())
	}
	return "bench " + version + " (" + strings.Join(details, ", ") + ")"
}
