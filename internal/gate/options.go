package gate

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/atlasbench/atlasbench/internal/stats"
)

// Options configure Compare. The zero Options are the defaults.
type Options struct {
	// Tolerances override the default tolerance of the metrics under a path prefix: "latency"
	// covers latency.p99, nocache.latency.p99 and by_endpoint[…].p99; "latency.p99" only that
	// one (the longest matching prefix wins, then the metric's family). A tolerance is
	// relative (0.10 = 10% of the baseline) except for ratios (hit_rate*, success_ratio,
	// db_query_reduction: absolute, 0.02 = 2 points) and the strict counts (errors,
	// isolation_violations, stale_reads: an absolute count). See DefaultTolerances.
	Tolerances map[string]float64
	// Alpha is the significance level of the Mann-Whitney U test; default 0.05.
	Alpha float64
	// Confidence is the level of the confidence intervals printed around medians; default 0.95.
	Confidence float64
	// CountsOnly judges only what does not drift with the machine (hit rates, DB queries,
	// success ratio, errors, isolation, staleness); latency and the other timings are shown
	// "not judged". For a baseline recorded on another day or machine: bench gate -against
	// judges timings in one job instead.
	CountsOnly bool
}

// DefaultTolerances returns the tolerance of each metric family: latency, service time and
// the server's own time of cache hits 10% (relative),
// hit rate 2 points (absolute), DB queries per request 5% (relative), errors, isolation
// violations and stale reads 0 (strict: any increase fails), and the rest.
func DefaultTolerances() map[string]float64 {
	return map[string]float64{
		"latency":              0.10,
		"service_time":         0.10,
		"server_latency":       0.10,
		"hit_rate":             0.02,
		"db_queries":           0.05,
		"db_query_reduction":   0.02,
		"success_ratio":        0.001,
		"speedup":              0.10,
		"rate":                 0.05,
		"recovery_s":           0.25,
		"errors":               0,
		"isolation_violations": 0,
		"stale_reads":          0,
	}
}

// defaultTolerance applies to a metric family DefaultTolerances does not name.
const defaultTolerance = 0.10

// Default levels.
const (
	DefaultAlpha      = stats.DefaultAlpha
	DefaultConfidence = stats.DefaultConfidence
)

// resolved is Options with defaults filled in and checked.
type resolved struct {
	tolerances map[string]float64
	alpha      float64
	confidence float64
	countsOnly bool
}

// resolve fills in defaults and reports every bad option at once.
func (o Options) resolve() (resolved, error) {
	r := resolved{tolerances: DefaultTolerances(), alpha: o.Alpha, confidence: o.Confidence, countsOnly: o.CountsOnly}
	var errs []error
	if r.alpha == 0 {
		r.alpha = DefaultAlpha
	}
	if !(r.alpha > 0 && r.alpha < 1) {
		errs = append(errs, fmt.Errorf("gate: alpha %v: must be between 0 and 1", o.Alpha))
	}
	if r.confidence == 0 {
		r.confidence = DefaultConfidence
	}
	if !(r.confidence > 0 && r.confidence < 1) {
		errs = append(errs, fmt.Errorf("gate: confidence %v: must be between 0 and 1", o.Confidence))
	}
	for k, v := range o.Tolerances {
		if k == "" || !(v >= 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("gate: tolerance %q = %v: must be a metric path prefix and a number >= 0", k, v))
			continue
		}
		r.tolerances[k] = v
	}
	return r, errors.Join(errs...)
}

// tolerance finds the tolerance of a metric: the longest key that is a path prefix of the
// metric (with or without "nocache."), else its family's, else defaultTolerance.
func (r resolved) tolerance(metric, family string) float64 {
	best, bestLen := 0.0, -1
	for _, m := range []string{metric, strings.TrimPrefix(metric, "nocache.")} {
		for k, v := range r.tolerances {
			if (m == k || strings.HasPrefix(m, k+".") || strings.HasPrefix(m, k+"[")) && len(k) > bestLen {
				best, bestLen = v, len(k)
			}
		}
	}
	if bestLen >= 0 {
		return best
	}
	if v, ok := r.tolerances[family]; ok {
		return v
	}
	return defaultTolerance
}

// ParseTolerance parses a command-line tolerance "PREFIX=VALUE": "latency=20%" (0.20),
// "latency.p99=0.15", "hit_rate=3pts" or "hit_rate=0.03" (3 points), "errors=2".
func ParseTolerance(s string) (prefix string, value float64, err error) {
	prefix, val, ok := strings.Cut(s, "=")
	prefix, val = strings.TrimSpace(prefix), strings.TrimSpace(val)
	if !ok || prefix == "" || val == "" {
		return "", 0, fmt.Errorf("gate: tolerance %q: want PREFIX=VALUE, e.g. latency=20%% or hit_rate=2pts", s)
	}
	scale := 1.0
	for _, suffix := range []string{"%", "pts", "pt"} {
		if v, ok := strings.CutSuffix(val, suffix); ok {
			val, scale = strings.TrimSpace(v), 0.01
			break
		}
	}
	v, err := strconv.ParseFloat(val, 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) {
		return "", 0, fmt.Errorf("gate: tolerance %q: %q is not a number >= 0", s, val)
	}
	return prefix, v * scale, nil
}
