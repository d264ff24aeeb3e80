package wire

import (
	"bytes"
	"net/netip"
	"testing"
)

// Golden packets, written out field by field. The checksums were computed
// independently of this package (a few lines of Python over the same bytes)
// and are re-verified by gopacket in gopacket_test.go.

var (
	goldenSrc4 = netip.MustParseAddr("198.18.1.1")
	goldenDst4 = netip.MustParseAddr("198.18.2.2")
	goldenSrc6 = netip.MustParseAddr("fd00:1::1")
	goldenDst6 = netip.MustParseAddr("fd00:2::2")
)

// linuxSYNOptions are the options of a Linux SYN: MSS, SACK-permitted,
// timestamps and window scale.
func linuxSYNOptions(mss uint16) Options {
	return Options{
		MSS: mss, HasMSS: true,
		SACKPermitted: true,
		HasTimestamps: true, TSVal: 0x00c0ffee, TSEcr: 0,
		WScale: 7, HasWScale: true,
	}
}

type golden struct {
	name   string
	spec   SegmentSpec
	packet []byte
}

func goldens() []golden {
	return []golden{
		{
			name: "IPv4 SYN, Linux options",
			spec: SegmentSpec{
				Src: goldenSrc4, Dst: goldenDst4, ID: 0x1c46,
				SrcPort: 54321, DstPort: 80, Seq: 0x11223344, Flags: SYN, Window: 64240,
				Options: linuxSYNOptions(1460),
			},
			packet: []byte{
				// IPv4
				0x45,       // version 4, IHL 5
				0x00,       // TOS
				0x00, 0x3c, // total length 60
				0x1c, 0x46, // ID
				0x40, 0x00, // flags DF, fragment offset 0
				0x40,       // TTL 64
				0x06,       // protocol TCP
				0x8f, 0x4e, // header checksum
				198, 18, 1, 1, // source
				198, 18, 2, 2, // destination
				// TCP
				0xd4, 0x31, // source port 54321
				0x00, 0x50, // destination port 80
				0x11, 0x22, 0x33, 0x44, // sequence number
				0x00, 0x00, 0x00, 0x00, // acknowledgment number
				0xa0,       // data offset 10 (40 bytes)
				0x02,       // flags SYN
				0xfa, 0xf0, // window 64240
				0xa4, 0x50, // checksum
				0x00, 0x00, // urgent pointer
				0x02, 0x04, 0x05, 0xb4, // MSS 1460
				0x04, 0x02, // SACK permitted
				0x08, 0x0a, // timestamps, length 10
				0x00, 0xc0, 0xff, 0xee, // TSval
				0x00, 0x00, 0x00, 0x00, // TSecr
				0x01,             // NOP
				0x03, 0x03, 0x07, // window scale 7
			},
		},
		{
			name: "IPv4 SYN, no options",
			spec: SegmentSpec{
				Src: goldenSrc4, Dst: goldenDst4, ID: 0x1c47,
				SrcPort: 54321, DstPort: 80, Seq: 0x11223344, Flags: SYN, Window: 64240,
			},
			packet: []byte{
				// IPv4
				0x45,       // version 4, IHL 5
				0x00,       // TOS
				0x00, 0x28, // total length 40
				0x1c, 0x47, // ID
				0x40, 0x00, // flags DF, fragment offset 0
				0x40,       // TTL 64
				0x06,       // protocol TCP
				0x8f, 0x61, // header checksum
				198, 18, 1, 1, // source
				198, 18, 2, 2, // destination
				// TCP
				0xd4, 0x31, // source port 54321
				0x00, 0x50, // destination port 80
				0x11, 0x22, 0x33, 0x44, // sequence number
				0x00, 0x00, 0x00, 0x00, // acknowledgment number
				0x50,       // data offset 5 (20 bytes)
				0x02,       // flags SYN
				0xfa, 0xf0, // window 64240
				0x0c, 0xe2, // checksum
				0x00, 0x00, // urgent pointer
			},
		},
		{
			name: "IPv4 RST teardown <SEQ=ISS+1><RST>",
			spec: SegmentSpec{
				Src: goldenSrc4, Dst: goldenDst4,
				SrcPort: 54321, DstPort: 80, Seq: 0x11223345, Flags: RST, Window: 0,
			},
			packet: []byte{
				// IPv4
				0x45,       // version 4, IHL 5
				0x00,       // TOS
				0x00, 0x28, // total length 40
				0x00, 0x00, // ID
				0x40, 0x00, // flags DF, fragment offset 0
				0x40,       // TTL 64
				0x06,       // protocol TCP
				0xab, 0xa8, // header checksum
				198, 18, 1, 1, // source
				198, 18, 2, 2, // destination
				// TCP
				0xd4, 0x31, // source port 54321
				0x00, 0x50, // destination port 80
				0x11, 0x22, 0x33, 0x45, // sequence number ISS+1
				0x00, 0x00, 0x00, 0x00, // acknowledgment number (no ACK flag)
				0x50,       // data offset 5 (20 bytes)
				0x04,       // flags RST
				0x00, 0x00, // window 0
				0x07, 0xd0, // checksum
				0x00, 0x00, // urgent pointer
			},
		},
		{
			name: "IPv6 SYN, Linux options",
			spec: SegmentSpec{
				Src: goldenSrc6, Dst: goldenDst6,
				SrcPort: 54321, DstPort: 443, Seq: 0xa1b2c3d4, Flags: SYN, Window: 64800,
				Options: linuxSYNOptions(1440),
			},
			packet: []byte{
				// IPv6
				0x60, 0x00, 0x00, 0x00, // version 6, traffic class 0, flow label 0
				0x00, 0x28, // payload length 40
				0x06,                                                          // next header TCP
				0x40,                                                          // hop limit 64
				0xfd, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // source fd00:1::1
				0xfd, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // destination fd00:2::2
				// TCP
				0xd4, 0x31, // source port 54321
				0x01, 0xbb, // destination port 443
				0xa1, 0xb2, 0xc3, 0xd4, // sequence number
				0x00, 0x00, 0x00, 0x00, // acknowledgment number
				0xa0,       // data offset 10 (40 bytes)
				0x02,       // flags SYN
				0xfd, 0x20, // window 64800
				0x14, 0xc9, // checksum
				0x00, 0x00, // urgent pointer
				0x02, 0x04, 0x05, 0xa0, // MSS 1440
				0x04, 0x02, // SACK permitted
				0x08, 0x0a, // timestamps, length 10
				0x00, 0xc0, 0xff, 0xee, // TSval
				0x00, 0x00, 0x00, 0x00, // TSecr
				0x01,             // NOP
				0x03, 0x03, 0x07, // window scale 7
			},
		},
		{
			name: "IPv6 SYN, no options",
			spec: SegmentSpec{
				Src: goldenSrc6, Dst: goldenDst6, FlowLabel: 0x12345,
				SrcPort: 54321, DstPort: 443, Seq: 0xa1b2c3d4, Flags: SYN, Window: 64800,
			},
			packet: []byte{
				// IPv6
				0x60, 0x01, 0x23, 0x45, // version 6, traffic class 0, flow label 0x12345
				0x00, 0x14, // payload length 20
				0x06,                                                          // next header TCP
				0x40,                                                          // hop limit 64
				0xfd, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // source fd00:1::1
				0xfd, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // destination fd00:2::2
				// TCP
				0xd4, 0x31, // source port 54321
				0x01, 0xbb, // destination port 443
				0xa1, 0xb2, 0xc3, 0xd4, // sequence number
				0x00, 0x00, 0x00, 0x00, // acknowledgment number
				0x50,       // data offset 5 (20 bytes)
				0x02,       // flags SYN
				0xfd, 0x20, // window 64800
				0x7d, 0x46, // checksum
				0x00, 0x00, // urgent pointer
			},
		},
	}
}

func TestEncodeSegmentGolden(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			var buf [MaxSegmentLen]byte
			n, err := EncodeSegment(buf[:], &g.spec)
			if err != nil {
				t.Fatalf("EncodeSegment: %v", err)
			}
			if got := buf[:n]; !bytes.Equal(got, g.packet) {
				t.Errorf("EncodeSegment wrote\n% x\nwant\n% x", got, g.packet)
			}
		})
	}
}
