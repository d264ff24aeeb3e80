package rawsock

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Route is where a packet to Dst leaves: what the kernel's route lookup
// (RTM_GETROUTE, like `ip route get`) says.
type Route struct {
	Dst, Src  netip.Addr
	Interface net.Interface // Index, Name, MTU, HardwareAddr, Flags
	Gateway   netip.Addr    // zero if on-link
	NextHop   netip.Addr    // Gateway if set, else Dst
	Local     bool          // Dst is an address of this host (leaves via lo)
}

// RouteOptions narrow a route lookup.
type RouteOptions struct {
	// Interface forces the outgoing interface, by name (like `oif`).
	Interface string
	// Source forces the source address; it must be an address of this host.
	Source netip.Addr
}

// RouteError says that the kernel would refuse to send a packet to Dst. Errno
// is what connect(2) would have returned: ENETUNREACH (no route),
// EHOSTUNREACH (an unreachable route), EACCES (a prohibit route) or EINVAL
// (a blackhole route).
type RouteError struct {
	Dst   netip.Addr
	Errno syscall.Errno
}

// Error says what failed and what to check.
func (e *RouteError) Error() string {
	var why string
	switch e.Errno {
	case syscall.ENETUNREACH:
		why = "no route to it (or it is a broadcast or multicast address, which TCP refuses)"
	case syscall.EHOSTUNREACH:
		why = "an unreachable route covers it"
	case syscall.EACCES:
		why = "a prohibit route covers it"
	case syscall.EINVAL:
		why = "a blackhole route covers it (or the lookup was invalid)"
	default:
		why = "the route lookup failed"
	}
	fam := ""
	if e.Dst.Is6() {
		fam = "-6 "
	}
	return fmt.Sprintf("rawsock: cannot send to %s: %s (%s); check `ip %sroute get %s`",
		e.Dst, why, ErrnoName(e.Errno), fam, e.Dst)
}

// Unwrap returns Errno, so errors.Is(err, syscall.EACCES) works.
func (e *RouteError) Unwrap() error { return e.Errno }

// LinkConfig configures Open.
type LinkConfig struct {
	// Addrs are the local addresses probes use on this interface: the BPF
	// filter passes only packets addressed to these. It must not be empty.
	Addrs []netip.Addr
	// RecvBuffer is the socket receive buffer in bytes (SO_RCVBUFFORCE, or
	// SO_RCVBUF without CAP_NET_ADMIN); 0 means DefaultRecvBuffer.
	RecvBuffer int
	// SocketQueue reads replies from the socket queue instead of a
	// TPACKET_V3 ring. The ring keeps up with hundreds of thousands of
	// replies a second, but setting it up waits for an RCU grace period
	// and tearing it down for another (about 8 ms each here): a link for
	// a few probes is quicker without.
	SocketQueue bool

	// keepOutgoing leaves PACKET_IGNORE_OUTGOING unset so tests can prove
	// the BPF program alone rejects outgoing frames.
	keepOutgoing bool
}

// DefaultRecvBuffer is the receive buffer a Link asks for when
// LinkConfig.RecvBuffer is 0.
const DefaultRecvBuffer = 4 << 20

// RecvInfo describes one received packet.
type RecvInfo struct {
	// Time is the kernel's receive timestamp (SO_TIMESTAMPNS), or the time
	// the packet was read if the kernel gave none.
	Time time.Time
	// ChecksumNotReady is TP_STATUS_CSUMNOTREADY: the packet came from this
	// host (veth, loopback) with CHECKSUM_PARTIAL, its transport checksum was
	// never filled in; treat it as valid (spec §5.3).
	ChecksumNotReady bool
	// ChecksumValid is TP_STATUS_CSUM_VALID: the device or the kernel has
	// already verified the transport checksum.
	ChecksumValid bool
	// Truncated says the packet was longer than the receive buffer.
	Truncated bool
}

// LinkStats are the kernel's PACKET_STATISTICS counters accumulated since
// Open: packets that passed the filter, and those dropped because the
// receive buffer was full.
type LinkStats struct {
	Received, Dropped uint64
}

// Defaults of ResolveNeighbor, like the kernel's ucast/mcast_solicit and
// retrans_time.
const (
	DefaultSolicitTries    = 3
	DefaultSolicitInterval = time.Second
)
