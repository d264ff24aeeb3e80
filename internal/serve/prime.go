package serve

import (
	"net/netip"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rawsock"
)

// PrimePort is the port of the targets PrimeTargets returns; no SYN is
// ever sent to it (see PrimeTargets).
const PrimePort = 9

// PrimeTargets returns one target in each allowed network that the host
// routes out of an interface (loopback, local addresses and networks
// without a route are left out). A Prober's first Run over them opens the
// raw links, with the source addresses, that scrapes will need, and
// resolves their next hops; the caller cancels that Run from
// probe.Config.Ready, which comes after the links are open and before the
// first SYN, so nothing but neighbour solicitations leaves the host. That
// is how the links are open, and privilege can be dropped, before the
// first scrape. A target whose interface or source was not primed still
// works while privilege is kept; once dropped, its Run fails and the scrape
// says so.
func PrimeTargets(allow []netip.Prefix, net probe.Network) []probe.Target {
	var ts []probe.Target
	seen := map[[2]string]bool{}
	for _, p := range allow {
		a := p.Addr()
		if p.Bits() < a.BitLen() {
			a = a.Next() // not the network's own address
		}
		if a.IsLoopback() || !a.IsValid() {
			continue
		}
		r, err := net.RouteTo(a, rawsock.RouteOptions{})
		if err != nil || r.Local {
			continue
		}
		k := [2]string{r.Interface.Name, r.Src.String()}
		if seen[k] {
			continue
		}
		seen[k] = true
		ts = append(ts, probe.Target{Name: "prime " + p.String(), Addr: netip.AddrPortFrom(a, PrimePort)})
	}
	return ts
}
