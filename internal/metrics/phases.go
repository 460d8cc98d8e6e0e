package metrics

import (
	"math"

	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// faultPhases maps a fault verb (the scenario's vocabulary) to the phase it opens (the
// summary's).
var faultPhases = map[string]string{
	scenarios.FaultKillRedis:      summary.PhaseRedisDown,
	scenarios.FaultSlowRedis:      summary.PhaseRedisSlow,
	scenarios.FaultPartitionRedis: summary.PhaseRedisPartition,
	scenarios.FaultRefuseRedis:    summary.PhaseRedisRefused,
	scenarios.FaultFlapRedis:      summary.PhaseRedisFlap,
	scenarios.FaultFlushRedis:     summary.PhaseRedisFlushed,
	scenarios.FaultKillServer:     summary.PhaseServerDown,
	scenarios.FaultStopServer:     summary.PhaseServerDown,
	scenarios.FaultFailover:       summary.PhaseRedisFailover,
	scenarios.FaultLagReplica:     summary.PhaseReplicaLag,
	scenarios.FaultRestartServer:  summary.PhaseServerRestarted,
	scenarios.FaultRollingRestart: summary.PhaseRollingRestarted,
}

// closers end a fault and open summary.PhaseRecovery.
var closers = map[string]bool{scenarios.FaultStartRedis: true, scenarios.FaultHealRedis: true, scenarios.FaultStartServer: true}

// instant faults are over as soon as they are done; their phase lasts until the next event.
var instant = map[string]bool{scenarios.FaultFlushRedis: true, scenarios.FaultFailover: true,
	scenarios.FaultRestartServer: true, scenarios.FaultRollingRestart: true}

// RecoveryShare is how close to its steady level the per-second overall hit rate must be
// back for a fault phase to count as recovered: within 10%, relative.
const RecoveryShare = 0.9

// boundary is an event that changes the phase, at an offset in seconds from the end of warm-up.
type boundary struct {
	verb string
	at   float64
}

// boundaryOf returns the phase change an event makes, if any.
func boundaryOf(e driver.EventRecord) (boundary, bool) {
	if _, ok := faultPhases[e.Name]; !ok && !closers[e.Name] {
		return boundary{}, false
	}
	return boundary{verb: e.Name, at: e.Offset.Seconds()}, true
}

// phaseIndex is the phase a moment falls in: the number of boundaries at or before it.
func phaseIndex(bs []boundary, t float64) int {
	i := 0
	for i < len(bs) && bs[i].at <= t {
		i++
	}
	return i
}

// window is one phase: [start, end) in seconds from the end of warm-up. For a fault phase,
// faultEnd is when the fault was over (NaN while it never was) and until is how long its
// recovery may be looked for (the next fault, or the end of the run).
type window struct {
	name, fault       string
	start, end        float64
	faultEnd, until   float64
	isFault, isSteady bool
}

// phaseWindows lays the phases out: summary.PhaseSteady until the first boundary, then one phase
// per boundary; end is the end of the measured window.
func phaseWindows(bs []boundary, end float64) []window {
	ws := []window{{name: summary.PhaseSteady, start: 0, end: end, faultEnd: math.NaN(), isSteady: true}}
	if len(bs) > 0 {
		ws[0].end = bs[0].at
	}
	for i, b := range bs {
		w := window{start: b.at, end: end, faultEnd: math.NaN(), fault: b.verb}
		if i+1 < len(bs) {
			w.end = bs[i+1].at
		}
		if closers[b.verb] {
			w.name = summary.PhaseRecovery
		} else {
			w.name, w.isFault = faultPhases[b.verb], true
			switch {
			case instant[b.verb]:
				w.faultEnd = b.at
			case i+1 < len(bs) && closers[bs[i+1].verb]:
				w.faultEnd = bs[i+1].at
			}
			// Recovery is looked for until the next fault (not a closer) or the end.
			w.until = end
			for _, nb := range bs[i+1:] {
				if !closers[nb.verb] {
					w.until = nb.at
					break
				}
			}
		}
		ws = append(ws, w)
	}
	return ws
}

// recoverySeconds is the time from faultEnd until the first whole second (starting at or
// after faultEnd, ending by until) whose overall hit rate hr[i] (-1: no lookups) is back to
// RecoveryShare of steady; nil when it never is, or when there is no steady level.
func recoverySeconds(hr []float64, steady, faultEnd, until float64) *float64 {
	if math.IsNaN(faultEnd) || !(steady > 0) {
		return nil
	}
	const eps = 1e-9
	for i := int(math.Ceil(faultEnd - eps)); i < len(hr) && float64(i+1) <= until+eps; i++ {
		if i < 0 {
			continue
		}
		if hr[i] >= 0 && hr[i] >= RecoveryShare*steady-eps {
			r := math.Max(float64(i)-faultEnd, 0)
			r = math.Round(r*1000) / 1000
			return &r
		}
	}
	return nil
}
