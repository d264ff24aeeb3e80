package wire

import "encoding/binary"

// TCP is a view over a TCP header (RFC 9293 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|       |       |R|E|G|K|H|T|N|N|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           [Options]                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The getters do not check the length: use them on at least TCPMinLen
// bytes (Options on DataOffset bytes), as ParseTCP has validated.
type TCP []byte

// Offsets and sizes of the TCP header fields.
const (
	TCPSrcPortOffset    = 0
	TCPDstPortOffset    = 2
	TCPSeqOffset        = 4
	TCPAckOffset        = 8
	TCPDataOffsetOffset = 12 // data offset in the high nibble
	TCPFlagsOffset      = 13
	TCPWindowOffset     = 14
	TCPChecksumOffset   = 16
	TCPUrgentOffset     = 18
	TCPMinLen           = 20 // header without options
	TCPMaxLen           = 60 // data offset 15
)

// SrcPort returns the source port.
func (h TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(h[TCPSrcPortOffset:]) }

// DstPort returns the destination port.
func (h TCP) DstPort() uint16 { return binary.BigEndian.Uint16(h[TCPDstPortOffset:]) }

// Seq returns the sequence number.
func (h TCP) Seq() uint32 { return binary.BigEndian.Uint32(h[TCPSeqOffset:]) }

// Ack returns the acknowledgment number.
func (h TCP) Ack() uint32 { return binary.BigEndian.Uint32(h[TCPAckOffset:]) }

// DataOffset returns the header length in bytes (data offset × 4).
func (h TCP) DataOffset() int { return int(h[TCPDataOffsetOffset]>>4) * 4 }

// Flags returns the control bits.
func (h TCP) Flags() Flags { return Flags(h[TCPFlagsOffset]) }

// Window returns the (unscaled) window.
func (h TCP) Window() uint16 { return binary.BigEndian.Uint16(h[TCPWindowOffset:]) }

// Checksum returns the checksum field.
func (h TCP) Checksum() uint16 { return binary.BigEndian.Uint16(h[TCPChecksumOffset:]) }

// Urgent returns the urgent pointer.
func (h TCP) Urgent() uint16 { return binary.BigEndian.Uint16(h[TCPUrgentOffset:]) }

// Options returns the option area, between the fixed header and DataOffset.
func (h TCP) Options() []byte { return h[TCPMinLen:h.DataOffset()] }

// Flags are the TCP control bits.
type Flags uint8

// The TCP control bits, in their on-wire positions.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

var flagNames = [8]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}

// String returns the set bits joined by "|", lowest first ("SYN|ACK"), or
// "none".
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	var buf [8 * 4]byte
	b := buf[:0]
	for i, name := range flagNames {
		if f&(1<<i) == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, '|')
		}
		b = append(b, name...)
	}
	return string(b)
}
