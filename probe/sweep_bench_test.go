package probe_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/probe/probetest"
)

// BenchmarkFakeSweep runs the whole engine over all 65,535 ports of the
// fake network's server: launch loop, batches, demultiplexer, timer heap.
// The fake peer answers its scenario ports; the rest time out at 50 ms.
func BenchmarkFakeSweep(b *testing.B) {
	s, err := probe.ParseSchedule("0/50ms")
	if err != nil {
		b.Fatal(err)
	}
	prof := probe.Classic()
	prof.Schedule = s
	targets := make([]probe.Target, 65535)
	for i := range targets {
		ap := netip.AddrPortFrom(probetest.Server4, uint16(i+1))
		targets[i] = probe.Target{Name: ap.String(), Addr: ap}
	}
	benchRuns(b, prof, targets, func(*probe.Result) bool { return true })
}

// benchRuns runs the targets through a new Prober over the fake network
// b.N times, failing unless every result passes ok, and reports the time
// per probe.
func benchRuns(b *testing.B, prof probe.Profile, targets []probe.Target, ok func(*probe.Result) bool) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		pr, err := probe.New(probe.Config{Profile: prof, Network: probetest.New(), Rate: probe.RateMax})
		if err != nil {
			b.Fatal(err)
		}
		n, bad := 0, 0
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := pr.Run(ctx, targets, func(r *probe.Result) {
			n++
			if !ok(r) {
				if bad++; bad <= 3 {
					b.Logf("%s: %s %s", r.Target, r.Outcome, r.Reason)
				}
			}
		}); err != nil {
			b.Fatal(err)
		}
		cancel()
		pr.Close()
		if n != len(targets) || bad > 0 {
			b.Fatalf("%d results for %d targets, %d not as expected", n, len(targets), bad)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(targets)), "ns/probe")
}

// BenchmarkFakeFleet runs the whole engine over port 80 of 65,536
// different addresses (half IPv4, half IPv6) of the fake network: the
// launch path with a route per address (planning, registration, first
// SYNs in batches), the demultiplexer and the results. The fake peer
// refuses at once; the 2 s give-up only keeps a loaded machine from
// turning a late refusal into a timeout.
func BenchmarkFakeFleet(b *testing.B) {
	const n = 1 << 16
	s, err := probe.ParseSchedule("0/2s")
	if err != nil {
		b.Fatal(err)
	}
	prof := probe.Classic()
	prof.Schedule = s
	targets := make([]probe.Target, n)
	for i := range targets {
		a := netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)})
		if i%2 == 1 {
			a = netip.AddrFrom16([16]byte{0xfd, 0, 0, 0x64, 14: byte(i >> 8), 15: byte(i)})
		}
		ap := netip.AddrPortFrom(a, probetest.PortClosed)
		targets[i] = probe.Target{Name: ap.String(), Addr: ap}
	}
	benchRuns(b, prof, targets, func(r *probe.Result) bool { return r.Outcome == probe.Refused })
}
