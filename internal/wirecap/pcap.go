package wirecap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Frame is one captured frame and tcpdump's time of it.
type Frame struct {
	Time time.Time
	Data []byte
}

// errShort is a file that ends inside a header or a record.
var errShort = errors.New("wirecap: pcap ends inside a record")

// nanoMagic is the magic number of a pcap file with nanosecond times.
const nanoMagic = 0xa1b23c4d

// ReadNano reads a nanosecond pcap file, in either byte order. A file cut
// inside a record returns the whole records before it and an error.
func ReadNano(b []byte) ([]Frame, error) {
	if len(b) < 24 {
		return nil, errShort
	}
	var bo binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(b) == nanoMagic:
		bo = binary.LittleEndian
	case binary.BigEndian.Uint32(b) == nanoMagic:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("wirecap: magic %x is not a nanosecond pcap", b[:4])
	}
	var out []Frame
	for p := b[24:]; len(p) > 0; {
		if len(p) < 16 {
			return out, errShort
		}
		sec, nsec, n := bo.Uint32(p), bo.Uint32(p[4:]), int(bo.Uint32(p[8:]))
		if len(p) < 16+n {
			return out, errShort
		}
		out = append(out, Frame{time.Unix(int64(sec), int64(nsec)), p[16 : 16+n]})
		p = p[16+n:]
	}
	return out, nil
}

// Segment is the part of a TCP header the clock tests match frames by.
type Segment struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
}

// TCP returns the TCP header of an Ethernet frame carrying IPv4 or IPv6
// (without extension headers), if it carries one.
func TCP(frame []byte) (Segment, bool) {
	if len(frame) < 14 {
		return Segment{}, false
	}
	ip := frame[14:]
	switch binary.BigEndian.Uint16(frame[12:]) {
	case 0x0800:
		if len(ip) < 20 || ip[9] != 6 || len(ip) < int(ip[0]&0xf)*4 {
			return Segment{}, false
		}
		ip = ip[int(ip[0]&0xf)*4:]
	case 0x86dd:
		if len(ip) < 40 || ip[6] != 6 {
			return Segment{}, false
		}
		ip = ip[40:]
	default:
		return Segment{}, false
	}
	if len(ip) < 20 {
		return Segment{}, false
	}
	return Segment{
		SrcPort: binary.BigEndian.Uint16(ip),
		DstPort: binary.BigEndian.Uint16(ip[2:]),
		Seq:     binary.BigEndian.Uint32(ip[4:]),
		Ack:     binary.BigEndian.Uint32(ip[8:]),
		Flags:   ip[13],
	}, true
}
