package wirecap

import (
	"encoding/binary"
	"testing"
	"time"
)

// pcapOf builds a nanosecond pcap file of frames in byte order bo.
func pcapOf(bo binary.ByteOrder, frames ...Frame) []byte {
	b := make([]byte, 24)
	bo.PutUint32(b, nanoMagic)
	for _, f := range frames {
		var h [16]byte
		bo.PutUint32(h[:], uint32(f.Time.Unix()))
		bo.PutUint32(h[4:], uint32(f.Time.Nanosecond()))
		bo.PutUint32(h[8:], uint32(len(f.Data)))
		bo.PutUint32(h[12:], uint32(len(f.Data)))
		b = append(append(b, h[:]...), f.Data...)
	}
	return b
}

// synFrame is an Ethernet frame with an IPv4 or IPv6 TCP SYN-ACK from
// port 80 to 40000, sequence 7, acknowledging 9.
func synFrame(v6 bool) []byte {
	eth := make([]byte, 14)
	var ip []byte
	if v6 {
		binary.BigEndian.PutUint16(eth[12:], 0x86dd)
		ip = make([]byte, 40)
		ip[0], ip[6] = 0x60, 6
	} else {
		binary.BigEndian.PutUint16(eth[12:], 0x0800)
		ip = make([]byte, 20)
		ip[0], ip[9] = 0x45, 6
	}
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp, 80)
	binary.BigEndian.PutUint16(tcp[2:], 40000)
	binary.BigEndian.PutUint32(tcp[4:], 7)
	binary.BigEndian.PutUint32(tcp[8:], 9)
	tcp[12], tcp[13] = 5<<4, 0x12
	return append(append(eth, ip...), tcp...)
}

func TestReadNanoAndTCP(t *testing.T) {
	at := time.Unix(1796136580, 152160047)
	want := Segment{SrcPort: 80, DstPort: 40000, Seq: 7, Ack: 9, Flags: 0x12}
	for _, tc := range []struct {
		name   string
		file   []byte
		frames int
		err    bool
		tcp    bool
	}{
		{"little endian, IPv4", pcapOf(binary.LittleEndian, Frame{at, synFrame(false)}), 1, false, true},
		{"big endian, IPv6", pcapOf(binary.BigEndian, Frame{at, synFrame(true)}), 1, false, true},
		{"cut inside a record", pcapOf(binary.LittleEndian, Frame{at, synFrame(false)}, Frame{at, synFrame(false)})[:24+16+54+20], 1, true, true},
		{"an ARP frame", pcapOf(binary.LittleEndian, Frame{at, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 6, 0}}), 1, false, false},
		{"microsecond pcap", append([]byte{0xd4, 0xc3, 0xb2, 0xa1}, make([]byte, 20)...), 0, true, false},
		{"short header", []byte{0x4d, 0x3c}, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := ReadNano(tc.file)
			if (err != nil) != tc.err || len(fs) != tc.frames {
				t.Fatalf("ReadNano: %d frames, error %v; want %d frames, error %v", len(fs), err, tc.frames, tc.err)
			}
			if len(fs) == 0 {
				return
			}
			if !fs[0].Time.Equal(at) {
				t.Errorf("time %v, want %v", fs[0].Time, at)
			}
			s, ok := TCP(fs[0].Data)
			if ok != tc.tcp || (ok && s != want) {
				t.Errorf("TCP = %+v, %v; want %+v, %v", s, ok, want, tc.tcp)
			}
		})
	}
}

// FuzzReadNano: no file makes the reader or TCP panic, and every frame
// read lies inside the file.
func FuzzReadNano(f *testing.F) {
	f.Add(pcapOf(binary.LittleEndian, Frame{time.Unix(1, 2), synFrame(false)}))
	f.Add(pcapOf(binary.BigEndian, Frame{time.Unix(1, 2), synFrame(true)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, _ := ReadNano(b)
		n := 0
		for _, fr := range fs {
			n += 16 + len(fr.Data)
			TCP(fr.Data)
		}
		if n > len(b) {
			t.Fatalf("frames of %d bytes from a file of %d", n, len(b))
		}
	})
}
