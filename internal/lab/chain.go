package lab

import (
	"fmt"
	"net/netip"
)

// The chain lab (BuildChain) is a second, longer plan for traces: a client,
// four router positions and two servers, so a test can put a drop, a REJECT
// or an unreachable route at any hop and see who a trace blames.
//
//	client -- R1 -- R2 =(ECMP)=> R3a | R3b -- R4 -- server
//	                                           \--- cookie server
//
// Hop k of a trace is router position k (R3a or R3b at hop 3, whichever
// the flow hashes to at R2: fib_multipath_hash_policy=1, layer 4); both
// servers are hop 5. Every router answers from its address on the link
// towards the client (R4 via R3a).
//
//	link         IPv4               IPv6
//	client-R1    198.18.40.0/24     fd00:40::/64   client .2 (.3-.5 spare), R1 .1
//	R1-R2        198.18.41.0/24     fd00:41::/64   R1 .1, R2 .2
//	R2-R3a       198.18.42.0/24     fd00:42::/64   R2 .1, R3a .2
//	R2-R3b       198.18.52.0/24     fd00:52::/64   R2 .1, R3b .2
//	R3a-R4       198.18.43.0/24     fd00:43::/64   R3a .1, R4 .2
//	R3b-R4       198.18.53.0/24     fd00:53::/64   R3b .1, R4 .2
//	R4-server    198.18.44.0/24     fd00:44::/64   R4 .1, server .2
//	R4-cookie    198.18.46.0/24     fd00:46::/64   R4 .1, cookie server .2
//
// The server also owns 198.18.45.1-4 (fd00:45::1-4); router position k
// holds an `unreachable` route for 198.18.45.k, the others route it on.
const (
	// ChainHops is the number of router positions; the servers are hop
	// ChainHops+1.
	ChainHops = 4

	// ChainPortOpen is open on both servers.
	ChainPortOpen = 80
	// ChainPortClosed has no listener on the server: RST.
	ChainPortClosed = 2002
	// ChainPortServerDrop is dropped by the server's own INPUT chain.
	ChainPortServerDrop = 2001
	// ChainPortFullQueue has a listener with backlog 1 that never accepts;
	// FillAcceptQueue fills it.
	ChainPortFullQueue = 2003
	// ChainPortSlowQueue is like ChainPortFullQueue, but AcceptOneAfter
	// makes room in its queue for one more connection.
	ChainPortSlowQueue = 2005
	// ChainPortRateLimitedV4 and V6 are rejected by R2 (hop 2) with ICMP
	// admin prohibited once a minute and dropped otherwise: a router that
	// rate-limits its ICMP errors. One port per family, so that tests of
	// the two families do not take each other's one answer.
	ChainPortRateLimitedV4 = 3025
	ChainPortRateLimitedV6 = 3026
	// ChainPortECMP and ChainPortECMPVary are counted per path at R2
	// (ECMPCounts): one for a trace, one for probes with varying flows.
	ChainPortECMP     = 2010
	ChainPortECMPVary = 2011
)

// ChainPortDrop is the port router position hop (1..ChainHops) drops
// silently in its FORWARD chain.
func ChainPortDrop(hop int) uint16 { return uint16(3000 + 10*hop + 1) }

// ChainPortReject is the port router position hop rejects in its FORWARD
// chain with ICMP admin-prohibited (v4 3/13, v6 1/1).
func ChainPortReject(hop int) uint16 { return uint16(3000 + 10*hop + 2) }

// ChainUnreachV4 is the address router position hop holds an
// `unreachable` route for.
func ChainUnreachV4(hop int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18, 45, byte(hop)})
}

// ChainUnreachV6 is ChainUnreachV4 for IPv6.
func ChainUnreachV6(hop int) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("fd00:45::%d", hop))
}

// Addresses of the chain.
var (
	ChainClientV4 = netip.MustParseAddr("198.18.40.2")
	ChainClientV6 = netip.MustParseAddr("fd00:40::2")
	// ChainClientSpareV4/V6 are further client addresses: route errors a
	// router sends are rate limited per source (ip_error), so tests that
	// provoke them twice use different sources.
	ChainClientSpareV4 = netip.MustParseAddr("198.18.40.3")
	ChainClientSpareV6 = netip.MustParseAddr("fd00:40::3")
	// ChainClientNATV4/V6 are masqueraded by R1 towards R2 (nftables).
	ChainClientNATV4 = netip.MustParseAddr("198.18.40.4")
	ChainClientNATV6 = netip.MustParseAddr("fd00:40::4")

	// ChainClientStatelessV4/V6 are rewritten by R1 without conntrack
	// (nftables payload statements, notrack) to ChainStatelessOuterV4/V6,
	// an address of R1 that R1 maps back: ICMP errors from beyond R1
	// quote the rewritten source.
	ChainClientStatelessV4 = netip.MustParseAddr("198.18.40.5")
	ChainClientStatelessV6 = netip.MustParseAddr("fd00:40::5")
	ChainStatelessOuterV4  = netip.MustParseAddr("198.18.41.100")
	ChainStatelessOuterV6  = netip.MustParseAddr("fd00:41::100")

	ChainServerV4 = netip.MustParseAddr("198.18.44.2")
	ChainServerV6 = netip.MustParseAddr("fd00:44::2")
	ChainCookieV4 = netip.MustParseAddr("198.18.46.2")
	ChainCookieV6 = netip.MustParseAddr("fd00:46::2")

	// ChainHopV4 and ChainHopV6 are the addresses each router position
	// answers from, index hop-1; position 3 holds R3a's, with R3b's in
	// ChainHop3AltV4/V6.
	ChainHopV4 = [ChainHops]netip.Addr{
		netip.MustParseAddr("198.18.40.1"), netip.MustParseAddr("198.18.41.2"),
		netip.MustParseAddr("198.18.42.2"), netip.MustParseAddr("198.18.43.2"),
	}
	ChainHopV6 = [ChainHops]netip.Addr{
		netip.MustParseAddr("fd00:40::1"), netip.MustParseAddr("fd00:41::2"),
		netip.MustParseAddr("fd00:42::2"), netip.MustParseAddr("fd00:43::2"),
	}
	ChainHop3AltV4 = netip.MustParseAddr("198.18.52.2")
	ChainHop3AltV6 = netip.MustParseAddr("fd00:52::2")
)
