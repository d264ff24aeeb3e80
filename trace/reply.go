package trace

import (
	"errors"
	"net/netip"
	"syscall"

	xicmp "golang.org/x/net/icmp"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/wire"
)

// flow is what a trace sends: one 5-tuple, one sequence number per query.
type flow struct {
	src, dst     netip.Addr
	sport, dport uint16
	// sent maps each query's sequence number to the packet sent with it.
	sent map[uint32][]byte
	// distPort and distSeq are the distance probe's port and sequence
	// number (distPort 0: none sent).
	distPort uint16
	distSeq  uint32
}

// reply is one validated answer.
type reply struct {
	seq  uint32 // the query it answers
	kind string
	from netip.Addr
	ttl  uint8
	// ICMP
	typ, code uint8
	errno     syscall.Errno
	reason    string
	mpls      []Label
	rewritten []string
	// TCP
	synack   *wire.Options
	distance bool // answers the distance probe
	// rstSeq, when not 0 with sendRST, is the sequence number of the RST
	// that tears down (or answers) the half-open connection the segment
	// shows.
	sendRST bool
	rstSeq  uint32
}

// Why an answer was ignored (listed in Result.Ignored).
const (
	whyBadChecksum = "bad-checksum"
	whyBadACK      = "bad-ack"
	whyRSTNoACK    = "rst-without-ack"
	whyChallenge   = "challenge-ack"
	whyQuoteSeq    = "icmp-quote-seq"
	whyQuoteAddr   = "icmp-quote-addr"
	whyICMPType    = "icmp-not-for-tcp"
	whyMalformed   = "malformed"
)

// errNotOurs: the packet does not concern the trace at all.
var errNotOurs = errors.New("trace: not for this trace")

// classify validates pkt, an IP packet that arrived for f.src. It returns
// the answer, or errNotOurs, or an error whose text is the reason to list
// it as ignored (the reply then still carries from and, for an
// unacceptable SYN-ACK or challenge ACK, the RST to send). It never panics.
func classify(pkt []byte, checksumNotReady bool, f *flow) (reply, error) {
	var ip wire.IPInfo
	payload, err := wire.ParseIP(pkt, &ip)
	if err != nil || ip.Dst != f.src || ip.Fragment {
		return reply{}, errNotOurs
	}
	rep := reply{from: ip.Src, ttl: ip.TTL}
	switch {
	case ip.Protocol == wire.ProtocolTCP:
		return classifyTCP(payload, &ip, checksumNotReady, f, rep)
	case ip.Protocol == 1 && ip.Version == 4, ip.Protocol == 58 && ip.Version == 6:
		return classifyICMP(payload, &ip, checksumNotReady, f, rep)
	}
	return reply{}, errNotOurs
}

func classifyTCP(b []byte, ip *wire.IPInfo, csumNotReady bool, f *flow, rep reply) (reply, error) {
	var s wire.Segment
	if err := wire.ParseTCP(b, &s); err != nil {
		return reply{}, errNotOurs
	}
	if ip.Src != f.dst || s.DstPort != f.sport {
		return reply{}, errNotOurs
	}
	dist := f.distPort != 0 && s.SrcPort == f.distPort
	if s.SrcPort != f.dport && !dist {
		return reply{}, errNotOurs
	}
	if !csumNotReady && !wire.TCPChecksumValid(ip.Src, ip.Dst, b) {
		return rep, errors.New(whyBadChecksum)
	}
	_, known := f.sent[s.Ack-1]
	if dist {
		known = s.Ack-1 == f.distSeq
	}
	rep.seq, rep.distance = s.Ack-1, dist
	switch {
	case s.Flags&wire.RST != 0:
		if s.Flags&wire.ACK == 0 {
			return rep, errors.New(whyRSTNoACK)
		}
		if !known {
			return rep, errors.New(whyBadACK)
		}
		rep.kind, rep.errno = KindRST, syscall.ECONNREFUSED
		return rep, nil
	case s.Flags&(wire.SYN|wire.ACK) == wire.SYN|wire.ACK:
		// Like the probe: a SYN-ACK with a wrong ACK is answered with
		// <SEQ=SEG.ACK><RST>; an acceptable one is torn down the same way.
		rep.sendRST, rep.rstSeq = true, s.Ack
		if !known {
			return rep, errors.New(whyBadACK)
		}
		o := s.Options
		rep.kind, rep.synack = KindSYNACK, &o
		return rep, nil
	case s.Flags&wire.ACK != 0 && known:
		// The destination already holds a half-open connection of this
		// flow from an earlier query and ACKs that one: tear it down.
		rep.sendRST, rep.rstSeq = true, s.Ack
		return rep, errors.New(whyChallenge)
	}
	return reply{}, errNotOurs
}

func classifyICMP(b []byte, ip *wire.IPInfo, csumNotReady bool, f *flow, rep reply) (reply, error) {
	v6 := ip.Version == 6
	var m icmp.Message
	if err := icmp.Parse(b, v6, ip.Src, ip.Dst, !csumNotReady, &m); err != nil {
		if errors.Is(err, icmp.ErrChecksum) {
			return rep, errors.New(whyBadChecksum)
		}
		return reply{}, errNotOurs
	}
	q := &m.Quote
	if q.Protocol != wire.ProtocolTCP || q.DstPort != f.dport && q.SrcPort != f.sport {
		return reply{}, errNotOurs
	}
	if f.distPort != 0 && q.Seq == f.distSeq && q.DstPort == f.distPort {
		return reply{}, errNotOurs // the distance probe met a router
	}
	sent, ok := f.sent[q.Seq]
	switch {
	case !ok:
		return rep, errors.New(whyQuoteSeq)
	case q.Dst != f.dst || q.DstPort != f.dport:
		return rep, errors.New(whyQuoteAddr)
	}
	rep.seq, rep.typ, rep.code = q.Seq, m.Type, m.Code
	timeExceeded := (!v6 && m.Type == 11 && m.Code == 0) || (v6 && m.Type == 3 && m.Code == 0)
	v := icmp.Linux(&m)
	switch {
	case timeExceeded:
		rep.kind = KindTimeExceeded
	case v.Class == icmp.Error:
		rep.kind, rep.errno = KindUnreachable, v.Errno
	default:
		return rep, errors.New(whyICMPType)
	}
	rep.reason = v.Reason
	proto := 1
	if v6 {
		proto = 58
	}
	if xm, err := xicmp.ParseMessage(proto, b); err == nil {
		var data []byte
		var exts []xicmp.Extension
		switch body := xm.Body.(type) {
		case *xicmp.TimeExceeded:
			data, exts = body.Data, body.Extensions
		case *xicmp.DstUnreach:
			data, exts = body.Data, body.Extensions
		}
		rep.mpls = labels(exts)
		rep.rewritten = rewritten(sent, data, v6)
	}
	// Only the destination, its port and our sequence number must match:
	// a NAT rewrites the source address and port, and says so here.
	if q.Src != f.src && !contains(rep.rewritten, "source") {
		rep.rewritten = append(rep.rewritten, "source")
	}
	if q.SrcPort != f.sport && !contains(rep.rewritten, "source-port") {
		rep.rewritten = append(rep.rewritten, "source-port")
	}
	return rep, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// labels returns the MPLS label stack entries of RFC 4950 extensions.
func labels(exts []xicmp.Extension) []Label {
	var out []Label
	for _, e := range exts {
		if st, ok := e.(*xicmp.MPLSLabelStack); ok {
			for _, l := range st.Labels {
				out = append(out, Label{Label: l.Label, TC: l.TC, S: l.S, TTL: l.TTL})
			}
		}
	}
	return out
}

// field is a byte range of a header and its name.
type field struct {
	off, end int
	name     string
}

// The fields compared between what was sent and what a quote shows; TTL /
// hop limit and the IPv4 header checksum change on every hop and are left
// out.
var (
	fields4 = []field{{1, 2, "tos"}, {2, 4, "total-length"}, {4, 6, "id"}, {6, 8, "flags"},
		{9, 10, "protocol"}, {12, 16, "source"}, {16, 20, "destination"}}
	fields6 = []field{{0, 4, "traffic-class/flow-label"}, {4, 6, "payload-length"},
		{6, 7, "next-header"}, {8, 24, "source"}, {24, 40, "destination"}}
	fieldsTCP = []field{{0, 2, "source-port"}, {2, 4, "destination-port"}, {4, 8, "seq"},
		{8, 12, "ack"}, {12, 13, "data-offset"}, {13, 14, "tcp-flags"}, {14, 16, "window"},
		{16, 18, "tcp-checksum"}, {18, 20, "urgent"}, {20, 60, "tcp-options"}}
)

// rewritten compares the packet sent with the datagram an ICMP error quotes
// and names the fields that differ, as far as the quote reaches.
func rewritten(sent, quote []byte, v6 bool) []string {
	var out []string
	hl, fs := 40, fields6
	if !v6 {
		hl, fs = 20, fields4
		if len(quote) > 0 && int(quote[0]&0xf)*4 > 20 {
			out = append(out, "ip-options")
			hl = int(quote[0]&0xf) * 4
		}
	}
	cmp := func(a, b []byte, fs []field) {
		for _, f := range fs {
			end := min(f.end, len(a), len(b))
			if f.off >= end {
				return
			}
			for i := f.off; i < end; i++ {
				if a[i] != b[i] {
					out = append(out, f.name)
					break
				}
			}
		}
	}
	if len(quote) < hl || len(sent) < 20 {
		return out
	}
	sentHL := 40
	if !v6 {
		sentHL = 20
	}
	cmp(sent[:sentHL], quote[:hl], fs)
	cmp(sent[sentHL:], quote[hl:], fieldsTCP)
	return out
}
