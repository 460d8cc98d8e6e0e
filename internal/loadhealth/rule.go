package loadhealth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// DefaultRule is the saturation rule of -saturation auto: a second is saturated when the
// attack sent its requests more than 50 ms late at p99, the harness's goroutines waited
// more than 50 ms for a thread at p99, a task of the machine waited for a CPU more than
// 50% of the second (PSI cpu some), or the hypervisor stole more than 10% of the CPU time;
// the window is saturated when more than 20% of its seconds are.
func DefaultRule() summary.SaturationRule {
	return summary.SaturationRule{LagP99MS: 50, SchedP99MS: 50, PSISome: 0.5, Steal: 0.1, Share: 0.2}
}

// ParseRule reads a -saturation value: "auto" (DefaultRule), "off" (never saturated), or
// DefaultRule with some limits changed, comma-separated: "lag=100ms,psi=60%,steal=20%,
// sched=80ms,share=30%" (a limit of 0 is not checked). Errors name the key.
func ParseRule(s string) (summary.SaturationRule, error) {
	switch strings.TrimSpace(s) {
	case "", "auto":
		return DefaultRule(), nil
	case "off":
		return summary.SaturationRule{Off: true}, nil
	}
	r := DefaultRule()
	var errs []error
	for item := range strings.SplitSeq(s, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			errs = append(errs, fmt.Errorf("%q: want key=value (lag, sched, psi, steal or share), auto or off", item))
			continue
		}
		var err error
		switch key {
		case "lag":
			r.LagP99MS, err = millis(val)
		case "sched":
			r.SchedP99MS, err = millis(val)
		case "psi":
			r.PSISome, err = ratio(val)
		case "steal":
			r.Steal, err = ratio(val)
		case "share":
			r.Share, err = ratio(val)
		default:
			err = errors.New("unknown key (want lag, sched, psi, steal or share)")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: %w", key, val, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return summary.SaturationRule{}, err
	}
	return r, nil
}

// millis reads a duration such as 50ms (0 turns the limit off).
func millis(v string) (float64, error) {
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("want a duration such as 50ms, or 0 (not checked)")
	}
	return float64(d.Microseconds()) / 1000, nil
}

// ratio reads a share as a percent (60%) or a fraction (0.6) in [0, 1].
func ratio(v string) (float64, error) {
	num, pct := strings.CutSuffix(v, "%")
	f, err := strconv.ParseFloat(num, 64)
	if pct {
		f /= 100
	}
	if err != nil || f < 0 || f > 1 {
		return 0, errors.New("want a share such as 60% or 0.6, from 0 to 1 (0: not checked)")
	}
	return f, nil
}

// limit is one limit of a rule, read from a point.
type limit struct {
	max   float64
	ms    bool // the limit is in milliseconds, else a share
	value func(p summary.HealthPoint) float64
	// why says what the window measured against the limit, for a reason.
	why func(a summary.HealthAggregates) string
}

func limits(r summary.SaturationRule) []limit {
	return []limit{
		{r.PSISome, false, func(p summary.HealthPoint) float64 { return p.PSISome },
			func(a summary.HealthAggregates) string { return "PSI cpu some avg " + render.Percent(a.PSISomeMean) }},
		{r.LagP99MS, true, func(p summary.HealthPoint) float64 { return p.LagP99MS },
			func(a summary.HealthAggregates) string {
				return "scheduling lag p99 " + render.Sig(a.LagP99MS, 3) + " ms"
			}},
		{r.SchedP99MS, true, func(p summary.HealthPoint) float64 { return p.SchedP99MS },
			func(a summary.HealthAggregates) string {
				return "harness Go scheduler latency p99 " + render.Sig(a.SchedP99MS, 3) + " ms"
			}},
		{r.Steal, false, func(p summary.HealthPoint) float64 { return p.Steal },
			func(a summary.HealthAggregates) string { return "CPU steal avg " + render.Percent(a.StealMean) }},
	}
}

// Judge applies h.Rule to h: it marks each point of the timeline saturated when one of
// the rule's limits is exceeded there (a figure of -1, unknown, exceeds none), sets the
// saturated share, and says whether the window was saturated (more than Rule.Share of its
// points) and why: one reason per limit exceeded somewhere, with the window's figure and
// in how many samples, "PSI cpu some avg 62% (above 50% in 8 of 10 samples)".
func Judge(h *summary.GeneratorHealth) {
	r := h.Rule
	h.Saturated, h.Reasons, h.Aggregates.SaturatedShare = false, nil, 0
	ls := limits(r)
	over := make([]int, len(ls))
	n := 0
	for i := range h.Timeline {
		p := &h.Timeline[i]
		p.Saturated = false
		if r.Off {
			continue
		}
		for j, l := range ls {
			if l.max > 0 && l.value(*p) > l.max {
				p.Saturated = true
				over[j]++
			}
		}
		if p.Saturated {
			n++
		}
	}
	if len(h.Timeline) == 0 {
		return
	}
	h.Aggregates.SaturatedShare = float64(n) / float64(len(h.Timeline))
	if r.Off || h.Aggregates.SaturatedShare <= r.Share {
		return
	}
	h.Saturated = true
	for j, l := range ls {
		if over[j] == 0 {
			continue
		}
		bound := render.Percent(l.max)
		if l.ms {
			bound = render.Sig(l.max, 3) + " ms"
		}
		h.Reasons = append(h.Reasons, fmt.Sprintf("%s (above %s in %d of %d samples)", l.why(h.Aggregates), bound, over[j], len(h.Timeline)))
	}
}

// Finding is the sentence a report opens with when h was saturated ("" otherwise):
// "generator health: the machine was saturated (PSI cpu some avg 62%, scheduling lag p99
// 180 ms): latency verdicts are INCONCLUSIVE".
func Finding(h *summary.GeneratorHealth) string {
	if h == nil || !h.Saturated {
		return ""
	}
	var short []string
	for _, r := range h.Reasons {
		s, _, _ := strings.Cut(r, " (above")
		short = append(short, s)
	}
	shard := ""
	if h.Shard != "" {
		shard = "shard " + h.Shard + ": "
	}
	return "generator health: " + shard + "the machine was saturated (" + strings.Join(short, ", ") + "): latency verdicts are INCONCLUSIVE"
}
