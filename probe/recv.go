package probe

import (
	"errors"
	"net/netip"
	"time"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

// rxBatch is a receive loop's scratch for one group of packets: each
// parsed outside p.mu, then all handled under one hold of it, then what
// they ask to send sent after it.
type rxBatch struct {
	link    *linkState          // the link the packets came in on
	rp      map[netip.Addr]bool // reverse-path verdicts by source (rpFilter)
	pkts    []rxPacket
	acts    []action
	send    *sender
	one     [1][]byte // a group of one, for links that read one at a time
	oneInfo [1]rawsock.RecvInfo
}

type rxPacket struct {
	key  tuple
	icmp bool
	tcp  TCPInfo
	seg  wire.Segment
	in   ICMPInfo
	msg  icmp.Message
	at   time.Time
}

// onPackets is the receive path: parse each packet, find its probe by
// 4-tuple (an ICMP error by the 4-tuple it quotes), let the probes'
// Machines decide, in order, under one hold of p.mu, and send what they
// asked for after it is released.
func (p *Prober) onPackets(rx *rxBatch, pkts [][]byte, infos []rawsock.RecvInfo) {
	if rx.send == nil {
		rx.send = newSender(p)
	}
	if cap(rx.pkts) < len(pkts) {
		rx.pkts = make([]rxPacket, 0, len(pkts))
	}
	rx.pkts = rx.pkts[:0]
	var malformed, unmatched uint64
	for i, pkt := range pkts {
		rx.pkts = append(rx.pkts, rxPacket{})
		switch parsePacket(pkt, infos[i], &rx.pkts[len(rx.pkts)-1]) {
		case parsedMalformed:
			malformed++
		case parsedForeign:
			unmatched++
		case parsedOK:
			if !p.reversePathOK(rx, pkt) {
				rx.pkts[len(rx.pkts)-1] = rxPacket{}
				unmatched++
			}
		}
		if rp := &rx.pkts[len(rx.pkts)-1]; rp.at.IsZero() {
			rx.pkts = rx.pkts[:len(rx.pkts)-1]
		}
	}
	p.mu.Lock()
	p.stats.Malformed += malformed
	p.stats.Unmatched += unmatched
	for i := range rx.pkts {
		rp := &rx.pkts[i]
		e := p.probes[rp.key.demux()]
		if e == nil {
			p.stats.Unmatched++
			continue
		}
		var out Output
		if rp.icmp {
			rp.in.Msg = &rp.msg
			done, ignored := e.m.Done(), e.m.Result().Ignored
			out = e.m.HandleICMP(rp.in, rp.at)
			if !done && e.m.Result().Ignored == ignored {
				p.sawICMP(e, rp.at)
			}
		} else {
			rp.tcp.Seg = &rp.seg
			out = e.m.HandleTCP(rp.tcp, rp.at)
		}
		p.dispatch(e, out, &rx.acts)
	}
	p.mu.Unlock()
	rx.acts = rx.send.transmit(rx.acts)
	clear(rx.pkts) // no pointers kept past the call
}

// maxRPCache bounds a receive loop's cache of reverse-path verdicts.
const maxRPCache = 1 << 16

// reversePathOK applies the kernel's IPv4 reverse-path filter
// (fib_validate_source, net.ipv4.conf.*.rp_filter) to a packet that came in
// on rx.link: strict wants the route back to its source to leave by that
// link, loose wants some route back. Verdicts are cached per source; the
// route lookups run outside p.mu.
func (p *Prober) reversePathOK(rx *rxBatch, pkt []byte) bool {
	mode := rx.link.rpFilter
	if mode == rawsock.RPFilterOff || len(pkt) < wire.IPv4MinLen || pkt[0]>>4 != 4 {
		return true
	}
	src := netip.AddrFrom4([4]byte(pkt[12:16]))
	if ok, seen := rx.rp[src]; seen {
		return ok
	}
	if rx.rp == nil || len(rx.rp) >= maxRPCache {
		rx.rp = map[netip.Addr]bool{}
	}
	r, err := p.net.RouteTo(src, rawsock.RouteOptions{})
	ok := err == nil && (mode != rawsock.RPFilterStrict || r.Interface.Index == rx.link.ifi.Index)
	rx.rp[src] = ok
	return ok
}

// What parsePacket made of a packet.
const (
	parsedOK        = iota
	parsedMalformed // did not parse: counted as malformed
	parsedForeign   // neither TCP nor an ICMP error: counted as unmatched
	parsedIgnored   // an ICMP message that is not an error
)

// parsePacket parses one received IP packet into rp; rp.at stays zero
// unless it is a TCP segment or an ICMP error to hand to the demultiplexer.
func parsePacket(pkt []byte, info rawsock.RecvInfo, rp *rxPacket) int {
	var ip wire.IPInfo
	payload, err := wire.ParseIP(pkt, &ip)
	if err != nil || (ip.Fragment && !ip.FirstFragment) {
		return parsedMalformed
	}
	switch {
	case ip.Protocol == wire.ProtocolTCP:
		if err := wire.ParseTCP(payload, &rp.seg); err != nil {
			return parsedMalformed
		}
		ok := info.ChecksumNotReady || wire.TCPChecksumValid(ip.Src, ip.Dst, payload)
		rp.key = tuple{local: ip.Dst, remote: ip.Src, lport: rp.seg.DstPort, rport: rp.seg.SrcPort}
		rp.tcp = TCPInfo{From: ip.Src, TTL: ip.TTL, ChecksumOK: ok}
	case (ip.Version == 4 && ip.Protocol == wire.ProtocolICMP) || (ip.Version == 6 && ip.Protocol == wire.ProtocolICMPv6):
		rp.icmp = true
		v6 := ip.Version == 6
		err := icmp.Parse(payload, v6, ip.Src, ip.Dst, !info.ChecksumNotReady, &rp.msg)
		ok := true
		if errors.Is(err, icmp.ErrChecksum) {
			// Read the quote anyway so the probe it names can count it.
			ok = false
			rp.msg = icmp.Message{}
			err = icmp.Parse(payload, v6, ip.Src, ip.Dst, false, &rp.msg)
		}
		if errors.Is(err, icmp.ErrNotError) {
			return parsedIgnored
		}
		if err != nil {
			return parsedMalformed
		}
		q := &rp.msg.Quote
		rp.key = tuple{local: q.Src, remote: q.Dst, lport: q.SrcPort, rport: q.DstPort}
		rp.in = ICMPInfo{From: ip.Src, TTL: ip.TTL, ChecksumOK: ok}
	default:
		return parsedForeign
	}
	rp.at = info.Time
	return parsedOK
}
