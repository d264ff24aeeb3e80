package lifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

// conv builds a conversation: c(...) is a segment we sent, s(...) one from
// the server, 1 ms apart. ISS 1000, IRS 5000.
type conv struct {
	segs []probe.Segment
	t    time.Time
}

func (v *conv) add(dir probe.Direction, f wire.Flags, seq, ack uint32, n int) *conv {
	v.t = v.t.Add(time.Millisecond)
	v.segs = append(v.segs, probe.Segment{Time: v.t, Dir: dir, Flags: f, Seq: seq, Ack: ack, Len: n})
	return v
}
func (v *conv) c(f wire.Flags, seq, ack uint32, n int) *conv {
	return v.add(probe.Sent, f, seq, ack, n)
}
func (v *conv) s(f wire.Flags, seq, ack uint32, n int) *conv {
	return v.add(probe.Received, f, seq, ack, n)
}

const (
	syn = wire.SYN
	sa  = wire.SYN | wire.ACK
	ack = wire.ACK
	fa  = wire.FIN | wire.ACK
	pa  = wire.PSH | wire.ACK
	rst = wire.RST
	ra  = wire.RST | wire.ACK
)

// open is the three-way handshake.
func open() *conv {
	v := &conv{t: time.Unix(1000, 0)}
	return v.c(syn, 1000, 0, 0).s(sa, 5000, 1001, 0).c(ack, 1001, 5001, 0)
}

func TestAnalyse(t *testing.T) {
	type want struct {
		firstFIN                         probe.Who
		graceful, halfClose, rstOnClose  bool
		noServerFIN, timeWaitAns, aqFull bool
		resetBy, timeWait                probe.Who
		finRetrans, synackAfter          int
		sent, recv, dataAfterFIN         int
	}
	tests := []struct {
		name  string
		segs  []probe.Segment
		close string
		want  want
	}{
		{"we close first, graceful",
			open().c(pa, 1001, 5001, 5).s(pa, 5001, 1006, 5).c(fa, 1006, 5006, 0).s(fa, 5006, 1007, 0).c(ack, 1007, 5007, 0).segs, "fin",
			want{firstFIN: probe.Client, graceful: true, timeWait: probe.Client, sent: 5, recv: 5}},
		{"server closes first",
			open().s(pa, 5001, 1001, 6).s(fa, 5007, 1001, 0).c(ack, 1001, 5008, 0).c(fa, 1001, 5008, 0).s(ack, 5008, 1002, 0).segs, "fin",
			want{firstFIN: probe.Server, graceful: true, timeWait: probe.Server, recv: 6}},
		{"server resets on close",
			open().c(pa, 1001, 5001, 5).s(ack, 5001, 1006, 0).s(ra, 5001, 1006, 0).segs, "fin",
			want{resetBy: probe.Server, rstOnClose: true, sent: 5}},
		{"server never sends its FIN",
			open().c(fa, 1001, 5001, 0).s(ack, 5001, 1002, 0).segs, "fin",
			want{firstFIN: probe.Client, noServerFIN: true}},
		{"half-close: data after our FIN",
			open().c(fa, 1001, 5001, 0).s(ack, 5001, 1002, 0).s(pa, 5001, 1002, 100).c(ack, 1002, 5101, 0).s(fa, 5101, 1002, 0).c(ack, 1002, 5102, 0).segs, "fin",
			want{firstFIN: probe.Client, graceful: true, halfClose: true, dataAfterFIN: 100, recv: 100, timeWait: probe.Client}},
		{"last ACK lost, FIN re-sent, answered from TIME_WAIT",
			open().c(fa, 1001, 5001, 0).s(fa, 5001, 1002, 0).c(ack, 1002, 5002, 0).s(fa, 5001, 1002, 0).c(ack, 1002, 5002, 0).segs, "fin",
			want{firstFIN: probe.Client, graceful: true, timeWait: probe.Client, finRetrans: 1, timeWaitAns: true}},
		{"our RST",
			open().c(ra, 1001, 5001, 0).segs, "rst",
			want{resetBy: probe.Client}},
		{"accept queue full, abort_on_overflow=0",
			open().s(sa, 5000, 1001, 0).c(ack, 1001, 5001, 0).s(sa, 5000, 1001, 0).c(ack, 1001, 5001, 0).segs, "fin",
			want{synackAfter: 2, aqFull: true}},
		{"accept queue full, abort_on_overflow=1",
			open().s(rst, 5001, 0, 0).segs, "fin",
			want{resetBy: probe.Server, aqFull: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyse(tc.segs, tc.close)
			h, c := a.Handshake, a.Close
			got := want{firstFIN: c.FirstFIN, graceful: c.Graceful, halfClose: c.HalfClose, rstOnClose: c.RSTOnClose,
				noServerFIN: c.NoServerFIN, timeWaitAns: c.AnsweredFromTimeWait, aqFull: h.AcceptQueueFull,
				resetBy: c.ResetBy, timeWait: c.TimeWait, finRetrans: c.FINRetransmits, synackAfter: h.SYNACKAfterACK,
				sent: h.BytesSent, recv: h.BytesReceived, dataAfterFIN: c.DataAfterFIN}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if !h.Established {
				t.Error("not established")
			}
			if h.ConnectTime != 2*time.Millisecond {
				t.Errorf("connect time %v, want 2ms", h.ConnectTime)
			}
		})
	}
}

func TestAnalyseNoHandshake(t *testing.T) {
	v := &conv{t: time.Unix(1, 0)}
	a := Analyse(v.c(syn, 1, 0, 0).s(ra, 0, 2, 0).segs, "fin")
	if a.Handshake.Established || a.Handshake.AcceptQueueFull {
		t.Errorf("refused connection: %+v", a.Handshake)
	}
	// A SYN-ACK with the wrong ACK is not the handshake.
	v = &conv{t: time.Unix(1, 0)}
	a = Analyse(v.c(syn, 1, 0, 0).s(sa, 9, 77, 0).c(ack, 2, 10, 0).segs, "fin")
	if a.Handshake.Established {
		t.Error("SYN-ACK with a wrong ACK counted")
	}
}

// FuzzAnalyse runs Analyse on arbitrary conversations (each 12 bytes: dir,
// flags, seq, ack, len): it must not panic, and its verdicts must hold
// together.
func FuzzAnalyse(f *testing.F) {
	enc := func(segs []probe.Segment) []byte {
		var b []byte
		for _, s := range segs {
			b = append(b, byte(s.Dir), byte(s.Flags),
				byte(s.Seq>>24), byte(s.Seq>>16), byte(s.Seq>>8), byte(s.Seq),
				byte(s.Ack>>24), byte(s.Ack>>16), byte(s.Ack>>8), byte(s.Ack),
				byte(s.Len>>8), byte(s.Len))
		}
		return b
	}
	f.Add(enc(open().c(fa, 1001, 5001, 0).s(fa, 5001, 1002, 0).c(ack, 1002, 5002, 0).segs))
	f.Add(enc(open().s(sa, 5000, 1001, 0).c(ack, 1001, 5001, 0).segs))
	f.Add(enc(open().s(pa, 5001, 1001, 6).s(ra, 5007, 1001, 0).segs))
	f.Fuzz(func(t *testing.T, b []byte) {
		var segs []probe.Segment
		at := time.Unix(1, 0)
		for ; len(b) >= 12; b = b[12:] {
			at = at.Add(time.Millisecond)
			segs = append(segs, probe.Segment{Time: at, Dir: probe.Direction(b[0] & 1), Flags: wire.Flags(b[1]),
				Seq: uint32(b[2])<<24 | uint32(b[3])<<16 | uint32(b[4])<<8 | uint32(b[5]),
				Ack: uint32(b[6])<<24 | uint32(b[7])<<16 | uint32(b[8])<<8 | uint32(b[9]),
				Len: int(b[10])<<8 | int(b[11])})
		}
		a := Analyse(segs, CloseFIN)
		c := a.Close
		if c.Graceful && (c.ResetBy != probe.Nobody || c.FirstFIN == probe.Nobody) {
			t.Errorf("graceful with an RST or without a FIN: %+v", c)
		}
		if c.AnsweredFromTimeWait && c.FINRetransmits == 0 {
			t.Errorf("answered a re-sent FIN that never came: %+v", c)
		}
		if a.Handshake.AcceptQueueFull && !a.Handshake.Established {
			t.Errorf("accept queue full without a handshake: %+v", a.Handshake)
		}
		if c.DataAfterFIN > a.Handshake.BytesReceived {
			t.Errorf("%d bytes after our FIN of %d received", c.DataAfterFIN, a.Handshake.BytesReceived)
		}
	})
}
