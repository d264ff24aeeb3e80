package rx

import (
	"fmt"
	"time"
)

// A receive loop owns one Pipeline and hands it every frame of a batch;
// what comes out goes to the demultiplexer by Tuple, and a drop that names
// a Tuple goes to that probe's result.
func ExamplePipeline() {
	p := NewPipeline(DefaultConfig()) // on Linux: cfg, err := ReadSysctls(ifname) in the probe's namespace
	frags := frag4(bigSynack4(), 24)
	batch := [][]byte{
		synack4(),          // a SYN-ACK
		opts4(7, 0, 4, 0),  // one with a malformed IPv4 option
		frags[1], frags[0], // one in two fragments, last first
		unreach4(quoteSYN4(iss)), // an ICMP error quoting the probe
		edit(synack6(), func(b []byte) { // a v6 SYN-ACK with a bad checksum
			b[40+16]++
		}),
	}
	var pkt Packet
	for _, frame := range batch {
		d, ok := p.Input(frame, FrameInfo{PktType: PacketHost}, time.Unix(0, 0), &pkt)
		switch {
		case ok:
			fmt.Printf("deliver %s for port %d (reassembled %v)\n", pkt.Kind, pkt.Tuple.LocalPort, pkt.Reassembled)
		case d == DropFragQueued:
			fmt.Println("held for reassembly")
		case pkt.HasTuple:
			fmt.Printf("drop %s (%s), list it in the probe on port %d\n", d, d.Kernel(), pkt.Tuple.LocalPort)
		default:
			fmt.Printf("drop %s, count it\n", d)
		}
	}
	// Output:
	// deliver tcp for port 40000 (reassembled false)
	// drop ip-options (ip_options_compile), list it in the probe on port 40000
	// held for reassembly
	// deliver tcp for port 40000 (reassembled true)
	// deliver icmp for port 40000 (reassembled false)
	// drop tcp-checksum (tcp_checksum_complete), list it in the probe on port 40000
}
