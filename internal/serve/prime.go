package serve

import (
	"net/netip"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rawsock"
)

// PrimePort is the port of the targets PrimeTargets returns; no SYN is
// ever sent to it (see PrimeTargets).
const PrimePort = 9

// PrimeTargets returns targets that reach every interface, source address
// and next hop through which the host routes into the allowed networks:
// one in each allowed network, and one in each route of routes (the main
// routing table when nil) that overlaps an allowed network. Loopback, local
// addresses and destinations without a usable route are left out. A
// Prober's first Run over them opens the raw links, with the source
// addresses, that scrapes will need, and resolves their next hops; the
// caller cancels that Run from probe.Config.Ready, which comes after the
// links are open and before the first SYN, so nothing but neighbour
// solicitations leaves the host. That is how the links are open, and
// privilege can be dropped, before the first scrape. A target whose
// interface or source was not primed still works while privilege is kept;
// once dropped, its Run fails and the scrape falls back to connect(2).
func PrimeTargets(allow []netip.Prefix, net probe.Network, routes []netip.Prefix) []probe.Target {
	if routes == nil {
		routes, _ = routedPrefixes()
	}
	var cands []netip.Prefix
	for _, a := range allow {
		cands = append(cands, a)
		for _, r := range routes {
			if !a.Overlaps(r) {
				continue
			}
			// The overlap of two prefixes is the longer one.
			if r.Bits() > a.Bits() {
				cands = append(cands, r)
			}
		}
	}
	var ts []probe.Target
	type key struct {
		ifname       string
		src, nextHop netip.Addr
	}
	seen := map[key]bool{}
	for _, p := range cands {
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
		k := key{r.Interface.Name, r.Src, r.NextHop}
		if seen[k] {
			continue
		}
		seen[k] = true
		ts = append(ts, probe.Target{Name: "prime " + p.String(), Addr: netip.AddrPortFrom(a, PrimePort)})
	}
	return ts
}
