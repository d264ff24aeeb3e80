package kconnect

import (
	"fmt"
	"slices"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Notices says, one line each, what of cfg's profile connect(2) cannot
// apply: the kernel keeps its own SYN schedule (only the give-up time is
// the profile's), ends the handshake at the first ICMP error it accepts,
// and reports its own errnos. A profile that asks for exactly that (this
// host's linux profile) gets none.
func Notices(cfg Config) []string {
	kernel := cfg.Kernel
	if len(kernel.SYNs) == 0 {
		kernel = HostSchedule()
	}
	p := cfg.Profile
	var out []string
	giveUp := p.Schedule.GiveUp
	own := kernel.Cut(giveUp)
	if !slices.Equal(p.Schedule.SYNs, own.SYNs) {
		out = append(out, fmt.Sprintf("--mode connect: the SYN offsets %s (profile %s) cannot apply: the kernel sends its own (%s); only the give-up time %v applies",
			offsets(p.Schedule), p.Name, offsets(own), giveUp))
	}
	if p.ICMP != probe.ICMPHard {
		out = append(out, fmt.Sprintf("--mode connect: the ICMP policy %s (profile %s) cannot apply: the kernel's connect(2) ends at the first ICMP error it accepts",
			p.ICMP, p.Name))
	}
	if p.Semantics != probe.LinuxSemantics {
		out = append(out, fmt.Sprintf("--mode connect: the errno table of profile %s cannot apply: errnos are this kernel's (Linux's)", p.Name))
	}
	return out
}

// offsets formats a schedule's SYN offsets: "0s,6s,30s".
func offsets(s probe.Schedule) string {
	str := s.String()
	for i := len(str) - 1; i >= 0; i-- {
		if str[i] == '/' {
			return str[:i]
		}
	}
	return str
}
