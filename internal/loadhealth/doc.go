// Package loadhealth owns the health of the load generator and its machine over a measured
// window: a Sampler takes a sample a second of the machine's CPU pressure (Linux PSI,
// /proc/pressure/cpu), steal time (/proc/stat) and load average (/proc/loadavg), of the
// harness's own CPU, GC pauses and Go scheduler latency (runtime/metrics), and of the
// attack's scheduling lag (how late requests were sent against their intended times, fed
// by Lag), and keeps the timeline and its aggregates. The saturation rule (Rule, ParseRule,
// Judge) decides when the generator was saturated enough to distort latency; the runner
// then makes the run's latency verdicts INCONCLUSIVE. The /proc root is an option, so tests
// read fixtures.
package loadhealth
