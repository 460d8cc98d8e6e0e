package procstat

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRSSOfSelfAndOfNothing(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system: RSS is not available")
	}
	if b := RSS(os.Getpid()); b < 1<<20 {
		t.Errorf("RSS of this process = %d bytes, want at least 1 MiB", b)
	}
	if b := RSS(0); b != 0 {
		t.Errorf("RSS(0) = %d, want 0", b)
	}
}

// TestSampler: a source per process, a sample per tick plus one at the start and one at the
// end; a process that is gone samples 0.
func TestSampler(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system: RSS is not available")
	}
	gone := Source{Name: "gone", Pids: func() []int { return nil }}
	s := NewSampler(100*time.Millisecond, Self(), gone)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	time.Sleep(350 * time.Millisecond)
	cancel()
	<-done
	ser := s.Series()
	if len(ser) != 2 || ser[0].Name != "harness" || ser[1].Name != "gone" {
		t.Fatalf("series %+v", ser)
	}
	if n := len(ser[0].RSSMiB); n < 2 || n != len(ser[1].RSSMiB) {
		t.Errorf("%d and %d samples", n, len(ser[1].RSSMiB))
	}
	if ser[0].PeakMiB < 1 || ser[0].EveryS != 0.1 {
		t.Errorf("harness %+v", ser[0])
	}
	for _, v := range ser[1].RSSMiB {
		if v != 0 {
			t.Fatalf("a process that is gone sampled %v MiB", v)
		}
	}
}

func TestServerGC(t *testing.T) {
	metrics := `# HELP go_gc_duration_seconds A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.1e-05
go_gc_duration_seconds{quantile="1"} 0.001
go_gc_duration_seconds_sum 0.0125
go_gc_duration_seconds_count 42
go_goroutines 12
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(metrics))
	}))
	defer srv.Close()
	g, err := ServerGC(context.Background(), srv.Client(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if g.Count != 42 || g.Pause != 12500*time.Microsecond {
		t.Errorf("GC %+v, want 42 collections and 12.5 ms", g)
	}
	if d := (GC{Count: 50, Pause: 20 * time.Millisecond}).Sub(g); d.Count != 8 || d.Pause != 7500*time.Microsecond {
		t.Errorf("Sub = %+v", d)
	}
	// A restarted process's counters start again from zero: the new process's own, never negative.
	if d := (GC{Count: 3, Pause: time.Millisecond}).Sub(g); d.Count != 3 || d.Pause != time.Millisecond {
		t.Errorf("Sub across a restart = %+v, want the new process's counters", d)
	}
	if _, err := parseGC(strings.NewReader("go_goroutines 3\n")); err == nil {
		t.Error("metrics without the GC summary: no error")
	}
	if g := SelfGC(); g.Count < 0 || g.Pause < 0 {
		t.Errorf("SelfGC %+v", g)
	}
}

// TestCPU: this process's CPU time grows by about the work it does, and the machine's busy
// time is within its total.
func TestCPU(t *testing.T) {
	pid := os.Getpid()
	before := CPU(pid)
	m0 := MachineCPU()
	x := 0
	for end := CPU(pid) + 300*time.Millisecond; CPU(pid) < end; {
		for i := range 1_000_000 {
			x += i
		}
	}
	if got := CPU(pid) - before; got < 300*time.Millisecond {
		t.Errorf("CPU grew by %s after spinning for 300ms of it (%d)", got, x)
	}
	m1 := MachineCPU()
	if m1.Total <= m0.Total || m1.Busy < m0.Busy || m1.Busy-m0.Busy > m1.Total-m0.Total {
		t.Errorf("machine CPU %+v then %+v", m0, m1)
	}
	if CPU(-1) != 0 || CPU(1<<30) != 0 {
		t.Error("CPU of no process is not 0")
	}
}

// TestCPUResolution: where the kernel keeps per-thread run times, CPU counts finer than the
// clock tick of /proc/<pid>/stat (a reading that is not a whole number of ticks), and never
// more than the tick count's total plus a tick per thread. Nothing here depends on how fast
// the machine runs: the spin is a fixed amount of work, and readings are compared only with
// each other.
func TestCPUResolution(t *testing.T) {
	pid := os.Getpid()
	if _, ok := schedCPU(pid); !ok {
		t.Skip("this kernel keeps no /proc/<pid>/task/*/schedstat: CPU reads clock ticks")
	}
	tick := time.Second / clockTicks
	x, fine := 0, 0
	prev := CPU(pid)
	for range 200 {
		for i := range 10_000 {
			x += i
		}
		cur := CPU(pid)
		if cur < prev {
			t.Fatalf("CPU went back from %s to %s", prev, cur)
		}
		if cur%tick != 0 {
			fine++
		}
		prev = cur
	}
	if fine == 0 {
		t.Errorf("200 readings (%d) were all whole clock ticks: CPU is not finer than a tick", x)
	}
	sched, ticks := CPU(pid), statCPU(pid)
	threads, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if slack := time.Duration(len(threads)+1) * tick; sched > ticks+slack {
		t.Errorf("thread run times %s exceed the process's %s by more than a tick per thread", sched, ticks)
	}
}
