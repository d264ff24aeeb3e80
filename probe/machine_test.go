package probe

import (
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/wire"
)

var (
	t0       = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	local4   = netip.MustParseAddrPort("198.18.1.2:40000")
	remote4  = netip.MustParseAddrPort("198.18.2.2:80")
	router4  = netip.MustParseAddr("198.18.1.1")
	local6   = netip.MustParseAddrPort("[fd00:1::2]:40000")
	remote6  = netip.MustParseAddrPort("[fd00:2::2]:80")
	linuxDef = Linux(6, 4)
)

const testISS = 0x11223344

// stimulus is something that happens to a probe at an offset after its
// first SYN.
type stimulus struct {
	at   time.Duration
	seg  *wire.Segment // a TCP segment from the target, or
	icmp *icmp.Message // an ICMP error quoting the probe
	bad  bool          // with a checksum that does not verify
}

// run drives a Machine through stimuli with a fake clock that jumps from
// one deadline or stimulus to the next, and returns the result, the times
// SYNs went out and every RST the machine asked to send.
func run(t *testing.T, p Profile, local, remote netip.AddrPort, iss uint32, stim []stimulus) (*Result, []time.Duration, []uint32) {
	t.Helper()
	m := NewMachine(p, local, remote, iss)
	var syns []time.Duration
	var rsts []uint32
	do := func(o Output, now time.Time) {
		if o.SendSYN {
			syns = append(syns, now.Sub(t0))
		}
		if o.SendRST {
			rsts = append(rsts, o.RSTSeq)
		}
	}
	do(m.Start(t0), t0)
	for steps := 0; !m.Done(); steps++ {
		if steps > 1000 {
			t.Fatal("machine did not finish in 1000 steps")
		}
		dl := m.Deadline()
		if len(stim) > 0 && !t0.Add(stim[0].at).After(dl) {
			s := stim[0]
			stim = stim[1:]
			now := t0.Add(s.at)
			if s.seg != nil {
				do(m.HandleTCP(TCPInfo{Seg: s.seg, From: remote.Addr(), TTL: 63, ChecksumOK: !s.bad}, now), now)
			} else {
				do(m.HandleICMP(ICMPInfo{Msg: s.icmp, From: router4, TTL: 64, ChecksumOK: !s.bad}, now), now)
			}
			continue
		}
		do(m.Tick(dl), dl)
	}
	// Anything after the decision must not change it.
	for _, s := range stim {
		now := t0.Add(s.at)
		if s.seg != nil {
			do(m.HandleTCP(TCPInfo{Seg: s.seg, From: remote.Addr(), TTL: 63, ChecksumOK: !s.bad}, now), now)
		} else {
			do(m.HandleICMP(ICMPInfo{Msg: s.icmp, From: router4, ChecksumOK: !s.bad}, now), now)
		}
	}
	return m.Result(), syns, rsts
}

func secs(v ...float64) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, f := range v {
		out[i] = time.Duration(f * float64(time.Second))
	}
	return out
}

func seg(flags wire.Flags, seq, ack uint32) *wire.Segment {
	return &wire.Segment{SrcPort: remote4.Port(), DstPort: local4.Port(), Flags: flags, Seq: seq, Ack: ack, Window: 64240}
}

func icmpMsg(v6 bool, typ, code uint8, seq uint32) *icmp.Message {
	q := icmp.Quote{Src: local4.Addr(), Dst: remote4.Addr(), Protocol: 6, SrcPort: local4.Port(), DstPort: remote4.Port(), Seq: seq}
	if v6 {
		q.Src, q.Dst = local6.Addr(), remote6.Addr()
	}
	return &icmp.Message{V6: v6, Type: typ, Code: code, Quote: q}
}

type want struct {
	outcome Outcome
	errno   syscall.Errno
	soft    bool
	end     time.Duration
}

func TestSchedules(t *testing.T) {
	tests := []struct {
		name   string
		p      Profile
		syns   []time.Duration
		giveUp time.Duration
	}{
		{"classic sends at 0, 6, 30 and gives up at 75", Classic(), secs(0, 6, 30), 75 * time.Second},
		{"bsd is the same schedule", BSD(), secs(0, 6, 30), 75 * time.Second},
		{"linux >= 6.5 defaults", linuxDef, secs(0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67), 131 * time.Second},
		{"linux before 6.5 (no linear timeouts)", Linux(6, 0), secs(0, 1, 3, 7, 15, 31, 63), 127 * time.Second},
		{"linux tcp_syn_retries=2, linear=0", Linux(2, 0), secs(0, 1, 3), 7 * time.Second},
		// Measured on 6.18 (tcpdump of connect() from a namespace): the
		// time limit tcp_model_timeout(tcp_syn_retries) ends these before
		// the retransmission count does.
		{"linux tcp_syn_retries=1 (measured)", Linux(1, 4), secs(0, 1, 2), 3 * time.Second},
		{"linux tcp_syn_retries=2 (measured)", Linux(2, 4), secs(0, 1, 2, 3, 4, 5), 7 * time.Second},
		{"linux tcp_syn_retries=3 (measured)", Linux(3, 4), secs(0, 1, 2, 3, 4, 5, 7, 11), 19 * time.Second},
		{"linux tcp_syn_retries=0", Linux(0, 0), secs(0), 1 * time.Second},
		{"linux RTO capped at 120s", Linux(9, 0), secs(0, 1, 3, 7, 15, 31, 63, 127, 247, 367), 487 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, syns, rsts := run(t, tt.p, local4, remote4, testISS, nil)
			if diff := cmp.Diff(tt.syns, syns); diff != "" {
				t.Errorf("SYN times (-want +got):\n%s", diff)
			}
			got := want{res.Outcome, res.Errno, res.Soft, res.Finished.Sub(t0)}
			if diff := cmp.Diff(want{Timeout, syscall.ETIMEDOUT, false, tt.giveUp}, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if len(rsts) != 0 {
				t.Errorf("sent RSTs %v on a silent path", rsts)
			}
			if len(res.Attempts) != len(tt.syns) {
				t.Errorf("Attempts has %d entries, want %d", len(res.Attempts), len(tt.syns))
			}
		})
	}
}

// TestTCPRows covers the TCP rows of spec §4 under every profile.
func TestTCPRows(t *testing.T) {
	profiles := []Profile{Classic(), linuxDef, BSD()}
	giveUp := map[string]time.Duration{ProfileClassic: 75 * time.Second, ProfileLinux: 131 * time.Second, ProfileBSD: 75 * time.Second}
	ms := time.Millisecond
	tests := []struct {
		name    string
		stim    []stimulus
		outcome Outcome
		errno   syscall.Errno
		end     time.Duration // -1: the profile's give-up time
		rsts    []uint32
		ignored int
	}{
		{"SYN-ACK with ACK=ISS+1 is open, torn down with <SEQ=ISS+1><RST>",
			[]stimulus{{at: ms, seg: seg(wire.SYN|wire.ACK, 7, testISS+1)}}, Open, 0, ms, []uint32{testISS + 1}, 0},
		{"RST+ACK with ACK=ISS+1 is refused at once, any SEQ",
			[]stimulus{{at: ms, seg: seg(wire.RST|wire.ACK, 0, testISS+1)}}, Refused, syscall.ECONNREFUSED, ms, nil, 0},
		{"RST without ACK is ignored",
			[]stimulus{{at: ms, seg: seg(wire.RST, testISS+1, 0)}}, Timeout, syscall.ETIMEDOUT, -1, nil, 1},
		{"RST+ACK with a wrong ACK is ignored and never answered",
			[]stimulus{{at: ms, seg: seg(wire.RST|wire.ACK, 0, testISS+2)}}, Timeout, syscall.ETIMEDOUT, -1, nil, 1},
		{"RST+ACK acking the ISS itself is ignored",
			[]stimulus{{at: ms, seg: seg(wire.RST|wire.ACK, 0, testISS)}}, Timeout, syscall.ETIMEDOUT, -1, nil, 1},
		{"SYN-ACK with a wrong ACK gets <SEQ=SEG.ACK><RST> and waiting goes on",
			[]stimulus{{at: ms, seg: seg(wire.SYN|wire.ACK, 9, 0xdeadbeef)}}, Timeout, syscall.ETIMEDOUT, -1, []uint32{0xdeadbeef}, 1},
		{"wrong SYN-ACK then the right one: open",
			[]stimulus{{at: ms, seg: seg(wire.SYN|wire.ACK, 9, 5)}, {at: 2 * ms, seg: seg(wire.SYN|wire.ACK, 9, testISS+1)}}, Open, 0, 2 * ms, []uint32{5, testISS + 1}, 1},
		{"SYN without ACK (simultaneous open) alone is not open",
			[]stimulus{{at: ms, seg: seg(wire.SYN, 9, 0)}}, Timeout, syscall.ETIMEDOUT, -1, nil, 0},
		{"bare acceptable ACK is dropped",
			[]stimulus{{at: ms, seg: seg(wire.ACK, 9, testISS+1)}}, Timeout, syscall.ETIMEDOUT, -1, nil, 1},
		{"segment with no flags is dropped",
			[]stimulus{{at: ms, seg: seg(0, 9, 0)}}, Timeout, syscall.ETIMEDOUT, -1, nil, 1},
		{"SYN-ACK with a bad checksum never decides",
			[]stimulus{{at: ms, seg: seg(wire.SYN|wire.ACK, 9, testISS+1), bad: true}}, Timeout, syscall.ETIMEDOUT, -1, nil, 1},
		{"RST+ACK with a bad checksum never decides",
			[]stimulus{{at: ms, seg: seg(wire.RST|wire.ACK, 9, testISS+1), bad: true}}, Timeout, syscall.ETIMEDOUT, -1, nil, 1},
		{"SYN-ACK after the first retransmission is open",
			[]stimulus{{at: 6*time.Second + ms, seg: seg(wire.SYN|wire.ACK, 9, testISS+1)}}, Open, 0, -2, []uint32{testISS + 1}, 0},
		{"a retransmitted SYN-ACK after teardown is answered again, result unchanged",
			[]stimulus{{at: ms, seg: seg(wire.SYN|wire.ACK, 7, testISS+1)}, {at: time.Second, seg: seg(wire.SYN|wire.ACK, 7, testISS+1)}, {at: 2 * time.Second, seg: seg(wire.RST|wire.ACK, 7, testISS+1)}},
			Open, 0, ms, []uint32{testISS + 1, testISS + 1}, 0},
	}
	for _, p := range profiles {
		for _, tt := range tests {
			t.Run(p.Name+"/"+tt.name, func(t *testing.T) {
				stim := tt.stim
				end := tt.end
				switch end {
				case -1:
					end = giveUp[p.Name]
				case -2: // just after the second SYN of this profile
					stim = []stimulus{{at: p.Schedule.SYNs[1] + ms, seg: tt.stim[0].seg}}
					end = p.Schedule.SYNs[1] + ms
				}
				res, _, rsts := run(t, p, local4, remote4, testISS, stim)
				got := want{res.Outcome, res.Errno, res.Soft, res.Finished.Sub(t0)}
				if diff := cmp.Diff(want{tt.outcome, tt.errno, false, end}, got, cmp.AllowUnexported(want{})); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.rsts, rsts); diff != "" {
					t.Errorf("RSTs sent (-want +got):\n%s", diff)
				}
				if res.Ignored != tt.ignored {
					t.Errorf("Ignored = %d, want %d", res.Ignored, tt.ignored)
				}
			})
		}
	}
}

func TestSequenceWraps(t *testing.T) {
	// ISS = 0xFFFFFFFF expects ACK = 0 (spec §6 item 12).
	res, _, rsts := run(t, Classic(), local4, remote4, 0xFFFFFFFF, []stimulus{{at: time.Millisecond, seg: seg(wire.SYN|wire.ACK, 1, 0)}})
	if res.Outcome != Open {
		t.Fatalf("outcome %s, want open", res.Outcome)
	}
	if diff := cmp.Diff([]uint32{0}, rsts); diff != "" {
		t.Errorf("teardown RST seq (-want +got):\n%s", diff)
	}
}

// icmpRow is one ICMP row of spec §4 with what each stack makes of it.
type icmpRow struct {
	name      string
	v6        bool
	typ, code uint8
	linux     syscall.Errno // 0: Linux ignores it
	pmtu      bool          // Linux: path MTU only, never ends the attempt
	rfcHard   bool          // RFC 1122 hard: ends the classic profile at once
	bsd       syscall.Errno // 0: 4.4BSD ignores it
}

var icmpRows = []icmpRow{
	{"unreach 0 net", false, 3, 0, syscall.ENETUNREACH, false, false, syscall.EHOSTUNREACH},
	{"unreach 1 host", false, 3, 1, syscall.EHOSTUNREACH, false, false, syscall.EHOSTUNREACH},
	{"unreach 2 protocol", false, 3, 2, syscall.ENOPROTOOPT, false, true, syscall.ECONNREFUSED},
	{"unreach 3 port", false, 3, 3, syscall.ECONNREFUSED, false, true, syscall.ECONNREFUSED},
	{"unreach 4 frag needed", false, 3, 4, syscall.EMSGSIZE, true, false, syscall.EMSGSIZE},
	{"unreach 5 source route failed", false, 3, 5, syscall.EOPNOTSUPP, false, false, syscall.EHOSTUNREACH},
	{"unreach 6 net unknown", false, 3, 6, syscall.ENETUNREACH, false, false, syscall.EHOSTUNREACH},
	{"unreach 7 host unknown", false, 3, 7, syscall.EHOSTDOWN, false, false, syscall.EHOSTUNREACH},
	{"unreach 8 host isolated", false, 3, 8, syscall.ENONET, false, false, syscall.EHOSTUNREACH},
	{"unreach 9 net admin prohibited", false, 3, 9, syscall.ENETUNREACH, false, false, syscall.EHOSTUNREACH},
	{"unreach 10 host admin prohibited", false, 3, 10, syscall.EHOSTUNREACH, false, false, syscall.EHOSTUNREACH},
	{"unreach 11 net TOS", false, 3, 11, syscall.ENETUNREACH, false, false, syscall.EHOSTUNREACH},
	{"unreach 12 host TOS", false, 3, 12, syscall.EHOSTUNREACH, false, false, syscall.EHOSTUNREACH},
	{"unreach 13 communication prohibited", false, 3, 13, syscall.EHOSTUNREACH, false, false, 0},
	{"unreach 14 precedence violation", false, 3, 14, syscall.EHOSTUNREACH, false, false, 0},
	{"unreach 15 precedence cutoff", false, 3, 15, syscall.EHOSTUNREACH, false, false, 0},
	{"unreach code 16 is ignored", false, 3, 16, 0, false, false, 0},
	{"time exceeded 0 (TTL)", false, 11, 0, syscall.EHOSTUNREACH, false, false, 0},
	{"time exceeded 1 (reassembly)", false, 11, 1, 0, false, false, 0},
	{"parameter problem", false, 12, 0, syscall.EPROTO, false, false, syscall.ENOPROTOOPT},
	{"source quench", false, 4, 0, 0, false, false, 0},
	{"redirect", false, 5, 1, 0, false, false, 0},
	{"v6 unreach 0 no route", true, 1, 0, syscall.ENETUNREACH, false, false, syscall.EHOSTUNREACH},
	{"v6 unreach 1 admin prohibited", true, 1, 1, syscall.EACCES, false, false, syscall.ECONNREFUSED},
	{"v6 unreach 3 address unreachable", true, 1, 3, syscall.EHOSTUNREACH, false, false, syscall.EHOSTUNREACH},
	{"v6 unreach 4 port", true, 1, 4, syscall.ECONNREFUSED, false, true, syscall.ECONNREFUSED},
	{"v6 unreach 5 policy failed", true, 1, 5, syscall.EACCES, false, false, 0},
	{"v6 unreach 6 reject route", true, 1, 6, syscall.EACCES, false, false, 0},
	{"v6 packet too big", true, 2, 0, syscall.EMSGSIZE, true, false, 0},
	{"v6 time exceeded", true, 3, 0, syscall.EHOSTUNREACH, false, false, syscall.EHOSTUNREACH},
	{"v6 parameter problem", true, 4, 0, syscall.EPROTO, false, false, syscall.ENOPROTOOPT},
}

// TestICMPRows covers every ICMP row of spec §4 under every profile: an
// error arriving 2 s after the first SYN.
func TestICMPRows(t *testing.T) {
	at := 2 * time.Second
	for _, row := range icmpRows {
		expect := map[string]want{}
		// linux: every delivered error ends the probe at once.
		switch {
		case row.linux == 0 || row.pmtu:
			expect[ProfileLinux] = want{Timeout, syscall.ETIMEDOUT, false, 131 * time.Second}
		default:
			expect[ProfileLinux] = want{OutcomeOf(row.linux), row.linux, false, at}
		}
		// classic: Linux's errnos, RFC 1122 soft/hard.
		switch {
		case row.linux == 0 || row.pmtu:
			expect[ProfileClassic] = want{Timeout, syscall.ETIMEDOUT, false, 75 * time.Second}
		case row.rfcHard:
			expect[ProfileClassic] = want{OutcomeOf(row.linux), row.linux, false, at}
		default:
			expect[ProfileClassic] = want{OutcomeOf(row.linux), row.linux, true, 75 * time.Second}
		}
		// bsd: 4.4BSD's errnos, all soft.
		if row.bsd == 0 {
			expect[ProfileBSD] = want{Timeout, syscall.ETIMEDOUT, false, 75 * time.Second}
		} else {
			expect[ProfileBSD] = want{OutcomeOf(row.bsd), row.bsd, true, 75 * time.Second}
		}
		for _, p := range []Profile{Classic(), linuxDef, BSD()} {
			t.Run(p.Name+"/"+row.name, func(t *testing.T) {
				l, r := local4, remote4
				if row.v6 {
					l, r = local6, remote6
				}
				res, syns, _ := run(t, p, l, r, testISS, []stimulus{{at: at, icmp: icmpMsg(row.v6, row.typ, row.code, testISS)}})
				got := want{res.Outcome, res.Errno, res.Soft, res.Finished.Sub(t0)}
				if diff := cmp.Diff(expect[p.Name], got, cmp.AllowUnexported(want{})); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
				// A soft error does not stop the retransmissions.
				if got.end == 75*time.Second {
					if diff := cmp.Diff(secs(0, 6, 30), syns); diff != "" {
						t.Errorf("SYN times (-want +got):\n%s", diff)
					}
				}
				if res.Outcome != Timeout && res.Responder != router4 {
					t.Errorf("responder %v, want %v", res.Responder, router4)
				}
			})
		}
	}
}

func TestICMPValidation(t *testing.T) {
	net0 := func(seq uint32) *icmp.Message { return icmpMsg(false, 3, 0, seq) }
	tests := []struct {
		name string
		p    Profile
		stim []stimulus
		want want
	}{
		// tcp_v4_err: between(seq, snd_una, snd_nxt), ISS+1 included.
		{"linux: quote seq ISS+1 is accepted", linuxDef, []stimulus{{at: time.Second, icmp: net0(testISS + 1)}}, want{Unreachable, syscall.ENETUNREACH, false, time.Second}},
		{"linux: quote seq ISS+2 is not", linuxDef, []stimulus{{at: time.Second, icmp: net0(testISS + 2)}}, want{Timeout, syscall.ETIMEDOUT, false, 131 * time.Second}},
		{"linux: quote seq ISS-1 is not", linuxDef, []stimulus{{at: time.Second, icmp: net0(testISS - 1)}}, want{Timeout, syscall.ETIMEDOUT, false, 131 * time.Second}},
		{"classic: quote seq ISS+1 is not accepted (RFC 5927)", Classic(), []stimulus{{at: time.Second, icmp: icmpMsg(false, 3, 3, testISS+1)}}, want{Timeout, syscall.ETIMEDOUT, false, 75 * time.Second}},
		{"bad ICMP checksum is not accepted", linuxDef, []stimulus{{at: time.Second, icmp: net0(testISS), bad: true}}, want{Timeout, syscall.ETIMEDOUT, false, 131 * time.Second}},
		{"the last soft error wins", Classic(), []stimulus{
			{at: time.Second, icmp: net0(testISS)},
			{at: 7 * time.Second, icmp: icmpMsg(false, 3, 1, testISS)},
		}, want{Unreachable, syscall.EHOSTUNREACH, true, 75 * time.Second}},
		{"a SYN-ACK after a soft error still wins", Classic(), []stimulus{
			{at: time.Second, icmp: net0(testISS)},
			{at: 6*time.Second + time.Millisecond, seg: seg(wire.SYN|wire.ACK, 1, testISS+1)},
		}, want{Open, 0, false, 6*time.Second + time.Millisecond}},
		{"a hard error after a soft one ends the probe", Classic(), []stimulus{
			{at: time.Second, icmp: net0(testISS)},
			{at: 7 * time.Second, icmp: icmpMsg(false, 3, 3, testISS)},
		}, want{Refused, syscall.ECONNREFUSED, false, 7 * time.Second}},
		{"bsd port unreachable waits for the deadline", BSD(), []stimulus{{at: time.Second, icmp: icmpMsg(false, 3, 3, testISS)}},
			want{Refused, syscall.ECONNREFUSED, true, 75 * time.Second}},
		{"net unreachable at 2s: classic reports ENETUNREACH soft at 75s", Classic(), []stimulus{{at: 2 * time.Second, icmp: net0(testISS)}},
			want{Unreachable, syscall.ENETUNREACH, true, 75 * time.Second}},
		{"net unreachable at 2s: linux ends at 2s", linuxDef, []stimulus{{at: 2 * time.Second, icmp: net0(testISS)}},
			want{Unreachable, syscall.ENETUNREACH, false, 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _, _ := run(t, tt.p, local4, remote4, testISS, tt.stim)
			got := want{res.Outcome, res.Errno, res.Soft, res.Finished.Sub(t0)}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCustomScheduleAndCut(t *testing.T) {
	s, err := ParseSchedule("0,200ms,1s/2s")
	if err != nil {
		t.Fatal(err)
	}
	p := Classic()
	p.Schedule = s
	res, syns, _ := run(t, p, local4, remote4, testISS, nil)
	if diff := cmp.Diff(secs(0, 0.2, 1), syns); diff != "" {
		t.Errorf("SYN times (-want +got):\n%s", diff)
	}
	if got := res.Finished.Sub(t0); got != 2*time.Second {
		t.Errorf("ended at %v, want 2s", got)
	}
	p = Classic()
	p.Schedule = p.Schedule.Cut(10 * time.Second)
	res, syns, _ = run(t, p, local4, remote4, testISS, []stimulus{{at: time.Second, icmp: icmpMsg(false, 3, 1, testISS)}})
	if diff := cmp.Diff(secs(0, 6), syns); diff != "" {
		t.Errorf("cut SYN times (-want +got):\n%s", diff)
	}
	got := want{res.Outcome, res.Errno, res.Soft, res.Finished.Sub(t0)}
	if diff := cmp.Diff(want{Unreachable, syscall.EHOSTUNREACH, true, 10 * time.Second}, got, cmp.AllowUnexported(want{})); diff != "" {
		t.Errorf("cut result (-want +got):\n%s", diff)
	}
}

func TestParseScheduleErrors(t *testing.T) {
	for _, in := range []string{"", "0,1s", "1s/2s", "0,2s,1s/3s", "0,1s/1s", "0,x/2s", "0/y"} {
		if _, err := ParseSchedule(in); err == nil {
			t.Errorf("ParseSchedule(%q) succeeded, want an error", in)
		}
	}
	s, err := ParseSchedule("0,6s,30s/75s")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Classic().Schedule, s); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestInterrupt(t *testing.T) {
	m := NewMachine(Classic(), local4, remote4, testISS)
	m.Start(t0)
	o := m.Interrupt(t0.Add(time.Second))
	if !o.Done || m.Result().Outcome != Interrupted {
		t.Fatalf("Interrupt: %+v outcome %s", o, m.Result().Outcome)
	}
	if o := m.Tick(t0.Add(80 * time.Second)); o != (Output{}) {
		t.Errorf("Tick after done = %+v, want nothing", o)
	}
}
