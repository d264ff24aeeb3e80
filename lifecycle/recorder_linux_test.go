package lifecycle

import (
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

func TestRecorder(t *testing.T) {
	r := &recorder{local: ackSrc}
	info := rawsock.RecvInfo{Time: time.Unix(5, 0)}
	r.add(segment(t, ackSrc, ackDst, 1, 0, wire.SYN), info, true)
	r.add(segment(t, ackDst, ackSrc, 9, 2, wire.SYN|wire.ACK), info, false)
	bad := segment(t, ackDst, ackSrc, 9, 2, wire.ACK)
	bad[len(bad)-1] ^= 1
	r.add(bad, info, false) // a bad checksum is not recorded
	r.add([]byte{0x45, 0}, info, false)
	segs, ignored := r.snapshot()
	if len(segs) != 2 || ignored != 2 {
		t.Fatalf("recorded %d, ignored %d; want 2 and 2", len(segs), ignored)
	}
	if segs[0].Dir != probe.Sent || segs[1].Dir != probe.Received || segs[1].Flags != wire.SYN|wire.ACK {
		t.Errorf("segments %+v", segs)
	}
}

// FuzzRecorder feeds arbitrary bytes to the tap's recorder: it must never
// panic and records only what parses as TCP.
func FuzzRecorder(f *testing.F) {
	f.Add(segment(f, ackSrc, ackDst, 1, 0, wire.SYN), true)
	f.Add(segment(f, ackDst, ackSrc, 9, 2, wire.SYN|wire.ACK), false)
	f.Fuzz(func(t *testing.T, pkt []byte, ok bool) {
		r := &recorder{local: ackSrc}
		r.add(pkt, rawsock.RecvInfo{ChecksumNotReady: ok}, false)
		segs, ignored := r.snapshot()
		if len(segs)+ignored != 1 {
			t.Errorf("recorded %d and ignored %d of one packet", len(segs), ignored)
		}
	})
}
