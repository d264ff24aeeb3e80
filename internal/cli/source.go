package cli

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/tcpprobe/tcpprobe/probe"
)

// checkSource validates --source against this host and the targets: it
// must be one of the host's addresses (the kernel would not send from
// another one, and an answer would never come back to it) and of each
// target's family (an IPv4 source cannot carry an IPv6 probe). Nothing has
// been sent yet; the error is a usage error.
func checkSource(src netip.Addr, targets []probe.Target) error {
	if !src.IsValid() {
		return nil
	}
	local, err := hostAddrs()
	if err != nil {
		return usagef("--source %s: cannot read this host's addresses to check it (%v): drop --source", src, err)
	}
	return sourceFits(src, local, targets)
}

// sourceFits is checkSource with the host's addresses given.
func sourceFits(src netip.Addr, local []netip.Addr, targets []probe.Target) error {
	src = src.Unmap()
	found := false
	for _, a := range local {
		if a.Unmap().WithZone("") == src.WithZone("") {
			found = true
			break
		}
	}
	if !found {
		return usagef("--source %s is not an address of this host: give one of its own addresses (see `ip address`) or drop --source", src)
	}
	for _, t := range targets {
		if dst := t.Addr.Addr().Unmap(); dst.Is4() != src.Is4() {
			fam, other, flag := "IPv4", "IPv6", "-4"
			if src.Is6() {
				fam, other, flag = "IPv6", "IPv4", "-6"
			}
			return usagef("--source %s is %s but target %s is %s: give a source of the target's family (for a name, %s resolves it to %s only)",
				src, fam, t.Name, other, flag, fam)
		}
	}
	return nil
}

// hostAddrs returns every address of this host's interfaces.
func hostAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list interface addresses: %w", err)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}
