package e2e

import (
	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/wire"
)

// moreCases are the forged cases beyond issue 11's table: SYN-ACK, IP,
// RST and ICMP variants, each verified against this host's kernel.
var moreCases = []forgedCase{
	// SYN-ACK variants.
	{"synack", "a good SYN-ACK (MSS, SACK-permitted, timestamps, wscale)", vOpen, vOpen, func(k kit) []spoof.Send { return one(k.synAck()) }},
	{"synack-no-options", "SYN-ACK without options", vOpen, vOpen, func(k kit) []spoof.Send { return one(k.synAck(options(nil))) }},
	{"synack-mss-only", "SYN-ACK with MSS only", vOpen, vOpen, func(k kit) []spoof.Send { return one(k.synAck(options(spoof.OptMSS1460))) }},
	{"synack-window-0", "SYN-ACK with window 0", vOpen, vOpen, func(k kit) []spoof.Send { return one(k.synAck(window(0))) }},
	{"synack-data", "SYN-ACK carrying 10 bytes of data", vOpen, vOpen, func(k kit) []spoof.Send {
		return one(k.synAck(payload([]byte("0123456789"))))
	}},
	{"synack-urg", "SYN-ACK with URG, urgent pointer 1, one byte of data", vOpen, vOpen, func(k kit) []spoof.Send {
		return one(k.synAck(urgent(1), payload([]byte("!"))))
	}},
	{"synack-ece-cwr", "SYN-ACK with ECE and CWR (ECN not asked for)", vOpen, vOpen, func(k kit) []spoof.Send {
		return one(k.synAck(flags(synAckFlags | wire.ECE | wire.CWR)))
	}},
	{"synack-ip-ce", "SYN-ACK marked ECN CE in the IP header", vOpen, vOpen, func(k kit) []spoof.Send {
		p := k.synAck()
		p.TOS = 3
		return one(p)
	}},
	{"synack-ttl-1", "SYN-ACK with TTL / hop limit 1", vOpen, vOpen, func(k kit) []spoof.Send {
		p := k.synAck()
		p.TTL = 1
		return one(p)
	}},
	{"synack-fin", "SYN|ACK|FIN", vOpen, vOpen, func(k kit) []spoof.Send { return one(k.synAck(flags(synAckFlags | wire.FIN))) }},
	{"synack-psh", "SYN|ACK|PSH with data", vOpen, vOpen, func(k kit) []spoof.Send {
		return one(k.synAck(flags(synAckFlags|wire.PSH), payload([]byte("hello"))))
	}},
	{"synack-rst", "SYN|ACK|RST with ACK = ISS+1", "ECONNREFUSED", "ECONNREFUSED", func(k kit) []spoof.Send {
		return one(k.synAck(flags(synAckFlags | wire.RST)))
	}},
	{"synack-ack-iss", "SYN-ACK with ACK = ISS", vTimeout, vTimeout, func(k kit) []spoof.Send { return one(k.synAck(ack(k.iss()))) }},
	{"synack-ack-iss+2", "SYN-ACK with ACK = ISS+2 to every SYN", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.synAck(ack(k.iss() + 2)))
	}},
	{"synack-bad-checksum", "SYN-ACK with a bad TCP checksum", vTimeout, vTimeout, func(k kit) []spoof.Send { return one(k.synAck(badChecksum())) }},
	{"synack-doff-4", "SYN-ACK with data offset 4 (16 bytes)", vTimeout, vTimeout, func(k kit) []spoof.Send { return one(k.synAck(dataOffset(16))) }},
	{"synack-doff-past-end", "SYN-ACK with data offset 15 (60 bytes) in a 40-byte segment", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.synAck(dataOffset(60)))
	}},
	{"synack-option-len-1", "SYN-ACK with an option of length 1 after MSS (parsing stops)", vOpen, vOpen, func(k kit) []spoof.Send {
		return one(k.synAck(options(spoof.Join(spoof.OptMSS1460, []byte{30, 1, 1, 1}))))
	}},
	{"synack-option-overrun", "SYN-ACK with a timestamps option whose length runs past the header", vOpen, vOpen, func(k kit) []spoof.Send {
		return one(k.synAck(options(spoof.Join(spoof.OptMSS1460, []byte{8, 40, 0, 0}))))
	}},
	{"synack-tsecr-0", "SYN-ACK with timestamps, TSecr 0", vOpen, vOpen, func(k kit) []spoof.Send { return one(k.synAck(options(k.opts(0)))) }},
	{"synack-tsecr-past", "SYN-ACK whose TSecr is TSval-100,000 (PAWS)", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.synAck(options(k.opts(k.tsval() - 100_000))))
	}},
	{"synack-wscale-15", "SYN-ACK with window scale 15 (above the limit of 14)", vOpen, vOpen, func(k kit) []spoof.Send {
		o := k.opts(k.tsval())
		o[len(o)-1] = 15
		return one(k.synAck(options(o)))
	}},
	{"synack-ao-option", "SYN-ACK carrying an (unexpected) TCP-AO option", vOpen, vOpen, func(k kit) []spoof.Send {
		return one(k.synAck(options(spoof.Join(spoof.OptMSS1460, aoOption))))
	}},
	{"synack-wrong-source", "a good SYN-ACK from another address", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.tcpFrom(k.elsewhere(), k.synAckSpec()))
	}},
	{"synack-wrong-port", "a good SYN-ACK to the probe's source port + 1", vTimeout, vTimeout, func(k kit) []spoof.Send {
		t := k.synAckSpec()
		t.DstPort++
		return one(k.tcp(t))
	}},
	{"synack-length-long", "SYN-ACK whose IP length says 20 bytes more than the frame holds", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return editIP(k.synAck(), func(b []byte) []byte { return addIPLength(b, 20) })
	}},
	{"synack-trailer", "SYN-ACK followed by 6 bytes past its IP length (link padding)", vOpen, vOpen, func(k kit) []spoof.Send {
		return editIP(k.synAck(), func(b []byte) []byte { return append(b, 0xde, 0xad, 0xbe, 0xef, 0, 0) })
	}},
	{"synack-frag-three", "SYN-ACK in three fragments (8, 16, rest; v6 drops a first fragment without the whole TCP header, RFC 7112)", vOpen, vTimeout, func(k kit) []spoof.Send {
		return frags(k.synAck(), []int{0, 1, 2}, 8, 24)
	}},
	{"synack-frag-overlap", "SYN-ACK in two fragments that overlap by 8 bytes", vTimeout, vTimeout, func(k kit) []spoof.Send {
		p := k.synAck()
		return send(p.Fragment(0, 24, true), p.Fragment(16, len(p.L4), false))
	}},
	{"synack-frag-duplicate", "SYN-ACK in two fragments, the first sent twice", vOpen, vOpen, func(k kit) []spoof.Send {
		p := k.synAck()
		return send(p.Fragment(0, 24, true), p.Fragment(0, 24, true), p.Fragment(24, len(p.L4), false))
	}},

	// IP header variants, one per family on the same line.
	{"ip-nop-options", "v4: SYN-ACK with 4 NOP options; v6: behind a hop-by-hop header (PadN)", vOpen, vOpen, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), hopByHop()))
		}
		return one(withIPOptions(k.synAck(), nop4))
	}},
	{"ip-rr-valid", "v4: SYN-ACK with a valid record-route option; v6: dest-opts with unknown option 0x1e (action: skip)", vOpen, vOpen, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), destOpts(0x1e)))
		}
		return one(withIPOptions(k.synAck(), []byte{7, 7, 4, 0, 0, 0, 0, 1}))
	}},
	{"ip-option-unknown", "v4: SYN-ACK with an unknown IP option (type 30); v6: dest-opts option 0x40 (action: discard)", vOpen, vTimeout, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), destOpts(0x40)))
		}
		return one(withIPOptions(k.synAck(), []byte{30, 4, 0, 0}))
	}},
	{"ip-lsrr-done", "v4: SYN-ACK with an exhausted LSRR (pointer past the end); v6: dest-opts option 0xc0 (discard + ICMP unless multicast)", vTimeout, vTimeout, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), destOpts(0xc0)))
		}
		return one(withIPOptions(k.synAck(), []byte{131, 7, 8, 198, 18, 2, 9, 1}))
	}},
	{"ip-option-overrun", "v4: SYN-ACK with a record-route option longer than the options; v6: routing header type 0, segments left 0", vTimeout, vOpen, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), routing(0, 0)))
		}
		return one(withIPOptions(k.synAck(), []byte{7, 12, 4, 0, 0, 0, 0, 1}))
	}},
	{"ip-timestamp-option", "v4: SYN-ACK with a valid IP timestamp option; v6: routing header type 253, segments left 0", vOpen, vOpen, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), routing(253, 0)))
		}
		return one(withIPOptions(k.synAck(), []byte{68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
	}},
	{"ip-reserved-flag", "v4: SYN-ACK with the reserved IP flag set; v6: routing header type 253, segments left 1", vOpen, vTimeout, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), routing(253, 1)))
		}
		p := k.synAck()
		p.Reserved = true
		return one(p)
	}},
	{"ip-ttl-0", "SYN-ACK with TTL / hop limit 0", vOpen, vOpen, func(k kit) []spoof.Send {
		return editIP(k.synAck(), setTTL0)
	}},
	{"ip-no-df", "v4: SYN-ACK without DF; v6: behind an atomic fragment header", vOpen, vOpen, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), atomicFrag()))
		}
		p := k.synAck()
		p.NoDF = true
		return one(p)
	}},
	{"ip-bad-header", "v4: SYN-ACK with a bad IP header checksum; v6: hop-by-hop header after a dest-opts header", vTimeout, vTimeout, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), destOpts(1), hopByHop()))
		}
		return editIP(k.synAck(), func(b []byte) []byte { b[10] ^= 0x5a; return b })
	}},
	{"ip-ihl-4", "v4: IHL 4; v6: payload length 8 bytes short of the segment", vTimeout, vTimeout, func(k kit) []spoof.Send {
		if k.v6() {
			return editIP(k.synAck(), func(b []byte) []byte { return addIPLength(b, -8) })
		}
		return editIP(k.synAck(), func(b []byte) []byte { b[0] = 0x44; return spoof.FixIPv4Checksum(b) })
	}},

	// RST and other flag variants.
	{"rst-ack", "RST+ACK with ACK = ISS+1", "ECONNREFUSED", "ECONNREFUSED", func(k kit) []spoof.Send { return one(k.rst()) }},
	{"rst-no-ack", "RST without ACK, SEQ = 0", vTimeout, vTimeout, func(k kit) []spoof.Send { return one(k.rst(flags(wire.RST), ack(0))) }},
	{"rst-ack-wrong-ack", "RST+ACK with ACK = ISS+2", vTimeout, vTimeout, func(k kit) []spoof.Send { return one(k.rst(ack(k.iss() + 2))) }},
	{"rst-ack-data", "RST+ACK with ACK = ISS+1 carrying 12 bytes of data", "ECONNREFUSED", "ECONNREFUSED", func(k kit) []spoof.Send {
		return one(k.rst(payload([]byte("no listener"))))
	}},
	{"rst-ack-any-seq", "RST+ACK with ACK = ISS+1 and an arbitrary SEQ", "ECONNREFUSED", "ECONNREFUSED", func(k kit) []spoof.Send {
		return one(k.rst(func(t *spoof.TCPSpec) { t.Seq = 0xdeadbeef }))
	}},
	{"rst-ack-bad-checksum", "RST+ACK with a bad checksum", vTimeout, vTimeout, func(k kit) []spoof.Send { return one(k.rst(badChecksum())) }},
	{"rst-ack-paws", "RST+ACK with timestamps whose TSecr is TSval+1,000,000", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.rst(options(spoof.OptTimestamps(0x1000, k.tsval()+1_000_000))))
	}},
	{"rst-ack-broadcast", "RST+ACK to the broadcast MAC", vTimeout, vTimeout, func(k kit) []spoof.Send { return to(broadcastMAC, k.rst()) }},
	{"rst-ack-vlan", "RST+ACK in an 802.1Q frame, VLAN 7", vTimeout, vTimeout, func(k kit) []spoof.Send {
		s := one(k.rst())
		s[0].VLAN = 7
		return s
	}},
	{"bare-ack", "ACK (no SYN) with ACK = ISS+1", vTimeout, vTimeout, func(k kit) []spoof.Send { return one(k.synAck(flags(wire.ACK))) }},
	{"bare-syn", "SYN without ACK, nothing after (simultaneous open half done)", vTimeout, vTimeout, func(k kit) []spoof.Send { return one(k.synOnly()) }},

	// ICMP / ICMPv6 variants.
	{"icmp-host", "ICMP host unreachable (3/1; v6 1/3) quoting the SYN", "EHOSTUNREACH", "EHOSTUNREACH", func(k kit) []spoof.Send { return one(k.icmp(hostUnreach, k.quote())) }},
	{"icmp-port", "ICMP port unreachable (3/3; v6 1/4)", "ECONNREFUSED", "ECONNREFUSED", func(k kit) []spoof.Send { return one(k.icmp(portUnreach, k.quote())) }},
	{"icmp-net", "ICMP net unreachable (3/0; v6 1/0 no route)", "ENETUNREACH", "ENETUNREACH", func(k kit) []spoof.Send { return one(k.icmp(netUnreach, k.quote())) }},
	{"icmp-admin", "ICMP admin prohibited (3/13; v6 1/1)", "EHOSTUNREACH", "EACCES", func(k kit) []spoof.Send { return one(k.icmp(adminProhib, k.quote())) }},
	{"icmp-frag-needed", "ICMP fragmentation needed, MTU 1280 (3/4; v6 packet too big)", vTimeout, vTimeout, func(k kit) []spoof.Send { return one(k.icmp(fragNeeded, k.quote())) }},
	{"icmp-time-exceeded", "ICMP time exceeded in transit (11/0; v6 3/0)", "EHOSTUNREACH", "EHOSTUNREACH", func(k kit) []spoof.Send {
		return one(k.icmp(timeExceeded, k.quote()))
	}},
	{"icmp-param-problem", "ICMP parameter problem (12/0; v6 4/0)", "EPROTO", "EPROTO", func(k kit) []spoof.Send { return one(k.icmp(paramProblem, k.quote())) }},
	{"icmp-proto", "ICMP protocol unreachable (3/2; v6 4/1 unrecognized next header)", "ENOPROTOOPT", "EPROTO", func(k kit) []spoof.Send {
		return one(k.icmp(protoUnreach, k.quote()))
	}},
	{"icmp-quench-policy", "v4: ICMP source quench (4/0); v6: 1/5 source address failed policy", vTimeout, "EACCES", func(k kit) []spoof.Send {
		return one(k.icmp(srcQuench, k.quote()))
	}},
	{"icmp-host-admin", "v4: ICMP host administratively prohibited (3/10); v6: 1/6 reject route", "EHOSTUNREACH", "EACCES", func(k kit) []spoof.Send {
		return one(k.icmp(rejectRoute, k.quote()))
	}},
	{"icmp-quote-wrong-seq", "ICMP host unreachable quoting seq ISS+7", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.icmp(hostUnreach, k.quoteSeq(k.iss()+7)))
	}},
	{"icmp-quote-iss-1", "ICMP host unreachable quoting seq ISS-1", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.icmp(hostUnreach, k.quoteSeq(k.iss()-1)))
	}},
	{"icmp-quote-other-ports", "ICMP host unreachable quoting other ports", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.icmp(hostUnreach, k.s.SetPorts(k.quote(), k.s.Seg.SrcPort+1, k.s.Seg.DstPort)))
	}},
	{"icmp-quote-other-dst", "ICMP host unreachable whose quote names another destination address", vTimeout, vTimeout, func(k kit) []spoof.Send {
		q := k.quote()
		if k.v6() {
			q[39] ^= 0x40
		} else {
			q[19] ^= 0x40
		}
		return one(k.icmp(hostUnreach, q))
	}},
	{"icmp-bad-checksum", "ICMP host unreachable with a bad ICMP checksum", vTimeout, vTimeout, func(k kit) []spoof.Send {
		p := k.icmp(hostUnreach, k.quote())
		p.L4[2] ^= 0x5a
		return one(p)
	}},
	{"icmp-quote-8-bytes", "ICMP host unreachable quoting the IP header and 8 TCP bytes", "EHOSTUNREACH", "EHOSTUNREACH", func(k kit) []spoof.Send {
		return one(k.icmp(hostUnreach, k.quote()[:k.s.IP.HeaderLen+8]))
	}},
	{"icmp-quote-4-bytes", "ICMP host unreachable quoting the IP header and 4 TCP bytes", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.icmp(hostUnreach, k.quote()[:k.s.IP.HeaderLen+4]))
	}},
	{"icmp-from-elsewhere", "ICMP host unreachable from an address not on the path", "EHOSTUNREACH", "EHOSTUNREACH", func(k kit) []spoof.Send {
		return one(k.icmpFrom(k.elsewhere(), hostUnreach, k.quote()))
	}},
	{"icmp-broadcast-mac", "ICMP host unreachable to the broadcast MAC", "EHOSTUNREACH", "EHOSTUNREACH", func(k kit) []spoof.Send {
		return to(broadcastMAC, k.icmp(hostUnreach, k.quote()))
	}},
	{"icmp-vlan", "ICMP host unreachable in an 802.1Q frame, VLAN 5", vTimeout, vTimeout, func(k kit) []spoof.Send {
		s := one(k.icmp(hostUnreach, k.quote()))
		s[0].VLAN = 5
		return s
	}},
	{"icmp-quote-options", "ICMP host unreachable whose quote has IP options (v4: 4 NOPs; v6: a dest-opts header)", "EHOSTUNREACH", "EHOSTUNREACH", func(k kit) []spoof.Send {
		if k.v6() {
			return one(k.icmp(hostUnreach, spoof.InsertIPv6Ext(k.quote(), 60, spoof.DestOpts)))
		}
		return one(k.icmp(hostUnreach, quoteWithNOPs(k.quote())))
	}},
	{"icmp-outer-options", "ICMP host unreachable carried with IP options (v4: 4 NOPs; v6: behind a dest-opts header)", "EHOSTUNREACH", "EHOSTUNREACH", func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.icmp(hostUnreach, k.quote()), destOpts(1)))
		}
		return one(withIPOptions(k.icmp(hostUnreach, k.quote()), nop4))
	}},
	{"icmp-outer-bad-option", "ICMP host unreachable carried with a malformed option (v4: RR length 0; v6: dest-opts 0x80)", vTimeout, vTimeout, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.icmp(hostUnreach, k.quote()), destOpts(0x80)))
		}
		return one(withIPOptions(k.icmp(hostUnreach, k.quote()), []byte{7, 0, 4, 0}))
	}},
	{"icmp-echo-reply", "an echo reply (0/0; v6 129/0) carrying the SYN as data", vTimeout, vTimeout, func(k kit) []spoof.Send {
		p := k.icmp(hostUnreach, k.quote())
		if k.v6() {
			p.L4[0], p.L4[1] = 129, 0
		} else {
			p.L4[0], p.L4[1] = 0, 0
		}
		fixICMPChecksum(p.Src, p.Dst, p.L4)
		return one(p)
	}},
}
