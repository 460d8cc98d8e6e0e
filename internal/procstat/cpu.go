package procstat

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of the CPU times in /proc: 100 on every
// Linux architecture Go supports (sysconf(_SC_CLK_TCK) would need cgo).
const clockTicks = 100

// CPU is the CPU time pid has used, user and system together: the sum of its threads'
// run times in nanoseconds (/proc/<pid>/task/*/schedstat) where the kernel keeps them, else
// /proc/<pid>/stat's utime + stime in clock ticks (10 ms). 0 when the process is gone or
// /proc is not available. The nanosecond sum leaves out threads that have exited (a Go
// process keeps its threads), so compare two readings of one process, never of two kinds.
func CPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	if d, ok := schedCPU(pid); ok {
		return d
	}
	return statCPU(pid)
}

// schedCPU sums the first field (time on a CPU, ns) of every thread's schedstat.
func schedCPU(pid int) (time.Duration, bool) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil || len(tasks) == 0 {
		return 0, false
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if errors.Is(err, fs.ErrNotExist) {
			if _, err := os.Stat(dir + "/" + t.Name()); err != nil {
				continue // the thread exited between the listing and the read
			}
			return 0, false // no schedstat on this kernel
		}
		if err != nil {
			return 0, false
		}
		f, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, false
		}
		sum += time.Duration(ns)
	}
	return sum, true
}

// statCPU is utime + stime from /proc/<pid>/stat, in clock ticks.
func statCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from the
	// last ')'. utime and stime are fields 14 and 15, the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	fs := strings.Fields(string(b[i+1:]))
	if len(fs) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(fs[11], 10, 64)
	st, err2 := strconv.ParseInt(fs[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return ticks(ut + st)
}

// Machine is a reading of the whole machine's CPU time (/proc/stat): Busy is every CPU's
// time outside idle and iowait, Total every CPU's time.
type Machine struct {
	Busy, Total time.Duration
}

// MachineCPU reads the machine's CPU time; the zero Machine when /proc is not available.
func MachineCPU() Machine {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return Machine{}
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	fs := strings.Fields(string(line))
	if len(fs) < 5 || fs[0] != "cpu" {
		return Machine{}
	}
	var m Machine
	for i, f := range fs[1:] {
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return Machine{}
		}
		m.Total += ticks(v)
		if i != 3 && i != 4 { // idle, iowait
			m.Busy += ticks(v)
		}
	}
	return m
}

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / clockTicks }
