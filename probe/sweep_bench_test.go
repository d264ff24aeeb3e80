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
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		pr, err := probe.New(probe.Config{Profile: prof, Network: probetest.New(), Rate: probe.RateMax})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := pr.Run(ctx, targets, func(*probe.Result) { n++ }); err != nil {
			b.Fatal(err)
		}
		cancel()
		pr.Close()
		if n != len(targets) {
			b.Fatalf("%d results for %d targets", n, len(targets))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/65535, "ns/probe")
}

// BenchmarkFakeFleet runs the whole engine over port 80 of 65,536
// different addresses (half IPv4, half IPv6) of the fake network: the
// launch path with a route per address (planning, registration, first
// SYNs in batches), the demultiplexer and the results. The fake peer
// refuses port 80 at once.
func BenchmarkFakeFleet(b *testing.B) {
	const n = 1 << 16
	s, err := probe.ParseSchedule("0/50ms")
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
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		pr, err := probe.New(probe.Config{Profile: prof, Network: probetest.New(), Rate: probe.RateMax})
		if err != nil {
			b.Fatal(err)
		}
		refused := 0
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := pr.Run(ctx, targets, func(r *probe.Result) {
			if r.Outcome == probe.Refused {
				refused++
			} else {
				b.Logf("%s: %s %s", r.Target, r.Outcome, r.Reason)
			}
		}); err != nil {
			b.Fatal(err)
		}
		cancel()
		pr.Close()
		if refused != n {
			b.Fatalf("%d of %d targets refused", refused, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/probe")
}
