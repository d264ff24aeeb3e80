package rawsock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteTo asks the kernel for the route to dst (RTM_GETROUTE, like `ip route
// get`). When the kernel would refuse to send, it returns a *RouteError whose
// Errno is what connect(2) would return: ENETUNREACH (no route, or a
// broadcast or multicast destination, which TCP refuses), EHOSTUNREACH
// (unreachable route), EACCES (prohibit route) or EINVAL (blackhole route).
// The kernel's lookup fails with exactly these errnos for both IPv4 and IPv6.
func RouteTo(dst netip.Addr, opt RouteOptions) (Route, error) {
	dst = dst.Unmap()
	if !dst.IsValid() {
		return Route{}, errors.New("rawsock: RouteTo: no destination address")
	}
	if dst.IsMulticast() {
		// tcp_v4_connect / tcp_v6_connect refuse multicast before routing.
		return Route{}, &RouteError{Dst: dst, Errno: syscall.ENETUNREACH}
	}
	o := &netlink.RouteGetOptions{Oif: opt.Interface}
	if opt.Source.IsValid() {
		o.SrcAddr = net.IP(opt.Source.Unmap().AsSlice())
	}
	if dst.Is6() && dst.Zone() != "" && opt.Interface == "" {
		o.Oif = dst.Zone()
	}
	routes, err := netlink.RouteGetWithOptions(net.IP(dst.AsSlice()), o)
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return Route{}, &RouteError{Dst: dst, Errno: errno}
		}
		return Route{}, fmt.Errorf("rawsock: route lookup for %s: %w", dst, err)
	}
	if len(routes) == 0 {
		return Route{}, &RouteError{Dst: dst, Errno: syscall.ENETUNREACH}
	}
	nr := routes[0]
	if nr.Type == unix.RTN_BROADCAST || nr.Type == unix.RTN_MULTICAST {
		// tcp_v4_connect: RTCF_BROADCAST|RTCF_MULTICAST → ENETUNREACH.
		return Route{}, &RouteError{Dst: dst, Errno: syscall.ENETUNREACH}
	}
	ifi, err := net.InterfaceByIndex(nr.LinkIndex)
	if err != nil {
		return Route{}, fmt.Errorf("rawsock: route to %s leaves via interface index %d, which cannot be read: %w", dst, nr.LinkIndex, err)
	}
	r := Route{
		Dst:       dst,
		Interface: *ifi,
		Local:     nr.Type == unix.RTN_LOCAL,
	}
	if src, ok := netip.AddrFromSlice(nr.Src); ok {
		r.Src = src.Unmap()
	} else if opt.Source.IsValid() {
		r.Src = opt.Source.Unmap()
	}
	if !r.Src.IsValid() {
		return Route{}, fmt.Errorf("rawsock: route to %s via %s has no source address; add an address to %s or pass a source address",
			dst, ifi.Name, ifi.Name)
	}
	if gw, ok := netip.AddrFromSlice(nr.Gw); ok && !gw.IsUnspecified() {
		gw = gw.Unmap()
		if gw.Is6() && gw.IsLinkLocalUnicast() {
			gw = gw.WithZone(ifi.Name)
		}
		r.Gateway = gw
	}
	r.NextHop = r.Gateway
	if !r.NextHop.IsValid() {
		r.NextHop = dst
	}
	if r.Src.Is6() && r.Src.IsLinkLocalUnicast() {
		r.Src = r.Src.WithZone(ifi.Name)
	}
	return r, nil
}
