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
// the engine without the command line's output. It runs with the Ps the
// command sets (probe.UseSweepProcs).
func sweep(host, schedule, rate, profile string) error {
	probe.UseSweepProcs()
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
	// Ready as the command line sets it: next hops are resolved before the
	// first SYN, so no probe waits for one.
	pr, err := probe.New(probe.Config{Profile: prof, Options: probe.DefaultOptions(), Rate: r, Ready: func() error { return nil }})
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
	var first, last, lastDone time.Time
	err = pr.Run(context.Background(), targets, func(r *probe.Result) {
		if first.IsZero() || r.Started.Before(first) {
			first = r.Started
		}
		if r.Started.After(last) {
			last = r.Started
		}
		if r.Finished.After(lastDone) {
			lastDone = r.Finished
		}
		counts[r.Outcome]++
		n++
		if n%8192 == 0 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			maxHeap = max(maxHeap, m.HeapAlloc)
		}
	})
	took := time.Since(start)
	end := time.Now()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Printf("%v %v stats=%+v heap=%d MiB mallocs/probe=%.1f bytes/probe=%.0f\n", took, counts, pr.Stats(),
		maxHeap>>20, float64(after.Mallocs-before.Mallocs)/65535, float64(after.TotalAlloc-before.TotalAlloc)/65535)
	// Where the time went: before the first SYN, first to last first SYN,
	// last SYN to last decision, last decision to Run's return.
	fmt.Printf("setup %v, launch %v (%.0f probes/s), last decision +%v, emitted +%v\n", first.Sub(start).Round(time.Microsecond),
		last.Sub(first).Round(time.Microsecond), 65535/last.Sub(first).Seconds(), lastDone.Sub(last).Round(time.Microsecond), end.Sub(lastDone).Round(time.Microsecond))
	return err
}
