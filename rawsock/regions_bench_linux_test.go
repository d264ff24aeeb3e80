package rawsock

import (
	"net/netip"
	"testing"
)

// BenchmarkRouteTo is one route lookup among the 65,536 addresses of
// 198.19.0.0/16 (routed via a gateway in the test namespace; not
// 198.18.0.0/16, which holds the test net's own subnets, broadcast and
// unreachable routes included): a netlink
// socket and an interface dump per lookup (RouteTo), one socket per run
// (a Router that never learns the tables), and a Router answering per
// region.
func BenchmarkRouteTo(b *testing.B) {
	n := newTestNet(b)
	run(b, "ip", "-n", n.nameA, "route", "add", "198.19.0.0/16", "via", "198.18.200.2")
	dsts := hosts(netip.MustParsePrefix("198.19.0.0/16"), 1<<16)
	for _, bc := range []struct {
		name   string
		router bool
		learn  bool
	}{{"socket-per-lookup", false, false}, {"one-socket", true, false}, {"regions", true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			in(b, n.a, func() {
				var rt *Router
				if bc.router {
					var err error
					if rt, err = NewRouter(); err != nil {
						b.Errorf("NewRouter: %v", err)
						return
					}
					defer rt.Close()
					rt.deaf.Store(!bc.learn)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					var err error
					if rt != nil {
						_, err = rt.RouteTo(dsts[i%len(dsts)], RouteOptions{})
					} else {
						_, err = RouteTo(dsts[i%len(dsts)], RouteOptions{})
					}
					if err != nil {
						b.Errorf("RouteTo: %v", err)
						return
					}
				}
			})
		})
	}
}
