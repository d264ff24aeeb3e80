package probe

import (
	"fmt"
	"strings"
	"time"

	"github.com/tcpprobe/tcpprobe/icmp"
)

// Schedule is when SYNs go out and when the attempt gives up, as offsets
// from the first SYN. SYNs[0] is always 0; every offset is below GiveUp.
type Schedule struct {
	SYNs   []time.Duration
	GiveUp time.Duration
}

// Validate reports whether s is a usable schedule.
func (s Schedule) Validate() error {
	if len(s.SYNs) == 0 || s.SYNs[0] != 0 {
		return fmt.Errorf("schedule must start with a SYN at 0s, got %v", s.SYNs)
	}
	for i := 1; i < len(s.SYNs); i++ {
		if s.SYNs[i] <= s.SYNs[i-1] {
			return fmt.Errorf("schedule offsets must increase: %v then %v", s.SYNs[i-1], s.SYNs[i])
		}
	}
	if s.GiveUp <= s.SYNs[len(s.SYNs)-1] {
		return fmt.Errorf("give-up time %v must come after the last SYN at %v", s.GiveUp, s.SYNs[len(s.SYNs)-1])
	}
	return nil
}

// Cut returns s ended at limit, as a connect timeout would end it: SYNs at
// or after limit are dropped and GiveUp becomes limit if that is sooner.
// A limit of zero or less leaves s unchanged.
func (s Schedule) Cut(limit time.Duration) Schedule {
	if limit <= 0 || limit >= s.GiveUp {
		return s
	}
	out := Schedule{GiveUp: limit}
	for _, d := range s.SYNs {
		if d < limit {
			out.SYNs = append(out.SYNs, d)
		}
	}
	return out
}

// String formats s as ParseSchedule reads it: "0,6s,30s/75s".
func (s Schedule) String() string {
	var b strings.Builder
	for i, d := range s.SYNs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.String())
	}
	b.WriteByte('/')
	b.WriteString(s.GiveUp.String())
	return b.String()
}

// ParseSchedule reads a schedule written as SYN offsets separated by commas,
// a slash, and the give-up time: "0,1s,3s/10s". Offsets are Go durations; a
// bare 0 is allowed.
func ParseSchedule(v string) (Schedule, error) {
	syns, giveUp, ok := strings.Cut(v, "/")
	if !ok {
		return Schedule{}, fmt.Errorf("schedule %q: want SYN offsets, '/', give-up time, e.g. 0,1s,3s/10s", v)
	}
	var s Schedule
	for _, f := range strings.Split(syns, ",") {
		d, err := parseDur(strings.TrimSpace(f))
		if err != nil {
			return Schedule{}, fmt.Errorf("schedule %q: SYN offset %q: %v", v, f, err)
		}
		s.SYNs = append(s.SYNs, d)
	}
	d, err := parseDur(strings.TrimSpace(giveUp))
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: give-up time %q: %v", v, giveUp, err)
	}
	s.GiveUp = d
	if err := s.Validate(); err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %v", v, err)
	}
	return s, nil
}

func parseDur(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// ICMPPolicy says what an ICMP error does to a probe in SYN_SENT.
type ICMPPolicy uint8

const (
	// ICMPRFC1122 treats protocol and port unreachable as hard (the probe
	// ends at once) and every other error as soft (RFC 1122 §4.2.3.9).
	ICMPRFC1122 ICMPPolicy = iota
	// ICMPSoft saves every error and reports the last one at the give-up
	// time, as 4.4BSD does.
	ICMPSoft
	// ICMPHard ends the probe at once on every error, as Linux does.
	ICMPHard
)

// String returns the policy's flag value.
func (p ICMPPolicy) String() string {
	switch p {
	case ICMPSoft:
		return "soft"
	case ICMPHard:
		return "hard"
	default:
		return "rfc1122"
	}
}

// ParseICMPPolicy reads a policy flag value: rfc1122, soft or hard.
func ParseICMPPolicy(v string) (ICMPPolicy, error) {
	for _, p := range []ICMPPolicy{ICMPRFC1122, ICMPSoft, ICMPHard} {
		if v == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown ICMP policy %q: want rfc1122, soft or hard", v)
}

// Semantics is an errno table: what an ICMP message means to one stack.
type Semantics uint8

const (
	// LinuxSemantics maps messages as Linux does (spec §3.1, §3.2, §3.4).
	LinuxSemantics Semantics = iota
	// BSDSemantics maps messages as 4.4BSD does (spec §3.5.1).
	BSDSemantics
)

// Verdict returns what m means under s.
func (s Semantics) Verdict(m *icmp.Message) icmp.Verdict {
	if s == BSDSemantics {
		return icmp.BSD44(m)
	}
	return icmp.Linux(m)
}

// String names the table.
func (s Semantics) String() string {
	if s == BSDSemantics {
		return "bsd"
	}
	return "linux"
}

// Profile is one connect(2): a schedule, an ICMP policy and an errno table.
type Profile struct {
	Name      string
	Schedule  Schedule
	ICMP      ICMPPolicy
	Semantics Semantics
}

// Profile names accepted by ProfileByName.
const (
	ProfileClassic = "classic"
	ProfileLinux   = "linux"
	ProfileBSD     = "bsd"
)

// bsdSchedule is 4.4BSD's: SYNs at 0, 6 and 30 s, dropped by the
// keep-init timer at 75 s (spec §1.1).
func bsdSchedule() Schedule {
	return Schedule{SYNs: []time.Duration{0, 6 * time.Second, 30 * time.Second}, GiveUp: 75 * time.Second}
}

// Classic is the founding document's connect(2), after Stevens' UNP: the
// 4.4BSD schedule, RFC 1122 soft/hard ICMP, Linux's errnos.
func Classic() Profile {
	return Profile{Name: ProfileClassic, Schedule: bsdSchedule(), ICMP: ICMPRFC1122, Semantics: LinuxSemantics}
}

// BSD is 4.4BSD exactly: its schedule, every ICMP error soft, its errnos.
func BSD() Profile {
	return Profile{Name: ProfileBSD, Schedule: bsdSchedule(), ICMP: ICMPSoft, Semantics: BSDSemantics}
}

// Linux is the Linux kernel's connect(2) with the given tcp_syn_retries and
// tcp_syn_linear_timeouts: every ICMP error is hard.
func Linux(synRetries, linearTimeouts int) Profile {
	return Profile{Name: ProfileLinux, Schedule: LinuxSchedule(synRetries, linearTimeouts), ICMP: ICMPHard, Semantics: LinuxSemantics}
}

// Linux's SYN timer constants (include/net/tcp.h).
const (
	linuxTimeoutInit = time.Second       // TCP_TIMEOUT_INIT
	linuxRTOMax      = 120 * time.Second // TCP_RTO_MAX
)

// LinuxSchedule computes the SYN schedule of Linux ≥ 6.5 for the sysctls
// net.ipv4.tcp_syn_retries and tcp_syn_linear_timeouts (0 gives the pre-6.5
// schedule), following tcp_retransmit_timer and tcp_write_timeout
// (spec §1.2): the RTO starts at 1 s, is not doubled for the first
// linearTimeouts timeouts, then doubles up to 120 s. At each timeout
// tcp_write_timeout gives up when synRetries+linearTimeouts SYNs were
// retransmitted, or when one was and the time since the first SYN has
// reached tcp_model_timeout(synRetries): the exponential schedule's
// length, which ends a short tcp_syn_retries early (measured on 6.18:
// tcp_syn_retries=1 sends at 0, 1, 2 s and gives up at 3 s; 2 sends at 0
// to 5 s and gives up at 7 s).
func LinuxSchedule(synRetries, linearTimeouts int) Schedule {
	synRetries = max(synRetries, 0)
	linearTimeouts = max(linearTimeouts, 0)
	model := linuxModelTimeout(synRetries)
	s := Schedule{SYNs: []time.Duration{0}}
	at, rto := time.Duration(0), linuxTimeoutInit
	for n := 1; ; n++ {
		at += rto
		retransmitted := n - 1
		if retransmitted >= synRetries+linearTimeouts || retransmitted > 0 && at >= model {
			s.GiveUp = at
			return s
		}
		s.SYNs = append(s.SYNs, at)
		if n > linearTimeouts {
			rto = min(2*rto, linuxRTOMax)
		}
	}
}

// linuxModelTimeout is tcp_model_timeout(sk, boundary, TCP_TIMEOUT_INIT):
// how long boundary retransmissions take with the RTO doubling from 1 s
// and capped at TCP_RTO_MAX.
func linuxModelTimeout(boundary int) time.Duration {
	thresh := 0 // ilog2(TCP_RTO_MAX / TCP_TIMEOUT_INIT)
	for linuxTimeoutInit<<(thresh+1) <= linuxRTOMax {
		thresh++
	}
	if boundary <= thresh {
		return time.Duration(2<<boundary-1) * linuxTimeoutInit
	}
	return time.Duration(2<<thresh-1)*linuxTimeoutInit + time.Duration(boundary-thresh)*linuxRTOMax
}

// ProfileNames lists the names ProfileByName accepts.
func ProfileNames() []string {
	return []string{ProfileClassic, ProfileLinux, ProfileBSD}
}

// ProfileByName returns the named profile. The linux profile reads this
// host's sysctls through sysctls; pass HostSysctls in production.
func ProfileByName(name string, sysctls func() (synRetries, linearTimeouts int, err error)) (Profile, error) {
	switch name {
	case ProfileClassic:
		return Classic(), nil
	case ProfileBSD:
		return BSD(), nil
	case ProfileLinux:
		r, l, err := sysctls()
		if err != nil {
			return Profile{}, fmt.Errorf("linux profile: %w", err)
		}
		return Linux(r, l), nil
	}
	return Profile{}, fmt.Errorf("unknown profile %q: want one of %s", name, strings.Join(ProfileNames(), ", "))
}
