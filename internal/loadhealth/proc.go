package loadhealth

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The machine's counters as /proc gives them. Each reader says whether its file could be
// read and parsed; a machine without PSI (an old kernel, psi=0, macOS) has no
// /proc/pressure/cpu, and the figures built on it are then -1.

// readPSI reads the cumulative microseconds during which at least one task waited for a
// CPU: the total of the "some" line of root/pressure/cpu.
func readPSI(root string) (totalUS int64, ok bool) {
	data, err := os.ReadFile(filepath.Join(root, "pressure", "cpu"))
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		rest, found := strings.CutPrefix(line, "some ")
		if !found {
			continue
		}
		for f := range strings.FieldsSeq(rest) {
			if v, found := strings.CutPrefix(f, "total="); found {
				n, err := strconv.ParseInt(v, 10, 64)
				return n, err == nil
			}
		}
	}
	return 0, false
}

// cpuTimes is the aggregate "cpu" line of /proc/stat, in clock ticks.
type cpuTimes struct {
	total, steal uint64
}

// readStat reads the machine's CPU time and its steal share from root/stat: the first
// line, "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (guest
// time is already counted in user and nice, so it is not added again).
func readStat(root string) (cpuTimes, bool) {
	data, err := os.ReadFile(filepath.Join(root, "stat"))
	if err != nil {
		return cpuTimes{}, false
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 9 || fields[0] != "cpu" {
		return cpuTimes{}, false
	}
	var t cpuTimes
	for i, f := range fields[1:min(len(fields), 9)] { // user … steal
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return cpuTimes{}, false
		}
		t.total += v
		if i == 7 {
			t.steal = v
		}
	}
	return t, true
}

// readLoad reads the 1-minute load average from root/loadavg.
func readLoad(root string) (float64, bool) {
	data, err := os.ReadFile(filepath.Join(root, "loadavg"))
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	return v, err == nil
}

// share is part/whole clamped to [0, 1]; 0 when whole is not positive.
func share(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return min(max(part/whole, 0), 1)
}
