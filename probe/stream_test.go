package probe_test

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/probe/probetest"
	"github.com/tcpprobe/tcpprobe/wire"
)

// streamOf returns a source yielding ts in order, and how many it yielded.
func streamOf(ts []probe.Target) (next func() (probe.Target, bool), pulled func() int) {
	i := 0
	return func() (probe.Target, bool) {
			if i == len(ts) {
				return probe.Target{}, false
			}
			i++
			return ts[i-1], true
		}, func() int {
			return i
		}
}

// fleetTargets returns n targets on different addresses of 198.19.0.0/16
// and fd00:0:0:65::/112, every every-th on silentPort, the rest on port.
func fleetTargets(n, every int, port, silentPort uint16) []probe.Target {
	ts := make([]probe.Target, n)
	for i := range ts {
		a := netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)})
		if i%2 == 1 {
			a = netip.AddrFrom16([16]byte{0xfd, 0, 0, 0, 0, 0, 0, 0x65, 14: byte(i >> 8), 15: byte(i)})
		}
		pt := port
		if every > 0 && i%every == every/2 {
			pt = silentPort
		}
		ts[i] = target(a, pt)
	}
	return ts
}

// TestRunStreamSameAsRun: a stream of every kind of ending gives each
// target exactly one result, at its place in the stream, with the outcome
// Run gives the same targets.
func TestRunStreamSameAsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := leakTargets(3000)
		outcomes := func(stream bool) []string {
			pr, err := probe.New(probe.Config{Profile: short(t), Network: probetest.New(), Options: probe.DefaultOptions()})
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			got := make([]string, len(ts))
			emit := func(r *probe.Result) {
				if r.Index < 0 || r.Index >= len(ts) || got[r.Index] != "" || r.Target != ts[r.Index].Name {
					t.Fatalf("result %q at index %d: not a place of the stream, or a second result", r.Target, r.Index)
				}
				got[r.Index] = fmt.Sprintf("%s %v %s", r.Outcome, r.Errno, r.Reason)
			}
			if stream {
				next, _ := streamOf(ts)
				err = pr.RunStream(context.Background(), next, emit)
			} else {
				err = pr.Run(context.Background(), ts, emit)
			}
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		run, stream := outcomes(false), outcomes(true)
		for i := range ts {
			if stream[i] == "" || stream[i] != run[i] {
				t.Errorf("%s: RunStream says %q, Run %q", ts[i].Name, stream[i], run[i])
			}
		}
	})
}

// TestRunStreamSlowTargetsDoNotStall: a stream of 20,000 targets, one in
// 1,000 silent (it waits out the whole 1 s schedule), ends about 1 s after
// it starts: a silent target holds up only its own place in the window,
// where runs of 4,096 targets at a time would each wait for their slowest
// (five rounds, 5 s).
func TestRunStreamSlowTargetsDoNotStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := probe.ParseSchedule("0,500ms/1s")
		if err != nil {
			t.Fatal(err)
		}
		prof := probe.Classic()
		prof.Schedule = s
		pr, err := probe.New(probe.Config{Profile: prof, Network: probetest.New(), Concurrency: 4096, Rate: 1e6})
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		ts := fleetTargets(20000, 1000, probetest.PortClosed, probetest.PortSilent)
		next, _ := streamOf(ts)
		start := time.Now()
		timeouts, refused := 0, 0
		if err := pr.RunStream(context.Background(), next, func(r *probe.Result) {
			switch r.Outcome {
			case probe.Timeout:
				timeouts++
			case probe.Refused:
				refused++
			}
		}); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if timeouts != 20 || refused != len(ts)-20 {
			t.Errorf("%d timeouts, %d refused; want 20 and %d", timeouts, refused, len(ts)-20)
		}
		if took > 2*time.Second {
			t.Errorf("the stream took %v: silent targets held the others up (want about 1 s)", took)
		}
	})
}

// TestRunStreamInterrupted: cancelling a stream ends it at once; every
// target taken on has one result, and the source is not read further.
func TestRunStreamInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, err := probe.New(probe.Config{Profile: short(t), Network: probetest.New(), Concurrency: 64, Rate: 1000})
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		ts := fleetTargets(100000, 2, probetest.PortClosed, probetest.PortSilent)
		next, pulled := streamOf(ts)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(2*time.Second, cancel)
		seen := map[int]bool{}
		interrupted := 0
		err = pr.RunStream(ctx, next, func(r *probe.Result) {
			if seen[r.Index] {
				t.Errorf("a second result for %s", r.Target)
			}
			seen[r.Index] = true
			if r.Outcome == probe.Interrupted {
				interrupted++
			}
		})
		if err != context.Canceled {
			t.Errorf("RunStream returned %v, want context.Canceled", err)
		}
		n := pulled()
		if n >= len(ts) || n < 1000 {
			t.Errorf("%d targets read from the source in 2 s at 1,000 a second", n)
		}
		if len(seen) != n {
			t.Errorf("%d results for %d targets read", len(seen), n)
		}
		if interrupted == 0 {
			t.Errorf("no probe in flight was interrupted")
		}
	})
}

// TestRunStreamBackpressure: a source that blocks holds the run back
// without deadlock, here while more than StreamFirst+100 targets it gave
// have no result.
func TestRunStreamBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, err := probe.New(probe.Config{Profile: short(t), Network: probetest.New()})
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		ts := fleetTargets(20000, 7, probetest.PortClosed, probetest.PortSilent)
		const ahead = probe.StreamFirst + 100
		results := make(chan struct{}, len(ts))
		i, emitted, most := 0, 0, 0
		next := func() (probe.Target, bool) {
			for i-emitted >= ahead {
				<-results
				emitted++
			}
			if i == len(ts) {
				return probe.Target{}, false
			}
			most = max(most, i-emitted)
			i++
			return ts[i-1], true
		}
		n := 0
		if err := pr.RunStream(context.Background(), next, func(*probe.Result) { n++; results <- struct{}{} }); err != nil {
			t.Fatal(err)
		}
		if n != len(ts) || most >= ahead || most < ahead-1 {
			t.Errorf("%d results for %d targets; at most %d taken ahead of their results, want %d", n, len(ts), most, ahead-1)
		}
	})
}

// TestRunStreamLetsGo: a stream holds what is in flight, not what was
// done: the live heap at the 25,000th result is within 4 MiB of the heap
// at the 5,000th (a Run holds every probe of its own until it returns:
// about 31 MB more). Also when every 100th target is silent and stays in
// flight while the others are decided around it: each probe is freed on
// its own (when probe states came in blocks of 256, each silent probe
// kept its block, and the heap grew by 20 MB here).
func TestRunStreamLetsGo(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every int
	}{{"all-closed", 0}, {"every-100th-silent", 100}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := probetest.New()
				fake.Forgetful = true
				pr, err := probe.New(probe.Config{Profile: short(t), Network: fake, Concurrency: 1000, Rate: 1e6})
				if err != nil {
					t.Fatal(err)
				}
				defer pr.Close()
				ts := fleetTargets(30000, tc.every, probetest.PortClosed, probetest.PortSilent)
				next, _ := streamOf(ts)
				heapAt := map[int]uint64{}
				n := 0
				if err := pr.RunStream(context.Background(), next, func(*probe.Result) {
					n++
					if n == 5000 || n == 25000 {
						runtime.GC()
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						heapAt[n] = ms.HeapAlloc
					}
				}); err != nil {
					t.Fatal(err)
				}
				t.Logf("live heap at the 5,000th result %d bytes, at the 25,000th %d", heapAt[5000], heapAt[25000])
				if heapAt[25000] > heapAt[5000]+4<<20 {
					t.Errorf("the live heap grew by %d bytes over 20,000 decided probes: the stream keeps them", heapAt[25000]-heapAt[5000])
				}
			})
		})
	}
}

// TestRunStreamSlowReader: a stream whose reader takes its time is
// launched no faster than it reads: probes launched and not yet read
// never exceed the window (a result not yet read counts against it, so
// results do not pile up in memory ahead of a slow reader).
func TestRunStreamSlowReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := probetest.New()
		const window = 100
		pr, err := probe.New(probe.Config{Profile: short(t), Network: fake, Concurrency: window, Rate: 1e6})
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		ts := fleetTargets(2000, 0, probetest.PortClosed, 0)
		next, _ := streamOf(ts)
		read, most := 0, 0
		if err := pr.RunStream(context.Background(), next, func(*probe.Result) {
			syns := 0
			for _, s := range fake.Sent() {
				if s.Seg.Flags&wire.SYN != 0 {
					syns++
				}
			}
			most = max(most, syns-read)
			time.Sleep(time.Millisecond) // a slow reader
			read++
		}); err != nil {
			t.Fatal(err)
		}
		if read != len(ts) || most > window {
			t.Errorf("%d results of %d; at most %d probes launched ahead of the reader, want at most the window, %d", read, len(ts), most, window)
		}
	})
}
