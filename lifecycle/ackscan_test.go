package lifecycle

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

var (
	ackSrc = netip.MustParseAddrPort("198.18.1.2:41000")
	ackDst = netip.MustParseAddrPort("198.18.2.2:80")
	router = netip.MustParseAddr("198.18.1.1")
)

// segment encodes one IPv4 TCP segment.
func segment(t testing.TB, src, dst netip.AddrPort, seq, ack uint32, f wire.Flags) []byte {
	b := make([]byte, wire.MaxSegmentLen)
	n, err := wire.EncodeSegment(b, &wire.SegmentSpec{Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(),
		DstPort: dst.Port(), Seq: seq, Ack: ack, Flags: f})
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}

// icmpError wraps quote (an IPv4 packet we sent) in an ICMP
// destination-unreachable from router to ackSrc.
func icmpError(quote []byte, code uint8) []byte {
	q := quote[:min(len(quote), 28)]
	msg := make([]byte, 8+len(q))
	msg[0], msg[1] = 3, code
	copy(msg[8:], q)
	binary.BigEndian.PutUint16(msg[2:], wire.Fold(wire.Sum(msg, 0)))
	ip := make([]byte, 20+len(msg))
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	ip[8], ip[9] = 64, 1
	s, d := router.As4(), ackSrc.Addr().As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[10:], wire.Fold(wire.Sum(ip[:20], 0)))
	copy(ip[20:], msg)
	return ip
}

func TestACKProbeHandle(t *testing.T) {
	p := ackProbe{src: ackSrc, dst: ackDst, seq: 1000, ack: 7777}
	ours := segment(t, ackSrc, ackDst, 1000, 7777, wire.ACK)
	badSum := segment(t, ackDst, ackSrc, 7777, 0, wire.RST)
	badSum[len(badSum)-1] ^= 0xff // the TCP header's last byte: the checksum no longer verifies
	other := netip.MustParseAddrPort("198.18.2.2:81")
	tests := []struct {
		name       string
		pkt        []byte
		csumOK     bool
		match      bool
		outcome    probe.Outcome
		errno      syscall.Errno
		why        string
		reasonWant string
	}{
		{"RST with SEQ = our ACK", segment(t, ackDst, ackSrc, 7777, 0, wire.RST), false, true, probe.Unfiltered, 0, "", "rst"},
		{"RST|ACK with SEQ = our ACK", segment(t, ackDst, ackSrc, 7777, 1000, wire.RST|wire.ACK), false, true, probe.Unfiltered, 0, "", "rst"},
		{"RST with another SEQ", segment(t, ackDst, ackSrc, 7778, 0, wire.RST), false, true, "", 0, IgnoredRSTSeq, ""},
		{"not an RST", segment(t, ackDst, ackSrc, 7777, 1000, wire.ACK), false, true, "", 0, IgnoredNotRST, ""},
		{"bad checksum", badSum, false, true, "", 0, probe.IgnoredBadChecksum, ""},
		{"bad checksum, link says not ready", badSum, true, true, probe.Unfiltered, 0, "", "rst"},
		{"another port", segment(t, other, ackSrc, 7777, 0, wire.RST), false, false, "", 0, "", ""},
		{"ICMP port unreachable quoting our ACK", icmpError(ours, 3), false, true, probe.Filtered, syscall.ECONNREFUSED, "", "icmp-port-unreachable"},
		{"ICMP admin prohibited quoting our ACK", icmpError(ours, 13), false, true, probe.Filtered, syscall.EHOSTUNREACH, "", "icmp-admin-prohibited"},
		{"ICMP quoting another SEQ", icmpError(segment(t, ackSrc, ackDst, 999, 7777, wire.ACK), 3), false, false, "", 0, "", ""},
		{"ICMP quoting another port", icmpError(segment(t, ackSrc, other, 1000, 7777, wire.ACK), 3), false, false, "", 0, "", ""},
		{"truncated", ours[:10], false, false, "", 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := p.handle(tc.pkt, time.Unix(1, 0), tc.csumOK)
			if v.match != tc.match || v.outcome != tc.outcome || v.errno != tc.errno || v.event.Why != tc.why || v.reason != tc.reasonWant {
				t.Errorf("got match=%v outcome=%q errno=%v why=%q reason=%q, want %v %q %v %q %q",
					v.match, v.outcome, v.errno, v.event.Why, v.reason, tc.match, tc.outcome, tc.errno, tc.why, tc.reasonWant)
			}
			if v.decided != (tc.outcome != "") {
				t.Errorf("decided %v", v.decided)
			}
		})
	}
}

// FuzzACKProbeHandle feeds arbitrary packets to the ACK probe's
// classifier: it must never panic, and only an RST whose SEQ is our ACK
// number or a matching ICMP error may decide.
func FuzzACKProbeHandle(f *testing.F) {
	p := ackProbe{src: ackSrc, dst: ackDst, seq: 1000, ack: 7777}
	f.Add(segment(f, ackDst, ackSrc, 7777, 0, wire.RST), false)
	f.Add(icmpError(segment(f, ackSrc, ackDst, 1000, 7777, wire.ACK), 3), false)
	f.Add([]byte{0x45}, true)
	f.Fuzz(func(t *testing.T, pkt []byte, csumOK bool) {
		v := p.handle(pkt, time.Unix(1, 0), csumOK)
		if v.decided && v.outcome == probe.Unfiltered && v.event.Seq != p.ack {
			t.Errorf("decided unfiltered on an RST with SEQ %d", v.event.Seq)
		}
	})
}
