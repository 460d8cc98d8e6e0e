// Package procstat samples the resident memory of the processes of a run over time (the
// harness itself, every server instance, every Redis node; Linux /proc, VmRSS) and reads Go
// GC pause totals (the harness's own runtime, a server's Prometheus /metrics), so that a
// soak's summary shows which process grew and whether GC could explain a stall.
package procstat
