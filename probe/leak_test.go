package probe_test

import (
	"context"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/probe/probetest"
)

// leakPorts are the fake peer's scenarios a leak run cycles through: every
// kind of ending (open, refused, ICMP hard and soft, timeout, a
// retransmission, a wrong ACK answered, forged packets ignored).
var leakPorts = []uint16{
	probetest.PortOpen, probetest.PortClosed, probetest.PortICMPPort, probetest.PortICMPHost,
	probetest.PortICMPNet, probetest.PortSilent, probetest.PortDropFirst, probetest.PortBadThenOK,
	probetest.PortSpoofFirst,
}

// leakTargets returns n targets with distinct 4-tuples over both families:
// the fake routes every address of 198.18.0.0/15 and fd00::/8 and answers
// by port alone.
func leakTargets(n int) []probe.Target {
	ts := make([]probe.Target, 0, n)
	for i := 0; len(ts) < n; i++ {
		port := leakPorts[i%len(leakPorts)]
		host := i / len(leakPorts)
		var a netip.Addr
		if i%2 == 0 {
			a = netip.AddrFrom4([4]byte{198, 18, 100 + byte(host>>8), byte(host)})
		} else {
			a = netip.AddrFrom16([16]byte{0xfd, 0, 0, 0x64, 14: byte(host >> 8), 15: byte(host)})
		}
		ts = append(ts, target(a, port))
	}
	return ts
}

// footprint is what a process holds that a prober could leak.
type footprint struct {
	goroutines int
	fds        int
	heap       uint64 // HeapAlloc after two GCs
	// live is the heap the memory profile sees in use after those GCs,
	// less the runtime's goroutine descriptors: the runtime never frees
	// those, so they grow to the most goroutines ever alive at once, which
	// depends on scheduling (one round peaked about 1,200 higher than the
	// one before: 525 KiB more HeapAlloc with nothing leaked).
	live int64
}

// liveHeap sums the memory profile's in-use bytes, leaving out the
// allocations made by runtime.malg (goroutine descriptors). It needs
// runtime.MemProfileRate = 1 from before the first measured allocation.
func liveHeap() int64 {
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+64)
	}
	var sum int64
	for i := range recs {
		if !fromMalg(recs[i].Stack()) {
			sum += recs[i].InUseBytes()
		}
	}
	return sum
}

// fromMalg reports whether an allocation's stack is the runtime allocating a
// goroutine descriptor.
func fromMalg(stk []uintptr) bool {
	frames := runtime.CallersFrames(stk)
	for {
		f, more := frames.Next()
		if f.Function == "runtime.malg" {
			return true
		}
		if !more {
			return false
		}
	}
}

func measure(t *testing.T) footprint {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("counting open file descriptors in /proc/self/fd: %v", err)
	}
	return footprint{goroutines: runtime.NumGoroutine(), fds: len(fds), heap: ms.HeapAlloc, live: liveHeap()}
}

// settle waits (bounded) for goroutines that are finishing to end, then
// measures.
func settle(t *testing.T, base footprint) footprint {
	t.Helper()
	var f footprint
	for deadline := time.Now().Add(3 * time.Second); ; {
		f = measure(t)
		if f.goroutines <= base.goroutines || time.Now().After(deadline) {
			return f
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runBatch runs one Prober over a fresh fake network and checks every
// target got exactly one result and every port and link was given back.
func runBatch(t *testing.T, targets []probe.Target) {
	t.Helper()
	n := probetest.New()
	prof := probe.Classic()
	s, err := probe.ParseSchedule("0,100ms/250ms")
	if err != nil {
		t.Fatal(err)
	}
	prof.Schedule = s
	pr, err := probe.New(probe.Config{Profile: prof, Network: n, Options: probe.DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := 0
	if err := pr.Run(ctx, targets, func(*probe.Result) { got++ }); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got != len(targets) {
		t.Fatalf("%d results for %d targets", got, len(targets))
	}
	if h := n.HeldPorts(); h != 0 {
		t.Errorf("%d source ports still reserved after Run", h)
	}
	if err := pr.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if o := n.OpenLinks(); o != 0 {
		t.Errorf("%d links still open after Close", o)
	}
}

// TestNoLeaks runs 5,000 probes in one process through the fake network,
// twice, and checks that goroutines and file descriptors come back to
// their baseline and that the heap does not grow from the first 5,000 to
// the second (issue 6, "Leaks"). Comparing two equal rounds cancels what
// the runtime keeps for reuse and what earlier tests in the package left;
// anything a probe leaks would show up twice.
func TestNoLeaks(t *testing.T) {
	// Every allocation in the profile, so liveHeap can leave out the
	// runtime's own; restored for the tests after this one.
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	synctest.Test(t, func(t *testing.T) {
		const (
			total = 5000
			batch = 1000
			// heapSlack is what the live heap may grow by over the second
			// 5,000 probes: it varied by under 11 KiB between rounds. A leak
			// of 7 bytes per probe would exceed it.
			heapSlack = 32 << 10
		)
		round := func() time.Duration {
			start := time.Now()
			for done := 0; done < total; done += batch {
				runBatch(t, leakTargets(batch))
			}
			return time.Since(start)
		}
		// Warm up: the runtime keeps the descriptors of ended goroutines and
		// its semaphore waiters for reuse, and first uses of crypto/rand and
		// timers allocate for the life of the process.
		runBatch(t, leakTargets(batch))
		base := settle(t, footprint{goroutines: 1 << 30})
		took := round()
		mid := settle(t, base)
		round()
		after := settle(t, base)
		t.Logf("%d probes in %v; goroutines %d -> %d -> %d, fds %d -> %d -> %d, heap %d -> %d -> %d bytes (%d -> %d -> %d without goroutine descriptors)",
			total, took, base.goroutines, mid.goroutines, after.goroutines, base.fds, mid.fds, after.fds,
			base.heap, mid.heap, after.heap, base.live, mid.live, after.live)
		if after.goroutines > base.goroutines {
			buf := make([]byte, 1<<20)
			t.Errorf("goroutines: %d after %d probes, baseline %d\n%s", after.goroutines, 2*total, base.goroutines, buf[:runtime.Stack(buf, true)])
		}
		if after.fds > base.fds {
			t.Errorf("open file descriptors: %d after %d probes, baseline %d", after.fds, 2*total, base.fds)
		}
		if after.live > mid.live+heapSlack {
			t.Errorf("live heap (less goroutine descriptors) grew from %d to %d bytes over the second %d probes (slack %d): about %d bytes kept per probe",
				mid.live, after.live, total, heapSlack, (after.live-mid.live)/total)
		}

	})
}
