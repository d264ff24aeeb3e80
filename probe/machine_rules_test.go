package probe

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcpprobe/tcpprobe/wire"
)

// tsOpts are options carrying timestamps with TSecr ecr.
func tsOpts(ecr uint32) wire.Options {
	return wire.Options{HasTimestamps: true, TSVal: 777, TSEcr: ecr, HasMSS: true, MSS: 1460}
}

func segTS(flags wire.Flags, seq, ack, ecr uint32) *wire.Segment {
	s := seg(flags, seq, ack)
	s.Options = tsOpts(ecr)
	return s
}

// tsMachine is a started Machine whose SYNs carry timestamps.
func tsMachine(p Profile) (*Machine, Output) {
	m := NewMachine(p, local4, remote4, testISS)
	m.SetOptions(MachineOptions{Timestamps: true, TSOffset: 1000})
	return m, m.Start(t0)
}

func TestPAWS(t *testing.T) {
	ms := time.Millisecond
	first := uint32(t0.UnixMilli()) + 1000 // TSval of the first SYN
	tests := []struct {
		name    string
		p       Profile
		ecr     uint32
		outcome Outcome // after the SYN-ACK at 5 ms (decided or not)
		rst     bool    // an RST answers it
		why     string
	}{
		{"linux: TSecr echoes our TSval", linuxDef, first, Open, true, ""},
		{"linux: TSecr 0 is not checked", linuxDef, 0, Open, true, ""},
		{"linux: TSecr before our first SYN", linuxDef, first - 1, "", true, IgnoredPAWS},
		{"linux: TSecr in the future", linuxDef, first + 10, "", true, IgnoredPAWS},
		{"linux: TSecr within [first SYN, now]", linuxDef, first + 5, Open, true, ""},
		{"classic: no PAWS in SYN_SENT (4.4BSD)", Classic(), first - 1, Open, true, ""},
		{"bsd: no PAWS in SYN_SENT", BSD(), first + 10, Open, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, start := tsMachine(tt.p)
			if !start.SendSYN || start.TSVal != first {
				t.Fatalf("Start = %+v, want a SYN with TSval %d", start, first)
			}
			out := m.HandleTCP(TCPInfo{Seg: segTS(wire.SYN|wire.ACK, 9, testISS+1, tt.ecr), From: remote4.Addr(), ChecksumOK: true}, t0.Add(5*ms))
			if out.SendRST != tt.rst {
				t.Errorf("SendRST = %v, want %v", out.SendRST, tt.rst)
			}
			if m.Result().Outcome != tt.outcome {
				t.Errorf("outcome %q, want %q", m.Result().Outcome, tt.outcome)
			}
			if tt.why != "" {
				if out.RSTSeq != testISS+1 || out.Done || out.SendSYN {
					t.Errorf("PAWS reject: %+v, want <SEQ=SEG.ACK><RST>, no SYN, not done", out)
				}
				if ev := m.Result().Events[1]; ev.Why != tt.why {
					t.Errorf("event why %q, want %q", ev.Why, tt.why)
				}
			}
		})
	}
	// An RST+ACK with a bad TSecr is ignored, never answered.
	m, _ := tsMachine(linuxDef)
	if out := m.HandleTCP(TCPInfo{Seg: segTS(wire.RST|wire.ACK, 0, testISS+1, first-5), ChecksumOK: true}, t0.Add(ms)); out.SendRST || m.Done() {
		t.Errorf("RST+ACK with a bad TSecr: %+v, done %v; want ignored", out, m.Done())
	}
}

func TestImmediateResend(t *testing.T) {
	ms := time.Millisecond
	for _, p := range []Profile{linuxDef, Classic(), BSD()} {
		t.Run(p.Name, func(t *testing.T) {
			res, syns, rsts := run(t, p, local4, remote4, testISS, []stimulus{
				{at: 3 * ms, seg: seg(wire.SYN|wire.ACK, 9, 0xdead)},
				{at: 13 * ms, seg: seg(wire.SYN|wire.ACK, 9, testISS+1)},
			})
			wantSYNs := []time.Duration{0}
			wantAttempt := 1
			if p.Name == ProfileLinux {
				wantSYNs = append(wantSYNs, 3*ms) // re-sent with the RST
				wantAttempt = 2
			}
			if diff := cmp.Diff(wantSYNs, syns); diff != "" {
				t.Errorf("SYN times (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]uint32{0xdead, testISS + 1}, rsts); diff != "" {
				t.Errorf("RSTs (-want +got):\n%s", diff)
			}
			if res.Outcome != Open || res.AnsweredAttempt != wantAttempt || res.AnsweredBy != AnsweredByLastSYN {
				t.Errorf("%s, answered %d by %s; want open, %d by last-syn", res.Outcome, res.AnsweredAttempt, res.AnsweredBy, wantAttempt)
			}
			if res.Connect != 13*ms {
				t.Errorf("Connect = %v, want 13ms", res.Connect)
			}
		})
	}
	// Only before the first retransmission.
	_, syns, _ := run(t, linuxDef, local4, remote4, testISS, []stimulus{
		{at: time.Second + 3*ms, seg: seg(wire.SYN|wire.ACK, 9, 0xdead)},
		{at: time.Second + 13*ms, seg: seg(wire.SYN|wire.ACK, 9, testISS+1)},
	})
	if diff := cmp.Diff(secs(0, 1), syns); diff != "" {
		t.Errorf("after a retransmission (-want +got):\n%s", diff)
	}
}

func TestSimultaneousOpen(t *testing.T) {
	ms := time.Millisecond
	const irs = 5000
	type sent struct {
		flags wire.Flags
		seq   uint32
	}
	tests := []struct {
		name    string
		p       Profile
		stim    []stimulus
		outcome Outcome
		errno   syscall.Errno
		end     time.Duration // -1: give-up
		sent    []sent        // what the machine asked to send after the first SYN
	}{
		{"linux: SYN then ACK of our SYN is open", linuxDef, []stimulus{
			{at: ms, seg: seg(wire.SYN, irs, 0)},
			{at: 200 * ms, seg: seg(wire.ACK, irs+1, testISS+1)},
		}, Open, 0, 200 * ms, []sent{{wire.SYN | wire.ACK, testISS}, {wire.RST, testISS + 1}}},
		{"linux: SYN then RST is ECONNRESET", linuxDef, []stimulus{
			{at: ms, seg: seg(wire.SYN, irs, 0)},
			{at: 200 * ms, seg: seg(wire.RST, irs+1, 0)},
		}, Refused, syscall.ECONNRESET, 200 * ms, []sent{{wire.SYN | wire.ACK, testISS}}},
		{"linux: SYN then RST+ACK is ECONNRESET", linuxDef, []stimulus{
			{at: ms, seg: seg(wire.SYN, irs, 0)},
			{at: 200 * ms, seg: seg(wire.RST|wire.ACK, irs+1, testISS+1)},
		}, Refused, syscall.ECONNRESET, 200 * ms, []sent{{wire.SYN | wire.ACK, testISS}}},
		{"linux: RST with another SEQ in the window is ignored (challenge ACK)", linuxDef, []stimulus{
			{at: ms, seg: seg(wire.SYN, irs, 0)},
			{at: 200 * ms, seg: seg(wire.RST, irs+100, 0)},
		}, Timeout, syscall.ETIMEDOUT, -1, []sent{{wire.SYN | wire.ACK, testISS}}},
		{"linux: ACK out of the window is ignored", linuxDef, []stimulus{
			{at: ms, seg: seg(wire.SYN, irs, 0)},
			{at: 200 * ms, seg: seg(wire.ACK, irs+200000, testISS+1)},
		}, Timeout, syscall.ETIMEDOUT, -1, []sent{{wire.SYN | wire.ACK, testISS}}},
		{"linux: a wrong ACK is answered with an RST", linuxDef, []stimulus{
			{at: ms, seg: seg(wire.SYN, irs, 0)},
			{at: 200 * ms, seg: seg(wire.ACK, irs+1, testISS+7)},
		}, Timeout, syscall.ETIMEDOUT, -1, []sent{{wire.SYN | wire.ACK, testISS}, {wire.RST, testISS + 7}}},
		{"linux: the peer's SYN-ACK with ACK=ISS+1 opens", linuxDef, []stimulus{
			{at: ms, seg: seg(wire.SYN, irs, 0)},
			{at: 200 * ms, seg: seg(wire.SYN|wire.ACK, irs, testISS+1)},
		}, Open, 0, 200 * ms, []sent{{wire.SYN | wire.ACK, testISS}, {wire.RST, testISS + 1}}},
		{"classic: SYN then RST is ECONNREFUSED (RFC 9293 §3.10.7.4)", Classic(), []stimulus{
			{at: ms, seg: seg(wire.SYN, irs, 0)},
			{at: 200 * ms, seg: seg(wire.RST, irs+1, 0)},
		}, Refused, syscall.ECONNREFUSED, 200 * ms, []sent{{wire.SYN | wire.ACK, testISS}}},
		{"bsd: RST anywhere in the window is ECONNREFUSED", BSD(), []stimulus{
			{at: ms, seg: seg(wire.SYN, irs, 0)},
			{at: 200 * ms, seg: seg(wire.RST, irs+100, 0)},
		}, Refused, syscall.ECONNREFUSED, 200 * ms, []sent{{wire.SYN | wire.ACK, testISS}}},
		{"classic: ACK of ISS is not enough", Classic(), []stimulus{
			{at: ms, seg: seg(wire.SYN, irs, 0)},
			{at: 200 * ms, seg: seg(wire.ACK, irs+1, testISS)},
		}, Timeout, syscall.ETIMEDOUT, -1, []sent{{wire.SYN | wire.ACK, testISS}, {wire.RST, testISS}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMachine(tt.p, local4, remote4, testISS)
			m.Start(t0)
			var got []sent
			for _, s := range tt.stim {
				out := m.HandleTCP(TCPInfo{Seg: s.seg, From: remote4.Addr(), ChecksumOK: true}, t0.Add(s.at))
				if out.SendSYN {
					f := wire.SYN
					if out.ACK {
						f |= wire.ACK
						if out.Ack != irs+1 {
							t.Errorf("SYN-ACK acks %d, want IRS+1", out.Ack)
						}
					}
					got = append(got, sent{f, testISS})
				}
				if out.SendRST {
					got = append(got, sent{wire.RST, out.RSTSeq})
				}
			}
			for i := 0; !m.Done() && i < 100; i++ {
				out := m.Tick(m.Deadline())
				if out.SendSYN && !out.ACK {
					t.Fatalf("a plain SYN was retransmitted in SYN_RECV")
				}
			}
			res := m.Result()
			end := tt.end
			if end < 0 {
				end = tt.p.Schedule.GiveUp
			}
			if res.Outcome != tt.outcome || res.Errno != tt.errno || res.Finished.Sub(t0) != end {
				t.Errorf("%s %v at %v, want %s %v at %v", res.Outcome, res.Errno, res.Finished.Sub(t0), tt.outcome, tt.errno, end)
			}
			if diff := cmp.Diff(tt.sent, got, cmp.AllowUnexported(sent{})); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnsweredAttempt(t *testing.T) {
	ms := time.Millisecond
	ts := func(at time.Duration) uint32 { return uint32(t0.Add(at).UnixMilli()) + 1000 }
	tests := []struct {
		name    string
		syns    int           // SYNs sent (linux schedule: 0, 1 s, 2 s, ...)
		ecr     uint32        // the SYN-ACK's TSecr; 0: no timestamps option
		at      time.Duration // when it arrives
		attempt int
		by      string
		rtt     time.Duration
		connect time.Duration
	}{
		{"first SYN dropped: answered SYN 2, by TSecr", 2, ts(time.Second), time.Second + 90*time.Microsecond, 2, AnsweredByTSecr, 90 * time.Microsecond, time.Second + 90*time.Microsecond},
		{"late answer to SYN 1 after SYN 2 left", 2, ts(0), time.Second + ms, 1, AnsweredByTSecr, time.Second + ms, time.Second + ms},
		{"no timestamps: the last SYN", 3, 0, 2*time.Second + 5*ms, 3, AnsweredByLastSYN, 5 * ms, 2*time.Second + 5*ms},
		{"a TSecr that matches no SYN: the last SYN", 2, ts(500 * ms), time.Second + 5*ms, 2, AnsweredByLastSYN, 5 * ms, time.Second + 5*ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := tsMachine(linuxDef)
			for i := 1; i < tt.syns; i++ {
				m.Tick(m.Deadline())
			}
			s := seg(wire.SYN|wire.ACK, 9, testISS+1)
			if tt.ecr != 0 {
				s.Options = tsOpts(tt.ecr)
			}
			m.HandleTCP(TCPInfo{Seg: s, ChecksumOK: true}, t0.Add(tt.at))
			r := m.Result()
			got := fmt.Sprintf("%s attempt %d by %s rtt %v connect %v", r.Outcome, r.AnsweredAttempt, r.AnsweredBy, r.RTT, r.Connect)
			want := fmt.Sprintf("open attempt %d by %s rtt %v connect %v", tt.attempt, tt.by, tt.rtt, tt.connect)
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestSentAt(t *testing.T) {
	ms := time.Millisecond
	m, _ := tsMachine(linuxDef)
	m.Tick(m.Deadline()) // SYN 2 at 1 s
	m.HandleTCP(TCPInfo{Seg: segTS(wire.SYN|wire.ACK, 9, testISS+1, uint32(t0.Add(time.Second).UnixMilli())+1000), ChecksumOK: true}, t0.Add(time.Second+3*ms))
	r := m.Result()
	if r.RTT != 3*ms || r.Connect != time.Second+3*ms {
		t.Fatalf("before: rtt %v connect %v", r.RTT, r.Connect)
	}
	// The kernel says SYN 2 left 2 ms late, SYN 1 0.5 ms late.
	m.SentAt(2, t0.Add(time.Second+2*ms))
	m.SentAt(1, t0.Add(500*time.Microsecond))
	if r.RTT != ms || r.Connect != time.Second+2500*time.Microsecond || r.AnsweredAttempt != 2 {
		t.Errorf("after: rtt %v connect %v attempt %d; want 1ms, 1.0025s, 2", r.RTT, r.Connect, r.AnsweredAttempt)
	}
	if r.Attempts[1] != t0.Add(time.Second+2*ms) || r.Attempts[0] != t0.Add(500*time.Microsecond) {
		t.Errorf("Attempts = %v", r.Attempts)
	}
	// A send time past the answer (clocks disagree) never makes the RTT
	// negative.
	m.SentAt(2, t0.Add(time.Second+10*ms))
	if r.RTT < 0 || r.Connect < 0 {
		t.Errorf("negative: rtt %v connect %v", r.RTT, r.Connect)
	}
	checkSorted(t, r)
	m.SentAt(9, t0) // unknown: ignored
	m.SentAt(0, t0)
}

func checkSorted(t *testing.T, r *Result) {
	t.Helper()
	for i := 1; i < len(r.Events); i++ {
		if r.Events[i].Time.Before(r.Events[i-1].Time) {
			t.Fatalf("event %d at %v before event %d at %v", i, r.Events[i].Time, i-1, r.Events[i-1].Time)
		}
	}
}

// TestBoundedEvents: a flood of forged packets keeps 64 events and counts
// the rest by reason; the verdict is still right.
func TestBoundedEvents(t *testing.T) {
	m := NewMachine(linuxDef, local4, remote4, testISS)
	m.Start(t0)
	for i := range 200000 {
		at := t0.Add(time.Duration(i) * time.Microsecond)
		switch i % 3 {
		case 0:
			m.HandleICMP(ICMPInfo{Msg: icmpMsg(false, 3, 1, testISS+7), From: router4, ChecksumOK: true}, at)
		case 1:
			m.HandleTCP(TCPInfo{Seg: seg(wire.RST, 1, 0), ChecksumOK: true}, at)
		case 2:
			m.Dropped("tcp-checksum", remote4.Addr(), 63, false, at)
		}
	}
	// Out of order: a packet stamped before the others.
	m.HandleTCP(TCPInfo{Seg: seg(wire.RST|wire.ACK, 0, testISS+1), ChecksumOK: true}, t0.Add(time.Second))
	r := m.Result()
	if r.Outcome != Refused {
		t.Fatalf("outcome %s, want refused", r.Outcome)
	}
	if len(r.Events) > maxKeptEvents+2 {
		t.Errorf("%d events kept, want at most %d", len(r.Events), maxKeptEvents+2)
	}
	total := 0
	for _, c := range r.IgnoredUnlisted {
		total += c.Count
	}
	if r.Ignored != 200000 || total != 200000-maxKeptEvents || len(r.IgnoredUnlisted) != 3 {
		t.Errorf("Ignored %d, unlisted %d in %v", r.Ignored, total, r.IgnoredUnlisted)
	}
	checkSorted(t, r)
}

// TestTimelineOrder: events handed in out of time order come out sorted,
// and the RTT is never negative.
func TestTimelineOrder(t *testing.T) {
	m := NewMachine(Classic(), local4, remote4, testISS)
	m.Start(t0)
	m.HandleTCP(TCPInfo{Seg: seg(wire.RST, 1, 0), ChecksumOK: true}, t0.Add(5*time.Millisecond))
	m.HandleTCP(TCPInfo{Seg: seg(wire.ACK, 1, testISS+1), ChecksumOK: true}, t0.Add(2*time.Millisecond))
	// An answer stamped before the SYN (a receive clock behind the send clock).
	m.HandleTCP(TCPInfo{Seg: seg(wire.SYN|wire.ACK, 1, testISS+1), ChecksumOK: true}, t0.Add(-time.Millisecond))
	r := m.Result()
	checkSorted(t, r)
	if r.RTT != 0 || r.Connect != 0 || r.AnsweredAttempt != 1 {
		t.Errorf("rtt %v connect %v attempt %d, want 0, 0, 1", r.RTT, r.Connect, r.AnsweredAttempt)
	}
}

// TestDropped: receive-path drops are listed and never decide.
func TestDropped(t *testing.T) {
	m := NewMachine(linuxDef, local4, remote4, testISS)
	m.Start(t0)
	m.Dropped("ip-options", netip.MustParseAddr("198.18.2.2"), 63, false, t0.Add(time.Millisecond))
	r := m.Result()
	if m.Done() || r.Ignored != 1 || r.Events[1].Why != "ip-options" || r.Events[1].Effect != EffectIgnored {
		t.Errorf("done %v, ignored %d, events %+v", m.Done(), r.Ignored, r.Events)
	}
}
