package targets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// resolve looks host up in family ("ip", "ip4", "ip6"): its first
// address, IPv4 preferred (or every address, without duplicates).
func resolve(ctx context.Context, r Resolver, host, family string, all bool) ([]netip.Addr, error) {
	addrs, err := r.LookupNetIP(ctx, family, host)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, fmt.Errorf("cannot resolve %q: no such host: check the name, or give an IP address", host)
		}
		if errors.As(err, &de) && de.IsTimeout {
			return nil, fmt.Errorf("cannot resolve %q: the resolver did not answer in time: check /etc/resolv.conf, or give an IP address", host)
		}
		return nil, fmt.Errorf("cannot resolve %q: the resolver failed: check the name and /etc/resolv.conf, or give an IP address", host)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cannot resolve %q: no %s address", host, map[string]string{"ip": "IP", "ip4": "IPv4", "ip6": "IPv6"}[family])
	}
	if !all {
		// Prefer IPv4 then IPv6 in the resolver's order, like most
		// clients' first choice; -6 / -4 narrow it.
		slices.SortStableFunc(out, func(a, b netip.Addr) int {
			switch {
			case a.Is4() && !b.Is4():
				return -1
			case !a.Is4() && b.Is4():
				return 1
			}
			return 0
		})
		out = out[:1]
	}
	return out, nil
}

// zone checks that a's zone names an interface of this host (a number is
// taken as an interface index) and returns a with the interface's name.
func (p *Plan) zone(a netip.Addr) (netip.Addr, error) {
	z := a.Zone()
	ifi, err := net.InterfaceByName(z)
	if err != nil {
		var idx int
		if _, serr := fmt.Sscanf(z, "%d", &idx); serr == nil {
			ifi, err = net.InterfaceByIndex(idx)
		}
	}
	if err != nil {
		return a, fmt.Errorf("zone %q is not an interface of this host (see ip link)", z)
	}
	if p.opt.Interface != "" && p.opt.Interface != ifi.Name {
		return a, fmt.Errorf("zone %q and --interface %s name different interfaces: drop one", z, p.opt.Interface)
	}
	return a.WithZone(ifi.Name), nil
}

// nameSet is the addresses of a name, in the order they are probed.
type nameSet []netip.Addr

func (n nameSet) count(ex *Exclude) u128 {
	var c u128
	for _, a := range n {
		if !ex.allPorts(a) {
			c = c.inc()
		}
	}
	return c
}
func (n nameSet) each(yield func(netip.Addr) bool) bool {
	for _, a := range n {
		if !yield(a) {
			return false
		}
	}
	return true
}
func (n nameSet) isV4() bool { return len(n) > 0 && n[0].Is4() }
