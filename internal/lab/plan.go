package lab

import (
	"net"
	"net/netip"
	"time"
)

// Interface names of the plan.
const (
	ClientIf  = "c0"   // client's link to the router
	RouterIfC = "r0"   // router's link to the client
	RouterIfS = "r1"   // router's link to the server
	ServerIf  = "s0"   // server's link to the router
	DelayIf   = "tpd0" // router's TUN device of the delayer
)

// Fixed MAC addresses of the plan's interfaces.
var (
	ClientMAC  = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x01, 0x02} // c0
	RouterMACC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x01, 0x01} // r0
	RouterMACS = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x02, 0x01} // r1
	ServerMAC  = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x02, 0x02} // s0
)

// Addresses of the plan's hosts.
var (
	ClientV4  = netip.MustParseAddr("198.18.1.2") // client c0
	RouterV4C = netip.MustParseAddr("198.18.1.1") // router r0 (the client's gateway)
	RouterV4S = netip.MustParseAddr("198.18.2.1") // router r1 (the server's gateway)
	ServerV4  = netip.MustParseAddr("198.18.2.2") // server s0

	ClientV6  = netip.MustParseAddr("fd00:1::2")
	RouterV6C = netip.MustParseAddr("fd00:1::1")
	RouterV6S = netip.MustParseAddr("fd00:2::1")
	ServerV6  = netip.MustParseAddr("fd00:2::2")
)

// Bits of the plan's prefixes: each link and each special route is a /24 in
// IPv4 and a /64 in IPv6 around the addresses above.
const (
	PrefixBitsV4 = 24
	PrefixBitsV6 = 64
)

// Net returns the plan's prefix around a, as ip(8) writes it: the /24 or
// /64 that holds it.
func Net(a netip.Addr) netip.Prefix {
	bits := PrefixBitsV4
	if a.Is6() {
		bits = PrefixBitsV6
	}
	return netip.PrefixFrom(a, bits).Masked()
}

// IfAddr returns a with the plan's prefix length, for `ip addr add`.
func IfAddr(a netip.Addr) string { return netip.PrefixFrom(a, Net(a).Bits()).String() }

// On-link addresses nobody answers for: neighbour resolution fails at the router
// (ICMP host / address unreachable after ≈3 s) or at the client (decided locally).
var (
	NeighFailRouterV4 = netip.MustParseAddr("198.18.2.99")
	NeighFailRouterV6 = netip.MustParseAddr("fd00:2::99")
	NeighFailClientV4 = netip.MustParseAddr("198.18.1.99")
	NeighFailClientV6 = netip.MustParseAddr("fd00:1::99")
)

// Addresses behind the router's special routes (any port).
var (
	RouterUnreachV4   = netip.MustParseAddr("198.18.10.1") // router: unreachable route
	RouterProhibitV4  = netip.MustParseAddr("198.18.11.1") // router: prohibit route
	RouterBlackholeV4 = netip.MustParseAddr("198.18.12.1") // router: blackhole route (silence)
	RouterNoRouteV4   = netip.MustParseAddr("198.18.13.1") // router: no route at all

	RouterUnreachV6   = netip.MustParseAddr("fd00:10::1")
	RouterProhibitV6  = netip.MustParseAddr("fd00:11::1")
	RouterBlackholeV6 = netip.MustParseAddr("fd00:12::1")
	RouterNoRouteV6   = netip.MustParseAddr("fd00:13::1")
)

// Addresses behind the client's own special routes: connect() fails locally, nothing
// is sent.
var (
	ClientUnreachV4   = netip.MustParseAddr("198.18.20.1") // client: unreachable route
	ClientProhibitV4  = netip.MustParseAddr("198.18.21.1") // client: prohibit route
	ClientBlackholeV4 = netip.MustParseAddr("198.18.22.1") // client: blackhole route
	ClientNoRouteV4   = netip.MustParseAddr("198.18.23.1") // client: no route at all

	ClientUnreachV6   = netip.MustParseAddr("fd00:20::1")
	ClientProhibitV6  = netip.MustParseAddr("fd00:21::1")
	ClientBlackholeV6 = netip.MustParseAddr("fd00:22::1")
	ClientNoRouteV6   = netip.MustParseAddr("fd00:23::1")
)

// Scenario ports on the server address.
const (
	PortOpen        uint16 = 80 // listener: SYN-ACK
	PortClosed      uint16 = 81 // no listener: RST from the server
	PortRejectPort  uint16 = 82 // router REJECT icmp port-unreachable (v6 port-unreachable)
	PortRejectReset uint16 = 83 // router REJECT tcp-reset
	PortRejectAdmin uint16 = 84 // router REJECT admin-prohibited 3/13 (v6 1/1)
	PortRejectHost  uint16 = 85 // router REJECT host-unreachable 3/1 (v6 addr-unreachable 1/3)
	PortRejectNet   uint16 = 86 // router REJECT net-unreachable 3/0 (v6 no-route 1/0)
	PortDrop        uint16 = 87 // router DROP: silence
	PortDropFirst1  uint16 = 88 // router drops the first SYN of each 4-tuple; listener
	PortDropFirst2  uint16 = 89 // router drops the first two SYNs of each 4-tuple; listener
	PortDelay       uint16 = 90 // client-to-server packets held DelayPath; listener
)

// ListenPorts are the server ports with a listener (both families).
var ListenPorts = []uint16{PortOpen, PortDropFirst1, PortDropFirst2, PortDelay}

const (
	// DelayPath is how long the router holds each client-to-server packet for
	// PortDelay (one way; the server's answers are not delayed).
	DelayPath = 100 * time.Millisecond
	// DelayICMP is how long the router holds each ICMP message it sends towards the
	// client, so that ICMP never reaches the client while connect() holds its lock.
	DelayICMP = 3 * time.Millisecond
	// DropFirstTimeout is how long the router remembers a 4-tuple for PortDropFirst1
	// and PortDropFirst2 after it dropped its first SYN: a flow that reuses the tuple
	// later sees its first SYNs dropped again. Call (*Lab).ResetDropFirst to forget
	// every tuple at once.
	DropFirstTimeout = 120 * time.Second
)
