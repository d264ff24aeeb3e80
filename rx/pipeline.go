package rx

import (
	"net/netip"
	"time"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/wire"
)

// AF_PACKET packet types (linux/if_packet.h): sll_pkttype, what the link
// layer says a received frame was addressed to.
const (
	PacketHost      = 0 // to this host
	PacketBroadcast = 1 // to the link-layer broadcast address
	PacketMulticast = 2 // to a link-layer multicast group
	PacketOtherHost = 3 // to another host (a bridge, promiscuous mode, a forged MAC)
	PacketOutgoing  = 4 // a frame this host sent, looped back to the tap
)

// EtherTypes of the two IP versions.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeIPv6 = 0x86dd
)

// FrameInfo is what the link reported about a frame besides its bytes.
type FrameInfo struct {
	// PktType is sll_pkttype (PacketHost, ...).
	PktType uint8
	// EtherType is the frame's EtherType (sll_protocol); 0 means unknown,
	// and the IP version nibble decides the family.
	EtherType uint16
	// VLANTagged reports that the link stripped an 802.1Q tag
	// (TP_STATUS_VLAN_VALID); VLANID is its VID.
	VLANTagged bool
	VLANID     uint16
	// LinkVLAN is the VID of the interface the frame was read on when that
	// interface is a VLAN interface, else 0.
	LinkVLAN uint16
	// Loopback reports that the frame was read on a loopback interface,
	// where loopback addresses are legitimate.
	Loopback bool
	// ChecksumNotReady is TP_STATUS_CSUMNOTREADY: the frame came from this
	// host with CHECKSUM_PARTIAL and its transport checksum was never
	// filled in; the kernel trusts it, and so does the pipeline.
	ChecksumNotReady bool
}

// Kind says what a delivered Packet carries.
type Kind uint8

// Kinds of Packet.
const (
	KindNone Kind = iota
	KindTCP       // a TCP segment: Packet.Seg
	KindICMP      // an ICMP or ICMPv6 error quoting a TCP segment: Packet.Msg
)

// String returns "tcp", "icmp" or "none".
func (k Kind) String() string {
	switch k {
	case KindTCP:
		return "tcp"
	case KindICMP:
		return "icmp"
	}
	return "none"
}

// Tuple is a probe's 4-tuple as seen from this host: Local is our address
// and port, Remote the peer's. For an ICMP error it is the 4-tuple of the
// quoted segment (which we sent: its source is Local).
type Tuple struct {
	Local, Remote         netip.Addr
	LocalPort, RemotePort uint16
}

// Packet is a received TCP segment or ICMP error, ready for the
// demultiplexer, or, after a drop, as much of it as was read.
type Packet struct {
	Kind Kind
	// Tuple names the probe the packet is for; HasTuple says it could be
	// read (after a drop it may not have been).
	Tuple    Tuple
	HasTuple bool
	Seg      wire.Segment // KindTCP
	Msg      icmp.Message // KindICMP
	From, To netip.Addr   // the IP source and destination
	TTL      uint8        // TTL or hop limit
	// ChecksumOK is true for every delivered packet: the transport
	// checksum verified, or the link said it was never filled in.
	ChecksumOK bool
	// Reassembled reports that the packet came in fragments.
	Reassembled bool
}

// Pipeline is the receive path of one receive loop: it owns the fragment
// queues and the buffer reassembled datagrams are built in. It is not safe
// for concurrent use: run one per receive loop (per link), or guard it.
type Pipeline struct {
	cfg    Config
	frags  reassembler
	reasm  []byte // the last reassembled datagram; Packet may point into it
	counts [NumDrops]uint64
}

// NewPipeline returns a pipeline that obeys cfg.
func NewPipeline(cfg Config) *Pipeline {
	p := &Pipeline{cfg: cfg}
	p.frags.init(&p.cfg)
	return p
}

// Input runs one received frame through the receive path at time now. It
// returns DropNone and true when out holds a TCP segment or ICMP error for
// the demultiplexer, or the reason and false when the kernel would have
// dropped the frame (DropFragQueued: a fragment was kept for reassembly).
// After a drop, out.HasTuple says whether out.Tuple names a 4-tuple (read
// as far as the bytes allow, whatever the stage that dropped the frame,
// except for held fragments and our own frames): the engine should list
// such a drop in that probe's result and count every drop by reason
// (Counts does too).
//
// frame is the IP packet (link header removed); out and the slices in it
// may point into frame or into the pipeline's reassembly buffer, valid
// until the next call. Input never reads a clock, never panics, and
// allocates nothing for an unfragmented packet.
func (p *Pipeline) Input(frame []byte, info FrameInfo, now time.Time, out *Packet) (Drop, bool) {
	d := p.input(frame, &info, now, out)
	p.counts[d]++
	if d != DropNone {
		out.Kind = KindNone
		if !out.HasTuple && d != DropFragQueued && d != DropOutgoing {
			p.peek(frame, out)
		}
		return d, false
	}
	return DropNone, true
}

// Counts returns how many frames ended at each reason since the pipeline
// was made, indexed by Drop; Counts()[DropNone] is the number delivered.
func (p *Pipeline) Counts() [NumDrops]uint64 { return p.counts }

// Count returns how many frames ended at reason d (DropNone: delivered).
func (p *Pipeline) Count(d Drop) uint64 {
	if d >= NumDrops {
		return 0
	}
	return p.counts[d]
}

// Expire drops the fragment queues whose time (ipfrag_time,
// ip6frag_time) is up at now and returns how many; Input also does this as
// it goes.
func (p *Pipeline) Expire(now time.Time) int { return p.frags.expire(now) }

// FragStats returns how many fragment queues are open and how many bytes
// they hold (as the pipeline accounts them, not the kernel's truesize).
func (p *Pipeline) FragStats() (queues, bytes int) {
	return len(p.frags.queues), p.frags.mem[0] + p.frags.mem[1]
}

func (p *Pipeline) input(b []byte, info *FrameInfo, now time.Time, out *Packet) Drop {
	*out = Packet{}
	// The link layer: packet_rcv hands every frame to the tap, the stack
	// takes fewer.
	switch info.PktType {
	case PacketHost, PacketBroadcast, PacketMulticast:
	case PacketOutgoing:
		return DropOutgoing
	case PacketOtherHost:
		return DropOtherHost
	default:
		return DropUnknownLinkType
	}
	// __netif_receive_skb_core: a tag with VID 0 is a priority tag and is
	// cleared; a VID with no VLAN interface makes the frame
	// PACKET_OTHERHOST, which ip_rcv_core drops.
	if info.VLANTagged && info.VLANID&0xfff != 0 && info.VLANID&0xfff != info.LinkVLAN {
		return DropVLAN
	}
	v6 := len(b) > 0 && b[0]>>4 == 6
	switch info.EtherType {
	case EtherTypeIPv4:
		v6 = false
	case EtherTypeIPv6:
		v6 = true
	}
	if v6 {
		return p.ipv6(b, info, now, out)
	}
	return p.ipv4(b, info, now, out)
}

// transport hands the upper-layer payload to TCP or ICMP.
func (p *Pipeline) transport(v6 bool, proto uint8, payload []byte, info *FrameInfo, out *Packet) Drop {
	switch {
	case proto == wire.ProtocolTCP:
		return p.tcp(payload, info, out)
	case !v6 && proto == wire.ProtocolICMP, v6 && proto == wire.ProtocolICMPv6:
		return p.icmp(v6, payload, info, out)
	}
	return DropNotTCPOrICMP
}
