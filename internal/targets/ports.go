package targets

import (
	"fmt"
	"strconv"
	"strings"
)

// ParsePorts reads a port list: numbers, ranges and service names,
// "22,80,8000-8010" or "ssh,https". Ports are 1–65535; the result is in
// the order given, without duplicates.
func ParsePorts(v string, svc Services) ([]uint16, error) {
	if !strings.ContainsAny(v, ",-") {
		// One port, the common case of a target file's lines.
		p, err := parsePort(v, svc)
		if err != nil {
			return nil, err
		}
		return []uint16{p}, nil
	}
	var out []uint16
	var seen [65536 / 64]uint64 // a bit per port: -p 1-65535 stays cheap
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("port list %q has an empty entry", v)
		}
		lo, hi, isRange := strings.Cut(f, "-")
		if f[0] < '0' || f[0] > '9' {
			isRange = false // a service name, which may hold '-'
		}
		var a, b uint16
		var err error
		if isRange {
			if a, err = parsePortNumber(lo); err != nil {
				return nil, err
			}
			if b, err = parsePortNumber(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("port range %q runs backwards", f)
			}
		} else {
			if a, err = parsePort(f, svc); err != nil {
				return nil, err
			}
			b = a
		}
		if out == nil {
			out = make([]uint16, 0, int(b)-int(a)+1)
		}
		for p := int(a); p <= int(b); p++ {
			if seen[p/64]&(1<<(p%64)) == 0 {
				seen[p/64] |= 1 << (p % 64)
				out = append(out, uint16(p))
			}
		}
	}
	return out, nil
}

// parsePort reads one port: a number or a service name.
func parsePort(s string, svc Services) (uint16, error) {
	s = strings.TrimSpace(s)
	if s != "" && (s[0] < '0' || s[0] > '9') {
		if p, ok := svc.Port(s); ok {
			return p, nil
		}
		if validServiceName(s) {
			return 0, fmt.Errorf("unknown service %q: not in %s or the built-in table; give its port number", s, servicesPath)
		}
	}
	return parsePortNumber(s)
}

// parsePortNumber reads a port number, the ends of a range.
func parsePortNumber(s string) (uint16, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("bad port %q: want a number from 1 to 65535 or a service name such as https", s)
	}
	return uint16(n), nil
}

// validServiceName says s could be a service name: letters, digits, '-',
// '_', '.', '+' and '/', starting with a letter.
func validServiceName(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '+' || c == '/'):
		default:
			return false
		}
	}
	return s != ""
}
