package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
)

// sweep runs the Prober itself over every port of host, so a profile shows
// the engine without the command line's output.
func sweep(host, schedule, rate, profile string) error {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	s, err := probe.ParseSchedule(schedule)
	if err != nil {
		return err
	}
	r, err := strconv.ParseFloat(rate, 64)
	if err != nil {
		return err
	}
	prof := probe.Classic()
	prof.Schedule = s
	pr, err := probe.New(probe.Config{Profile: prof, Options: probe.DefaultOptions(), Rate: r})
	if err != nil {
		return err
	}
	defer pr.Close()
	targets := make([]probe.Target, 65535)
	for i := range targets {
		ap := netip.AddrPortFrom(a, uint16(i+1))
		targets[i] = probe.Target{Name: ap.String(), Addr: ap}
	}
	if profile != "-" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	counts := map[probe.Outcome]int{}
	var maxHeap uint64
	n := 0
	start := time.Now()
	err = pr.Run(context.Background(), targets, func(r *probe.Result) {
		counts[r.Outcome]++
		n++
		if n%8192 == 0 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			maxHeap = max(maxHeap, m.HeapAlloc)
		}
	})
	took := time.Since(start)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Printf("%v %v stats=%+v heap=%d MiB mallocs/probe=%.1f bytes/probe=%.0f\n", took, counts, pr.Stats(),
		maxHeap>>20, float64(after.Mallocs-before.Mallocs)/65535, float64(after.TotalAlloc-before.TotalAlloc)/65535)
	return err
}
