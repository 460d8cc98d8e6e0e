package runner

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
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
	if e.Shard.Sharded() && e.Scenario != nil && e.Scenario.Rate.Searching() {
		errs = append(errs, fmt.Errorf("-shard: scenario %s's rate is a capacity search, whose every step is decided by all of its answers: it cannot be sharded", e.Scenario.Name))
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

// usage checks the options one by one and together: every problem, each naming its flag.
func (o *Options) usage() error {
	var errs []error
	if !o.Mode.Valid() {
		errs = append(errs, fmt.Errorf("-mode %q: want cache, nocache or both", o.Mode))
	}
	if err := o.RedisMemory.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("-redis-maxmemory/-redis-policy: %w", err))
	}
	if o.Shard.Sharded() && o.Count > 1 {
		errs = append(errs, errors.New("-shard: a shard runs one measured window; drop -count"))
	}
	if !o.StartAt.IsZero() && (o.Count > 1 || o.Mode == summary.ModeBoth && o.Target == "") {
		errs = append(errs, errors.New("-start-at starts one measured window: use it with -count 1 and -mode cache, -mode nocache or -target"))
	}
	if o.Target == "" && (o.TargetRedis != "" || o.TargetDB != "") {
		errs = append(errs, errors.New("-target-redis and -target-db go with -target (a stack the harness starts has its own witnesses)"))
	}
	if r := o.TargetRedis; r != "" && !strings.HasPrefix(r, "redis://") && !strings.HasPrefix(r, "rediss://") &&
		!strings.HasPrefix(r, "redis+cluster://") && !strings.HasPrefix(r, "rediss+cluster://") {
		errs = append(errs, fmt.Errorf("-target-redis %q: want a redis://, rediss:// or redis+cluster:// URL", cache.RedactURL(r)))
	}
	if d := o.TargetDB; d != "" && !strings.HasPrefix(d, "postgres://") && !strings.HasPrefix(d, "postgresql://") {
		errs = append(errs, fmt.Errorf("-target-db %q: want a postgres:// URL", cache.RedactURL(d)))
	}
	return errors.Join(errs...)
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
