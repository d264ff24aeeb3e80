package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// watchPeakRSS follows process pid's peak resident set (VmHWM: the high
// water mark of its own memory map, which starts afresh at exec) until
// stop is called, and stop returns the largest it saw, in bytes (0 if it
// never could read it). A child's rusage cannot tell this: os/exec starts
// it with vfork, and exec carries the parent's peak (the test binary's)
// into the child's ru_maxrss.
func watchPeakRSS(pid int) (stop func() uint64) {
	var (
		mu   sync.Mutex
		peak uint64
	)
	done := make(chan struct{})
	finished := make(chan struct{})
	path := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if v, ok := vmHWM(path); ok {
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// vmHWM reads the VmHWM line of a /proc/PID/status file, in bytes.
func vmHWM(path string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
