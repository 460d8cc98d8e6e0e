package runner

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/stack"
)

// check refuses bad usage before anything starts (no Redis, no directory): cache configs
// that do not load, a -db, -redis or -target that cannot work. Every problem is reported,
// each naming its flag, as one *UsageError.
func (o *Options) check(configs []string) error {
	var errs []error
	for _, c := range configs {
		if _, err := cache.LoadConfig(c); err != nil {
			errs = append(errs, fmt.Errorf("-config %s: %w", c, err))
		}
	}
	if o.Target != "" {
		errs = append(errs, checkTarget(o.Target))
	} else {
		errs = append(errs, stack.CheckDB(o.DB), stack.CheckRedis(o.Redis))
	}
	if err := errors.Join(errs...); err != nil {
		return &UsageError{err}
	}
	return nil
}

// checkTarget checks that -target is an http(s) URL of a server: scheme, host, no query.
func checkTarget(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("-target %q: not a URL: %w", target, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("-target %q: want the server's base URL, e.g. http://127.0.0.1:8000", target)
	}
	return nil
}

// logTail returns the last n lines of the server log w (an *os.File the run wrote), as
// an indented block to append to an error, or "" when there is nothing to show.
func logTail(w io.Writer, n int) string {
	f, ok := w.(*os.File)
	if !ok {
		return ""
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	lines = lines[max(0, len(lines)-n):]
	return "\nthe server's log ended with:\n    " + strings.Join(lines, "\n    ")
}
