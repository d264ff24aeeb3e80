package probe

import (
	"net"
	"net/netip"
	"time"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/rx"
	"github.com/tcpprobe/tcpprobe/wire"
)

// rxBatch is a receive loop's state: the kernel's receive path for its
// link (package rx, which holds the fragment queues) and scratch for one
// group of packets, each taken through that path outside p.mu, then all
// handled under one hold of it, then what they ask to send sent after it.
type rxBatch struct {
	link    *linkState          // the link the packets came in on
	pipe    *rx.Pipeline        // this loop's receive path
	rp      map[netip.Addr]bool // reverse-path verdicts by source (rpFilter)
	pkts    []rxPacket
	acts    []action
	send    *sender
	one     [1][]byte // a group of one, for links that read one at a time
	oneInfo [1]rawsock.RecvInfo
}

// rxPacket is one packet for the demultiplexer: a TCP segment or ICMP
// error, or a drop of the receive path that names a 4-tuple.
type rxPacket struct {
	dk   demuxKey // its 4-tuple, as the demultiplexer keys it
	h    uint64   // dk's hash (hashDemux), taken before p.mu
	icmp bool
	drop rx.Drop // rx.DropNone: a packet for the Machine
	tcp  TCPInfo
	seg  wire.Segment
	in   ICMPInfo
	msg  icmp.Message
	at   time.Time
}

// newRxBatch returns the receive state of a loop reading ls, its receive
// path obeying the sysctls of the probe's own namespace.
func (p *Prober) newRxBatch(ls *linkState) *rxBatch {
	cfg, err := rx.ReadSysctls(ls.ifi.Name)
	if err != nil {
		cfg = rx.DefaultConfig() // not Linux, or /proc unreadable: the kernel's defaults
	}
	return &rxBatch{link: ls, pipe: rx.NewPipeline(cfg), send: newSender(p)}
}

// onPackets is the receive path: take each frame through the kernel's
// receive path (rx), find its probe by 4-tuple (an ICMP error by the
// 4-tuple it quotes), let the probes' Machines decide, in order, under one
// hold of p.mu, and send what they asked for after it is released. A drop
// that names a probe's 4-tuple is listed in its result; every drop is
// counted by reason.
func (p *Prober) onPackets(b *rxBatch, pkts [][]byte, infos []rawsock.RecvInfo) {
	if cap(b.pkts) < len(pkts) {
		b.pkts = make([]rxPacket, 0, len(pkts))
	}
	b.pkts = b.pkts[:0]
	var drops [rx.NumDrops]uint64
	var out rx.Packet
	for i, pkt := range pkts {
		info := infos[i]
		fi := rx.FrameInfo{PktType: info.PktType, EtherType: info.EtherType,
			VLANTagged: info.VLANValid, VLANID: info.VLANTCI & 0xfff,
			Loopback: b.link.ifi.Flags&net.FlagLoopback != 0, ChecksumNotReady: info.ChecksumNotReady}
		d, ok := b.pipe.Input(pkt, fi, info.Time, &out)
		if ok && !p.reversePathOK(b, out.From) {
			d, ok = rx.DropReversePath, false
		}
		if !ok {
			drops[d]++
			if !out.HasTuple || d == rx.DropFragQueued || d == rx.DropOutgoing {
				continue
			}
		}
		key := tuple{local: out.Tuple.Local, remote: out.Tuple.Remote, lport: out.Tuple.LocalPort, rport: out.Tuple.RemotePort}
		b.pkts = append(b.pkts, rxPacket{
			dk:   key.demux(),
			icmp: out.Kind == rx.KindICMP,
			drop: d,
			at:   info.Time,
		})
		rp := &b.pkts[len(b.pkts)-1]
		rp.h = hashDemux(p.demuxSeed, &rp.dk)
		switch {
		case !ok:
			rp.icmp = out.Msg.Type != 0 || out.Msg.Code != 0
			rp.tcp = TCPInfo{From: out.From, TTL: out.TTL}
		case rp.icmp:
			rp.msg = out.Msg
			rp.in = ICMPInfo{From: out.From, TTL: out.TTL, ChecksumOK: out.ChecksumOK}
		default:
			rp.seg = out.Seg
			rp.tcp = TCPInfo{From: out.From, TTL: out.TTL, ChecksumOK: out.ChecksumOK}
		}
	}
	p.mu.Lock()
	p.countDrops(&drops)
	for i := range b.pkts {
		rp := &b.pkts[i]
		e := p.probes.getHashed(&rp.dk, rp.h)
		if e == nil {
			if rp.drop == rx.DropNone {
				p.stats.Unmatched++
			}
			continue
		}
		if rp.drop != rx.DropNone {
			e.m.Dropped(rp.drop.String(), rp.tcp.From, rp.tcp.TTL, rp.icmp, rp.at)
			continue
		}
		var out Output
		if rp.icmp {
			rp.in.Msg = &rp.msg
			done, ignored := e.m.Done(), e.m.Ignored()
			out = e.m.HandleICMP(rp.in, rp.at)
			if !done && e.m.Ignored() == ignored {
				p.sawICMP(e, rp.at)
			}
		} else {
			rp.tcp.Seg = &rp.seg
			out = e.m.HandleTCP(rp.tcp, rp.at)
		}
		p.dispatch(e, out, &b.acts)
	}
	p.mu.Unlock()
	b.acts = b.send.transmit(b.acts)
	clear(b.pkts) // no pointers kept past the call
}

// countDrops adds a group's receive-path drops to the stats: a held
// fragment is no drop, and a packet for no probe (another protocol, an
// ICMP message that is no error) is unmatched rather than malformed; p.mu
// is held.
func (p *Prober) countDrops(drops *[rx.NumDrops]uint64) {
	for d, n := range drops {
		if n == 0 {
			continue
		}
		switch rx.Drop(d) {
		case rx.DropFragQueued, rx.DropOutgoing:
			continue
		case rx.DropNotTCPOrICMP, rx.DropICMPNotError:
			p.stats.Unmatched += n
		default:
			p.stats.Malformed += n
		}
		p.rxDrops[d] += n
	}
}

// maxRPCache bounds a receive loop's cache of reverse-path verdicts.
const maxRPCache = 1 << 16

// reversePathOK applies the kernel's IPv4 reverse-path filter
// (fib_validate_source, net.ipv4.conf.*.rp_filter) to a packet from src
// that came in on b.link: strict wants the route back to src to leave by
// that link, loose wants some route back. Verdicts are cached per source;
// the route lookups run outside p.mu.
func (p *Prober) reversePathOK(b *rxBatch, src netip.Addr) bool {
	mode := b.link.rpFilter
	if mode == rawsock.RPFilterOff || !src.Is4() {
		return true
	}
	if ok, seen := b.rp[src]; seen {
		return ok
	}
	if b.rp == nil || len(b.rp) >= maxRPCache {
		b.rp = map[netip.Addr]bool{}
	}
	r, err := p.net.RouteTo(src, rawsock.RouteOptions{})
	ok := err == nil && (mode != rawsock.RPFilterStrict || r.Interface.Index == b.link.ifi.Index)
	b.rp[src] = ok
	return ok
}
