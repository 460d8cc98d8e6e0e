package procstat

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// Source is one process of the run (or a few, summed: a Redis whose pid changes after a
// kill and restart is still one source). Pids is called at every sample; no pid, or one
// that is gone, is a sample of 0.
type Source struct {
	Name string
	Pids func() []int
}

// Self is the harness's own process.
func Self() Source {
	pid := os.Getpid()
	return Source{Name: "harness", Pids: func() []int { return []int{pid} }}
}

// Sampler samples the RSS of its sources at a fixed interval.
type Sampler struct {
	every   time.Duration
	sources []Source
	mu      sync.Mutex
	rss     [][]float64 // per source, MiB per sample
	peak    []float64   // per source, MiB
}

// NewSampler returns a Sampler that samples every interval (>= 100 ms).
func NewSampler(every time.Duration, sources ...Source) *Sampler {
	return &Sampler{every: max(every, 100*time.Millisecond), sources: sources,
		rss: make([][]float64, len(sources)), peak: make([]float64, len(sources))}
}

// Run samples at once and then every interval until ctx is cancelled, then once more.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	s.Sample()
	for {
		select {
		case <-ctx.Done():
			s.Sample()
			return
		case <-t.C:
			s.Sample()
		}
	}
}

// Sample takes one sample of every source.
func (s *Sampler) Sample() {
	vals := make([]float64, len(s.sources))
	for i, src := range s.sources {
		var b int64
		for _, pid := range src.Pids() {
			b += RSS(pid)
		}
		vals[i] = math.Round(float64(b)/(1<<20)*10) / 10
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, v := range vals {
		s.rss[i] = append(s.rss[i], v)
		s.peak[i] = max(s.peak[i], v)
	}
}

// Series returns what was sampled, one entry per source.
func (s *Sampler) Series() []summary.ProcessRSS {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]summary.ProcessRSS, len(s.sources))
	for i, src := range s.sources {
		out[i] = summary.ProcessRSS{Name: src.Name, EveryS: s.every.Seconds(), PeakMiB: s.peak[i],
			RSSMiB: append([]float64(nil), s.rss[i]...)}
	}
	return out
}

// RSS is the resident set size of pid in bytes (VmRSS of /proc/<pid>/status); 0 when the
// process is gone or /proc is not available.
func RSS(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fs := strings.Fields(rest) // "123456 kB"
			if len(fs) >= 1 {
				kb, _ := strconv.ParseInt(fs[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// GC is a reading of a Go process's GC pause counters.
type GC struct {
	Count int64
	Pause time.Duration // total stop-the-world pause time
}

// Sub is the GC work between an earlier reading and g.
func (g GC) Sub(earlier GC) GC {
	if g.Count < earlier.Count || g.Pause < earlier.Pause {
		// The process was restarted in between (a kill or a deploy): its counters started
		// again from zero, so g is the new process's own; the old one's share is not known.
		return g
	}
	return GC{Count: g.Count - earlier.Count, Pause: g.Pause - earlier.Pause}
}

// SelfGC reads this process's GC counters.
func SelfGC() GC {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return GC{Count: int64(ms.NumGC), Pause: time.Duration(ms.PauseTotalNs)}
}

// ServerGC reads a Go server's GC counters from its Prometheus /metrics
// (go_gc_duration_seconds_count and _sum of the standard Go collector).
func ServerGC(ctx context.Context, client *http.Client, baseURL string) (GC, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/metrics", nil)
	if err != nil {
		return GC{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return GC{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return GC{}, fmt.Errorf("procstat: %s/metrics: %s", baseURL, resp.Status)
	}
	return parseGC(resp.Body)
}

// parseGC reads go_gc_duration_seconds_{count,sum} from Prometheus text.
func parseGC(r io.Reader) (GC, error) {
	var g GC
	found := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "go_gc_duration_seconds_count":
			n, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				return GC{}, fmt.Errorf("procstat: %s: %w", name, err)
			}
			g.Count, found = int64(n), found+1
		case "go_gc_duration_seconds_sum":
			s, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				return GC{}, fmt.Errorf("procstat: %s: %w", name, err)
			}
			g.Pause, found = time.Duration(s*float64(time.Second)), found+1
		}
	}
	if err := sc.Err(); err != nil {
		return GC{}, err
	}
	if found < 2 {
		return GC{}, fmt.Errorf("procstat: no go_gc_duration_seconds in the metrics")
	}
	return g, nil
}
