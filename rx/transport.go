package rx

import (
	"encoding/binary"
	"errors"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/wire"
)

// tcp is tcp_v4_rcv / tcp_v6_rcv up to the socket's state machine: the
// packet type, the header, the authentication options a socket without
// keys rejects (tcp_inbound_hash), then the checksum (tcp_v4_do_rcv's
// tcp_checksum_complete). out.From, To and TTL are set.
func (p *Pipeline) tcp(b []byte, info *FrameInfo, out *Packet) Drop {
	if len(b) >= 4 {
		out.Tuple = Tuple{Local: out.To, Remote: out.From,
			LocalPort: binary.BigEndian.Uint16(b[2:]), RemotePort: binary.BigEndian.Uint16(b[0:])}
		out.HasTuple = true
	}
	if info.PktType != PacketHost {
		return DropNotHost
	}
	if err := wire.ParseTCP(b, &out.Seg); err != nil {
		return DropTCPHeader
	}
	if p.cfg.KernelTCPMD5 || p.cfg.KernelTCPAO {
		a, err := wire.ParseAuthOptions(wire.TCP(b).Options(), p.cfg.KernelTCPAO)
		switch {
		case err != nil:
			return DropTCPAuthHeader
		case a.AO && p.cfg.KernelTCPAO:
			return DropTCPAO
		case a.MD5 && p.cfg.KernelTCPMD5:
			return DropTCPMD5
		}
	}
	if !info.ChecksumNotReady && !wire.TCPChecksumValid(out.From, out.To, b) {
		return DropTCPChecksum
	}
	out.Kind, out.ChecksumOK = KindTCP, true
	return DropNone
}

// icmp is icmp_rcv → icmp_unreach → icmp_socket_deliver (IPv4) and
// icmpv6_rcv → icmpv6_notify (IPv6): the checksum, an error type, a quote
// holding an IP header and 8 bytes of TCP. Which errors TCP acts on, and
// the quoted sequence number, are the Machine's to judge.
func (p *Pipeline) icmp(v6 bool, b []byte, info *FrameInfo, out *Packet) Drop {
	err := icmp.Parse(b, v6, out.From, out.To, !info.ChecksumNotReady, &out.Msg)
	if errors.Is(err, icmp.ErrChecksum) {
		// Read the quote anyway, so the drop can name the probe.
		var m icmp.Message
		if icmp.Parse(b, v6, out.From, out.To, false, &m) == nil {
			out.Tuple, out.HasTuple = quoteTuple(&m.Quote), true
		}
		return DropICMPChecksum
	}
	if err == nil || errors.Is(err, icmp.ErrNotTCP) {
		if q := &out.Msg.Quote; q.Src.IsValid() && err == nil {
			out.Tuple, out.HasTuple = quoteTuple(q), true
		}
	}
	switch {
	case err == nil:
		out.Kind, out.ChecksumOK = KindICMP, true
		return DropNone
	case errors.Is(err, icmp.ErrNotError):
		return DropICMPNotError
	case errors.Is(err, icmp.ErrNotTCP):
		return DropICMPQuoteNotTCP
	case errors.Is(err, icmp.ErrBadQuote):
		return DropICMPQuote
	}
	return DropICMPHeader
}

func quoteTuple(q *icmp.Quote) Tuple {
	return Tuple{Local: q.Src, Remote: q.Dst, LocalPort: q.SrcPort, RemotePort: q.DstPort}
}
