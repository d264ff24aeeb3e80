// Package rawsock is the only part of tcpprobe that touches sockets for
// probing.
//
// It offers four things:
//
//   - RouteTo asks the kernel (RTM_GETROUTE, like `ip route get`) where a
//     packet to an address would leave, and fails with the errno connect(2)
//     would return when the kernel would refuse to send (spec §4, §5.3).
//   - ResolveNeighbor finds the link-layer address of a route's next hop, from
//     the kernel's neighbour table or by soliciting it (ARP for IPv4, NDP for
//     IPv6).
//   - Link is one AF_PACKET socket per interface, shared by every probe that
//     leaves through it: WriteIP sends a finished IP packet, Receive delivers
//     the IP packets addressed to the probe's local addresses, with the
//     kernel's receive timestamp and its checksum status (spec §5.3).
//     WriteIPStamped and WriteIPBatchStamped also say when each frame left:
//     the driver's transmit timestamp, read back from the error queue of a
//     second, send-only packet socket (see txstamp_linux.go).
//   - ReservePort holds a source port outside the kernel's ephemeral range
//     that no local socket uses (spec §5.1).
//
// # Socket choices
//
// A Link binds its packet socket to ETH_P_ALL rather than to ETH_P_IP and
// ETH_P_IPV6: one socket, one receive loop and one BPF program serve both
// families, and the tap sees every frame before the IP stack (and before
// netfilter) may drop it. ETH_P_ALL taps also see outgoing frames; the Link
// asks the kernel not to deliver them (PACKET_IGNORE_OUTGOING, which also
// spares the kernel a clone per transmitted frame) and its BPF program rejects
// pkttype PACKET_OUTGOING as well, so the probe engine never sees its own SYNs
// leave. On the loopback interface the engine still sees each of its own
// packets once, on the way in: there is no way to tell it from a packet sent
// by another local program.
//
// Framing follows the interface's ARPHRD type: Ethernet (SOCK_RAW, Ethernet
// header written by WriteIP), loopback (SOCK_RAW, Ethernet header with zero
// addresses) and none/TUN/WireGuard (SOCK_DGRAM, bare IP packets).
//
// Linux only: on other systems every function returns an error saying it is
// not implemented there, so the portable packages still build.
package rawsock
