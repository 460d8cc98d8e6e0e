package runner

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/threshold"
	"github.com/atlasbench/atlasbench/scenarios"
)

// check refuses bad usage before anything starts (no Redis, no directory): cache configs
// that do not load, a -db, -redis or -target that cannot work. Every problem is reported,
// each naming its flag, as one *UsageError.
func (e *engine) check(configs []string) error {
	var errs []error
	for _, c := range configs {
		if _, err := cache.LoadConfig(c); err != nil {
			errs = append(errs, fmt.Errorf("-config %s: %w", c, err))
		}
	}
	if e.Target != "" {
		errs = append(errs, checkTarget(e.Target))
	} else {
		errs = append(errs, stack.CheckDB(e.DB), stack.CheckRedis(e.Redis))
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

// checkThresholds parses every threshold of the scenario before anything starts; a syntax
// error names the scenario file, the line and the thresholds[i] field.
func checkThresholds(sc *scenarios.Scenario) error {
	var errs []error
	for i, t := range sc.Thresholds {
		if _, err := threshold.Parse(t); err != nil {
			errs = append(errs, sc.Problem(fmt.Sprintf("thresholds[%d]", i), err))
		}
	}
	return errors.Join(errs...)
}
