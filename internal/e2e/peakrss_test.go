package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
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

// runWatched runs tcpprobe with args in l's client namespace (bounded
// by a minute), calls each with every line it prints and returns its
// peak RSS in bytes; it fails the test unless tcpprobe exits 0 or 1 (a
// port not open) and its peak RSS could be read.
func runWatched(t *testing.T, l *lab.Lab, each func(line string), args ...string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, sc, stderr := startLines(t, ctx, l, args...)
	peakRSS := watchPeakRSS(cmd.Process.Pid)
	for sc.Scan() {
		each(sc.Text())
	}
	rss := int64(peakRSS()) // read before Wait reaps the process
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("tcpprobe %v: %v\nstderr: %s", args, err, stderr.String())
	}
	if rss == 0 {
		t.Fatalf("could not read tcpprobe's peak RSS from /proc")
	}
	return rss
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
