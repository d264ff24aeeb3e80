package rawsock

import (
	"fmt"
	"strconv"
	"strings"
)

// portRange is an inclusive range of ports.
type portRange struct{ lo, hi int }

// parsePortRange reads ip_local_port_range: two numbers.
func parsePortRange(s string) (portRange, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return portRange{}, fmt.Errorf("rawsock: ip_local_port_range %q: want two numbers", s)
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return portRange{}, fmt.Errorf("rawsock: ip_local_port_range %q: want two ports, low first", s)
	}
	return portRange{lo, hi}, nil
}

// parsePortList reads ip_local_reserved_ports: "8080,9000-9010" or empty.
func parsePortList(s string) ([]portRange, error) {
	var out []portRange
	for _, f := range strings.Split(strings.TrimSpace(s), ",") {
		if f == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a > b {
			return nil, fmt.Errorf("rawsock: ip_local_reserved_ports %q: bad entry %q", s, f)
		}
		out = append(out, portRange{a, b})
	}
	return out, nil
}

// candidatePorts lists the ports a prober may use: 1024–65535 minus the
// kernel's ephemeral range and minus the ports the administrator reserved.
func candidatePorts(ephemeral portRange, reserved []portRange) []uint16 {
	var out []uint16
next:
	for p := 1024; p <= 65535; p++ {
		if p >= ephemeral.lo && p <= ephemeral.hi {
			continue
		}
		for _, r := range reserved {
			if p >= r.lo && p <= r.hi {
				continue next
			}
		}
		out = append(out, uint16(p))
	}
	return out
}

// localPortListed reports whether a /proc/net/tcp or tcp6 table lists a
// socket whose local port (the hex after the colon of the second field)
// is port. Lines it cannot read are skipped.
func localPortListed(table string, port uint16) bool {
	for i, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 2 {
			continue // the header
		}
		_, hex, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(hex, 16, 16); err == nil && uint16(p) == port {
			return true
		}
	}
	return false
}
