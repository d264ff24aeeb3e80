package rx

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

var updateSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/Fuzz*/seed-* from the golden packets")

// frameInfo decodes FrameInfo from two fuzzed bytes.
func frameInfo(pkttype, flags uint8) FrameInfo {
	return FrameInfo{
		PktType:          pkttype % 8,
		VLANTagged:       flags&1 != 0,
		VLANID:           uint16(flags>>1&3) * 5,
		LinkVLAN:         uint16(flags>>3&1) * 5,
		Loopback:         flags&0x10 != 0,
		ChecksumNotReady: flags&0x20 != 0,
		EtherType:        [4]uint16{0, EtherTypeIPv4, EtherTypeIPv6, 0}[flags>>6],
	}
}

// pipelineSeeds are golden frames of every kind.
func pipelineSeeds() map[string][]byte {
	s := map[string][]byte{
		"synack4":       synack4(),
		"synack6":       synack6(),
		"unreach4":      unreach4(quoteSYN4(iss)),
		"unreach6":      unreach6(quoteSYN6(iss)),
		"rr-options":    opts4(7, 7, 4, 0, 0, 0, 0, 1),
		"lsrr":          opts4(131, 7, 8, 1, 2, 3, 4, 1),
		"timestamp":     opts4(68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0),
		"dest-opts":     ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0x1e, 2, 0, 0)),
		"hop-by-hop-ra": ext6(wire.IPv6HopByHop, optsHdr(wire.ProtocolTCP, tlvRouterAlert, 2, 0, 0)),
		"routing-0":     ext6(wire.IPv6Routing, rtHdr(wire.ProtocolTCP, rtType0, 0)),
		"atomic-frag":   ext6(wire.IPv6Fragment, fragHdr(wire.ProtocolTCP, 0, false, 7)),
		"first-frag4":   frag4(bigSynack4(), 24)[0],
		"first-frag6":   frag6(bigSynack6(), 9, 24)[0],
		"md5":           tcpOpts4(append([]byte{wire.OptMD5, wire.OptMD5Len}, make([]byte, 16)...)...),
	}
	return s
}

// reassemblySeed packs frames into one fuzz input: for each, its length
// (2 bytes), the seconds since the previous one (1 byte), then the frame.
func reassemblySeed(frames ...[]byte) []byte {
	var b []byte
	for _, f := range frames {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, 1)
		b = append(b, f...)
	}
	return b
}

func reassemblySeeds() map[string][]byte {
	f4 := frag4(bigSynack4(), 24, 64)
	f6 := frag6(bigSynack6(), 0x77, 24)
	return map[string][]byte{
		"v4-three":   reassemblySeed(f4[0], f4[1], f4[2]),
		"v4-reverse": reassemblySeed(f4[2], f4[1], f4[0]),
		"v4-overlap": reassemblySeed(f4[0], frag4(bigSynack4(), 16, 32)[1], f4[1]),
		"v6-two":     reassemblySeed(f6[1], f6[0]),
		"v6-icmp":    reassemblySeed(frag6(unreach6(quoteSYN6(iss)), 0x88, 48)...),
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	write := func(target, name, body string) {
		dir := filepath.Join("testdata", "fuzz", target)
		path := filepath.Join(dir, "seed-"+name)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("seed corpus file missing (run go test -run TestWriteFuzzSeeds -update-fuzz-seeds ./rx): %v", err)
		}
		if string(got) != body {
			t.Errorf("%s is stale: run go test -run TestWriteFuzzSeeds -update-fuzz-seeds ./rx", path)
		}
	}
	for name, b := range pipelineSeeds() {
		write("FuzzPipeline", name, fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbyte(%q)\nbyte(%q)\n", b, byte(PacketHost), byte(0)))
	}
	for name, b := range reassemblySeeds() {
		write("FuzzReassembly", name, fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b))
	}
}

// FuzzPipeline: no frame panics the pipeline, and what it delivers is
// whole: a kind, a tuple, a verified checksum.
func FuzzPipeline(f *testing.F) {
	for _, b := range pipelineSeeds() {
		f.Add(b, uint8(PacketHost), uint8(0))
	}
	p := NewPipeline(DefaultConfig())
	f.Fuzz(func(t *testing.T, frame []byte, pkttype, flags uint8) {
		var out Packet
		d, ok := p.Input(frame, frameInfo(pkttype, flags), t0, &out)
		if ok != (d == DropNone) {
			t.Fatalf("Input = %v, %v", d, ok)
		}
		if ok && (out.Kind == KindNone || !out.HasTuple || !out.ChecksumOK) {
			t.Fatalf("delivered %+v without kind, tuple or checksum", out)
		}
	})
}

// FuzzReassembly feeds sequences of frames, fragments or not, a second or
// more apart: nothing panics, memory stays under the threshold, and every
// queue expires.
func FuzzReassembly(f *testing.F) {
	for _, b := range reassemblySeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := DefaultConfig()
		cfg.IPFragHighThresh, cfg.IP6FragHighThresh = 32<<10, 32<<10
		p := NewPipeline(cfg)
		now := t0
		var out Packet
		for len(in) >= 3 {
			n := int(binary.BigEndian.Uint16(in))
			now = now.Add(time.Duration(in[2]) * time.Second)
			in = in[3:]
			n = min(n, len(in))
			d, ok := p.Input(in[:n], FrameInfo{}, now, &out)
			if ok != (d == DropNone) {
				t.Fatalf("Input = %v, %v", d, ok)
			}
			in = in[n:]
			if _, b := p.FragStats(); b > 2*cfg.IPFragHighThresh+2*(0xffff+fragOverhead) {
				t.Fatalf("%d bytes held", b)
			}
		}
		p.Expire(now.Add(cfg.IP6FragTime))
		if q, b := p.FragStats(); q != 0 || b != 0 {
			t.Fatalf("after expiry %d queues, %d bytes", q, b)
		}
	})
}
