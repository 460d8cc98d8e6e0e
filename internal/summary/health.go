package summary

// GeneratorHealth is how healthy the load generator and its machine were over a mode's
// measured window: the attack's scheduling lag, the machine's CPU pressure (Linux PSI),
// steal time and load average, and the harness's own CPU, GC pauses and Go scheduler
// latency, a sample a second, with their aggregates and the saturation rule's verdict.
// A saturated generator distorts latency, so latency verdicts of such a run are
// INCONCLUSIVE (Summary.Inconclusive); counts are judged as always.
type GeneratorHealth struct {
	EveryS float64 `json:"every_s"` // seconds between samples
	CPUs   int     `json:"cpus"`    // the machine's CPUs, for reading the load average
	// PSI is whether /proc/pressure/cpu could be read (Linux 4.20+ with PSI on); without
	// it the PSI figures are -1 and the rule does not use them.
	PSI bool `json:"psi"`
	// Steal is whether /proc/stat could be read; without it the steal figures are -1.
	Steal bool `json:"steal"`
	// Aggregates are the figures over the whole window.
	Aggregates HealthAggregates `json:"aggregates"`
	// Rule is the saturation rule the window was judged by.
	Rule SaturationRule `json:"rule"`
	// Saturated is the rule's verdict; Reasons say which of its limits the window broke,
	// with the figures ("PSI cpu some avg 62% (above 50% in 80% of the seconds)").
	Saturated bool     `json:"saturated"`
	Reasons   []string `json:"reasons,omitempty"`
	// Timeline is one point per sample, from the end of warm-up.
	Timeline []HealthPoint `json:"timeline"`
	// Shard is, on a merged run, the shard whose health this is ("2/3"): the most
	// saturated shard's, since any shard's saturated generator distorts the merged latency.
	Shard string `json:"shard,omitempty"`
}

// HealthAggregates are a GeneratorHealth's figures over the whole window.
type HealthAggregates struct {
	// LagP50MS, LagP99MS and LagMaxMS are how late the attack sent its requests against
	// their intended send times (all 0 in a closed loop, which has no schedule).
	LagP50MS float64 `json:"lag_p50_ms"`
	LagP99MS float64 `json:"lag_p99_ms"`
	LagMaxMS float64 `json:"lag_max_ms"`
	// PSISomeMean and PSISomeMax are the share of time at least one task of the machine
	// waited for a CPU (PSI cpu "some"), the mean and the worst second; -1 without PSI.
	PSISomeMean float64 `json:"psi_some_mean"`
	PSISomeMax  float64 `json:"psi_some_max"`
	// StealMean and StealMax are the share of CPU time the hypervisor gave to others
	// (/proc/stat steal); -1 when unknown.
	StealMean float64 `json:"steal_mean"`
	StealMax  float64 `json:"steal_max"`
	// Load1Mean and Load1Max are the 1-minute load average (/proc/loadavg).
	Load1Mean float64 `json:"load1_mean"`
	Load1Max  float64 `json:"load1_max"`
	// HarnessCPUMean and HarnessCPUMax are the CPU the harness process used, in cores.
	HarnessCPUMean float64 `json:"harness_cpu_mean"`
	HarnessCPUMax  float64 `json:"harness_cpu_max"`
	// GCPauseTotalMS and GCPauseMaxMS are the harness's stop-the-world GC pauses
	// (runtime/metrics /sched/pauses/total/gc:seconds; the max is its bucket's bound).
	GCPauseTotalMS float64 `json:"gc_pause_total_ms"`
	GCPauseMaxMS   float64 `json:"gc_pause_max_ms"`
	// SchedP99MS and SchedMaxMS are how long the harness's runnable goroutines waited
	// for a thread (runtime/metrics /sched/latencies:seconds).
	SchedP99MS float64 `json:"sched_p99_ms"`
	SchedMaxMS float64 `json:"sched_max_ms"`
	// SaturatedShare is the share of the samples the rule found saturated.
	SaturatedShare float64 `json:"saturated_share"`
}

// HealthPoint is one sample of a GeneratorHealth: the figures over the second before T.
type HealthPoint struct {
	T          float64 `json:"t_s"` // seconds from the end of warm-up
	LagP99MS   float64 `json:"lag_p99_ms"`
	LagMaxMS   float64 `json:"lag_max_ms"`
	PSISome    float64 `json:"psi_some"` // -1 without PSI
	Steal      float64 `json:"steal"`    // -1 when unknown
	Load1      float64 `json:"load1"`
	HarnessCPU float64 `json:"harness_cpu"` // cores
	GCPauseMS  float64 `json:"gc_pause_ms"`
	SchedP99MS float64 `json:"sched_p99_ms"`
	Saturated  bool    `json:"saturated"`
}

// SaturationRule decides when a window's generator was saturated enough to distort
// latency: a sample is saturated when any of its limits is exceeded (a zero limit is not
// checked), and the window when more than Share of its samples are (bench run
// -saturation; docs/CLI.md).
type SaturationRule struct {
	// Off: never judged saturated (-saturation off).
	Off        bool    `json:"off,omitempty"`
	LagP99MS   float64 `json:"lag_p99_ms"`   // the attack's scheduling lag, p99 of a sample
	SchedP99MS float64 `json:"sched_p99_ms"` // the harness's Go scheduler latency, p99 of a sample
	PSISome    float64 `json:"psi_some"`     // PSI cpu some, share of a sample
	Steal      float64 `json:"steal"`        // steal time, share of a sample
	Share      float64 `json:"share"`        // share of the samples that must be saturated
}
