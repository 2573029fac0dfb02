package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// memStats is what the emulator's runtime reports after a forced GC
// (/debug/pprof/heap?gc=1&debug=1, served with KVSRTC_PPROF=1): the heap
// in use is exact, unlike RSS, which also holds freed pages the runtime has
// not yet returned to the OS.
type memStats struct {
	HeapAlloc, HeapInuse, StackInuse, HeapObjects int64
	NumGC                                         int64
	PauseNs                                       []int64 // the runtime's ring of the last 256 pauses
}

// readMemStats forces a GC in the emulator and reads its MemStats.
func readMemStats(base string) (memStats, error) {
	var m memStats
	resp, err := http.Get(base + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("GET /debug/pprof/heap: %s (is KVSRTC_PPROF=1 set for the emulator?)", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "# "), " = ")
		if !ok {
			continue
		}
		first := func() int64 { n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64); return n }
		switch k {
		case "HeapAlloc":
			m.HeapAlloc = first()
		case "HeapInuse":
			m.HeapInuse = first()
		case "HeapObjects":
			m.HeapObjects = first()
		case "Stack":
			m.StackInuse = first() // "inuse / sys"
		case "NumGC":
			m.NumGC = first()
		case "PauseNs":
			for _, f := range strings.Fields(strings.Trim(v, "[]")) {
				n, _ := strconv.ParseInt(f, 10, 64)
				m.PauseNs = append(m.PauseNs, n)
			}
		}
	}
	return m, sc.Err()
}

// pausesSince returns the count and the longest of the GC pauses between
// two reads (at most the runtime's last 256), leaving out the GC that the
// second read forced.
func pausesSince(before, after memStats) (int64, time.Duration) {
	last := after.NumGC - 1 // the forced one
	n := last - before.NumGC
	var longest int64
	for i := last - min(n, int64(len(after.PauseNs))); i < last && len(after.PauseNs) > 0; i++ {
		longest = max(longest, after.PauseNs[i%int64(len(after.PauseNs))])
	}
	return n, time.Duration(longest)
}

// saveProfile stores the emulator's heap profile (after a forced GC) as
// dir/name.pb.gz, for `go tool pprof -base idle.pb.gz open.pb.gz`.
func saveProfile(base, dir, name string) error {
	resp, err := http.Get(base + "/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(filepath.Join(dir, name+".pb.gz"))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// saveCPUProfile stores the emulator's CPU profile over most of the
// driving time as dir/cpu.pb.gz.
func saveCPUProfile(base, dir string, dur time.Duration) error {
	secs := max(1, int((dur - time.Second).Seconds()))
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(filepath.Join(dir, "cpu.pb.gz"))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// selfCPU is this process's user + system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuTime is a process's user + system CPU time (/proc/pid/stat).
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100, nil // USER_HZ is 100 on Linux
}
