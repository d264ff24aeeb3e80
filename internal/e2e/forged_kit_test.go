package e2e

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/wire"
	"golang.org/x/sys/unix"
)

// The forged-reply suite's vocabulary: a kit holds one SYN the forger saw
// and builds the packets of one case from it, so that the case table
// reads as what is forged.

// forgeDelay is how long after the SYN the forger's first frame leaves,
// and forgeGap the spacing of the frames that follow: enough for
// connect() to have released its socket lock (lab-notes, "Zero-latency
// artifact"), so the kernel oracle handles every packet at once.
const (
	forgeDelay = 15 * time.Millisecond
	forgeGap   = 2 * time.Millisecond
)

// Link-layer destinations that are not the client's.
var (
	broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	otherMAC     = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x09, 0x09}
)

// ipID hands out IP identifications, so that the fragments of concurrent
// cases (same addresses, same protocol) never meet in one reassembly queue.
var ipID atomic.Uint32

func nextID() uint32 { return ipID.Add(1) }

// kit builds the answer to the n-th SYN (n from 1) of one flow.
type kit struct {
	s spoof.SYN
	n int
}

func (k kit) v6() bool { return k.s.V6() }

// iss is the SYN's initial sequence number.
func (k kit) iss() uint32 { return k.s.ISS() }

// tsval is the TSval of the SYN (0 when it carried no timestamps).
func (k kit) tsval() uint32 { return k.s.Seg.Options.TSVal }

// router is the address of the router's interface on the client's link,
// the source of the ICMP errors the forger sends.
func (k kit) router() netip.Addr {
	if k.v6() {
		return lab.RouterV6C
	}
	return lab.RouterV4C
}

// elsewhere is an address of the lab's plan that is not the target.
func (k kit) elsewhere() netip.Addr {
	if k.v6() {
		return lab.ServerV6
	}
	return lab.ServerV4
}

// serverISN is the forged target's initial sequence number.
const serverISN = 0x5eed0000

// synAckSpec is the target's SYN-ACK as Linux writes it: MSS,
// SACK-permitted, timestamps echoing the SYN's TSval, window scale 7.
func (k kit) synAckSpec() spoof.TCPSpec {
	return spoof.TCPSpec{
		SrcPort: k.s.Seg.DstPort, DstPort: k.s.Seg.SrcPort,
		Seq: serverISN, Ack: k.iss() + 1, Flags: wire.SYN | wire.ACK, Window: 65160,
		Options: k.opts(k.tsval()),
	}
}

// opts are the SYN-ACK's options with TSecr ecr (no timestamps when the
// SYN had none).
func (k kit) opts(ecr uint32) []byte {
	if !k.s.Seg.Options.HasTimestamps {
		return spoof.Join(spoof.OptMSS1460, []byte{1, 1, 4, 2}, []byte{1, 3, 3, 7})
	}
	return spoof.Join(spoof.OptMSS1460, []byte{4, 2}, spoof.OptTimestamps(0x1000, ecr)[2:], []byte{1, 3, 3, 7})
}

// rstSpec is RST+ACK with ACK = ISS+1: a refusal.
func (k kit) rstSpec() spoof.TCPSpec {
	return spoof.TCPSpec{
		SrcPort: k.s.Seg.DstPort, DstPort: k.s.Seg.SrcPort,
		Ack: k.iss() + 1, Flags: wire.RST | wire.ACK,
	}
}

// tcp is a packet from the target to the client carrying the segment t.
func (k kit) tcp(t spoof.TCPSpec) spoof.Packet {
	return k.tcpFrom(k.s.IP.Dst, t)
}

// tcpFrom is tcp from another source address (checksum over it).
func (k kit) tcpFrom(src netip.Addr, t spoof.TCPSpec) spoof.Packet {
	return spoof.Packet{Src: src, Dst: k.s.IP.Src, Proto: wire.ProtocolTCP, TTL: 61, ID: nextID(), L4: spoof.TCP(src, k.s.IP.Src, t)}
}

// synAck is the good SYN-ACK after edit.
func (k kit) synAck(edit ...func(*spoof.TCPSpec)) spoof.Packet {
	t := k.synAckSpec()
	for _, e := range edit {
		e(&t)
	}
	return k.tcp(t)
}

// rst is the good RST+ACK after edit.
func (k kit) rst(edit ...func(*spoof.TCPSpec)) spoof.Packet {
	t := k.rstSpec()
	for _, e := range edit {
		e(&t)
	}
	return k.tcp(t)
}

// icmpKind names an ICMP error by meaning; each family has its type/code.
type icmpKind int

const (
	hostUnreach  icmpKind = iota // 3/1, ICMPv6 1/3 (address unreachable)
	portUnreach                  // 3/3, 1/4
	netUnreach                   // 3/0, 1/0 (no route)
	adminProhib                  // 3/13, 1/1
	fragNeeded                   // 3/4 with MTU 1280, 2/0 packet too big (MTU 1280)
	timeExceeded                 // 11/0, 3/0
	paramProblem                 // 12/0, 4/0
	protoUnreach                 // 3/2, 4/1 (unrecognized next header)
	srcQuench                    // 4/0 (IPv4 only), 1/5 (source address failed policy)
	rejectRoute                  // 3/10 (host admin prohibited), 1/6 (reject route)
)

var icmpCodes = map[icmpKind][2][2]uint8{
	hostUnreach:  {{3, 1}, {1, 3}},
	portUnreach:  {{3, 3}, {1, 4}},
	netUnreach:   {{3, 0}, {1, 0}},
	adminProhib:  {{3, 13}, {1, 1}},
	fragNeeded:   {{3, 4}, {2, 0}},
	timeExceeded: {{11, 0}, {3, 0}},
	paramProblem: {{12, 0}, {4, 0}},
	protoUnreach: {{3, 2}, {4, 1}},
	srcQuench:    {{4, 0}, {1, 5}},
	rejectRoute:  {{3, 10}, {1, 6}},
}

// icmp is an ICMP error of kind from the router quoting quote.
func (k kit) icmp(kind icmpKind, quote []byte) spoof.Packet {
	return k.icmpFrom(k.router(), kind, quote)
}

// icmpFrom is icmp from another source address.
func (k kit) icmpFrom(src netip.Addr, kind icmpKind, quote []byte) spoof.Packet {
	f := 0
	proto := uint8(1)
	if k.v6() {
		f, proto = 1, 58
	}
	tc := icmpCodes[kind][f]
	msg := spoof.ICMP(src, k.s.IP.Src, tc[0], tc[1], quote)
	if kind == fragNeeded {
		// Next-hop MTU (IPv4, the low half of the rest-of-header word) or
		// MTU (ICMPv6, the whole word): 1280.
		binary.BigEndian.PutUint32(msg[4:], 1280)
		fixICMPChecksum(src, k.s.IP.Src, msg)
	}
	return spoof.Packet{Src: src, Dst: k.s.IP.Src, Proto: proto, TTL: 64, ID: nextID(), L4: msg}
}

// fixICMPChecksum recomputes the checksum of an edited ICMP/ICMPv6 message.
func fixICMPChecksum(src, dst netip.Addr, msg []byte) {
	msg[2], msg[3] = 0, 0
	var init uint32
	if src.Is6() {
		init = wire.PseudoHeaderSum(src, dst, 58, len(msg))
	}
	binary.BigEndian.PutUint16(msg[2:], wire.Fold(wire.Sum(msg, init)))
}

// quote is a copy of the SYN's packet, to quote as it is or edited.
func (k kit) quote() []byte { return k.s.Quote() }

// quoteSeq is the SYN's packet with its sequence number set to seq.
func (k kit) quoteSeq(seq uint32) []byte { return k.s.SetSeq(k.s.Quote(), seq) }

// send turns packets into sends to the client, the first forgeDelay after
// the SYN, the next forgeGap apart.
func send(pkts ...[]byte) []spoof.Send {
	out := make([]spoof.Send, len(pkts))
	for i, p := range pkts {
		out[i] = spoof.Send{After: forgeDelay + time.Duration(i)*forgeGap, Packet: p}
	}
	return out
}

// one is send of one packet.
func one(p spoof.Packet) []spoof.Send { return send(p.Bytes()) }

// to sends one packet in a frame to the link-layer destination mac.
func to(mac net.HardwareAddr, p spoof.Packet) []spoof.Send {
	s := one(p)
	s[0].DstMAC = mac
	return s
}

// Edits of a TCP spec.
func flags(f wire.Flags) func(*spoof.TCPSpec) { return func(t *spoof.TCPSpec) { t.Flags = f } }
func ack(a uint32) func(*spoof.TCPSpec)       { return func(t *spoof.TCPSpec) { t.Ack = a } }
func window(w uint16) func(*spoof.TCPSpec)    { return func(t *spoof.TCPSpec) { t.Window = w } }
func options(o []byte) func(*spoof.TCPSpec)   { return func(t *spoof.TCPSpec) { t.Options = o } }
func payload(p []byte) func(*spoof.TCPSpec)   { return func(t *spoof.TCPSpec) { t.Payload = p } }
func badChecksum() func(*spoof.TCPSpec)       { return func(t *spoof.TCPSpec) { t.BadChecksum = true } }
func dataOffset(bytes int) func(*spoof.TCPSpec) {
	return func(t *spoof.TCPSpec) { t.DataOffset = bytes }
}
func urgent(ptr uint16) func(*spoof.TCPSpec) {
	return func(t *spoof.TCPSpec) { t.Flags |= wire.URG; t.Urgent = ptr }
}

// withIPOptions returns p with IPv4 options o.
func withIPOptions(p spoof.Packet, o []byte) spoof.Packet { p.IPOptions = o; return p }

// withExt returns p with IPv6 extension headers ext.
func withExt(p spoof.Packet, ext ...spoof.Ext) spoof.Packet { p.Ext = ext; return p }

// destOpts is a destination options header holding one option of type
// typ with 4 bytes of data (8 bytes in all).
func destOpts(typ uint8) spoof.Ext {
	return spoof.Ext{Type: spoof.ExtDestOpts, Bytes: []byte{0, 0, typ, 4, 0, 0, 0, 0}}
}

// hopByHop is a hop-by-hop header holding one PadN.
func hopByHop() spoof.Ext {
	return spoof.Ext{Type: spoof.ExtHopByHop, Bytes: []byte{0, 0, 1, 4, 0, 0, 0, 0}}
}

// routing is a routing header of type typ with segments left left and one
// address (fd00:2::9).
func routing(typ, left uint8) spoof.Ext {
	b := make([]byte, 24)
	b[1], b[2], b[3] = 2, typ, left
	a := netip.MustParseAddr("fd00:2::9").As16()
	copy(b[8:], a[:])
	return spoof.Ext{Type: spoof.ExtRouting, Bytes: b}
}

// atomicFrag is a fragment header with offset 0 and M clear (RFC 8021).
func atomicFrag() spoof.Ext {
	return spoof.Ext{Type: spoof.ExtFragment, Bytes: []byte{0, 0, 0, 0, 0, 0, 0x42, 0x42}}
}

// each repeats ext n times.
func each(n int, ext spoof.Ext) []spoof.Ext {
	out := make([]spoof.Ext, n)
	for i := range out {
		out[i] = ext
	}
	return out
}

// frags sends the fragments of p cut at cuts, in the order given by
// order (indexes into the fragments).
func frags(p spoof.Packet, order []int, cuts ...int) []spoof.Send {
	fs := p.Fragments(cuts...)
	var pkts [][]byte
	for _, i := range order {
		pkts = append(pkts, fs[i])
	}
	return send(pkts...)
}

// loneFirst is the first fragment of p cut at cut, alone, with its
// upper-layer checksum recomputed over that fragment's bytes only, so a
// parser that does not know it is a fragment finds nothing wrong.
func loneFirst(p spoof.Packet, cut int, csumAt int) []spoof.Send {
	part := append([]byte(nil), p.L4[:cut]...)
	part[csumAt], part[csumAt+1] = 0, 0
	var init uint32
	if p.Proto == wire.ProtocolTCP || p.Proto == 58 {
		init = wire.PseudoHeaderSum(p.Src, p.Dst, p.Proto, len(part))
	}
	binary.BigEndian.PutUint16(part[csumAt:], wire.Fold(wire.Sum(part, init)))
	q := p
	q.L4 = append(part, p.L4[cut:]...)
	return send(q.Fragments(cut)[0])
}

// editIP applies fn to the built bytes of p (header edits a Packet cannot
// express) and sends the result.
func editIP(p spoof.Packet, fn func(b []byte) []byte) []spoof.Send { return send(fn(p.Bytes())) }

// kernelVerdict runs the kernel's own nonblocking connect() to dst in the
// lab's client namespace, bounded by forgedBound, and says what it ended
// with as the suite writes verdicts: vOpen, vTimeout or the errno's name
// ("" with an error when it could not run).
func kernelVerdict(l *lab.Lab, dst netip.AddrPort) (string, time.Duration, error) {
	errno, took, err := l.KernelConnect(l.Client, dst, forgedBound)
	switch {
	case errors.Is(err, lab.ErrGaveUp):
		return vTimeout, took, nil
	case err != nil:
		return "", took, err
	case errno == 0:
		return vOpen, took, nil
	}
	return unix.ErrnoName(errno), took, nil
}
