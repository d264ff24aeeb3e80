package targets

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Spec is one target as written, on the command line or on a line of a
// target file, parsed but not expanded.
type Spec struct {
	Text   string   // as written
	Where  string   // "FILE:LINE" for a line of a target file, "" for an argument
	Host   string   // the host part: a name, an address, a prefix or a range
	Ports  []uint16 // nil: the run's -p
	Expect string   // expect=OUTCOME of a target file line, "" for the run's

	bracket bool    // written [ADDR]:PORT
	name    string  // a DNS name to resolve, or ""
	set     addrSet // the addresses, for anything but a name
}

// IsName says the host is a DNS name, resolved when the plan is made.
func (s *Spec) IsName() bool { return s.name != "" }

// ParseTarget reads a target as written on the command line: HOST:PORTS,
// [IPv6]:PORTS, PREFIX:PORTS, RANGE:PORTS, or any of them without the
// ports (for -p). PORTS is a list of numbers, ranges and service names.
func ParseTarget(text string, svc Services) (Spec, error) {
	sp := Spec{Text: text}
	host, ports, err := splitTarget(text)
	if err != nil {
		return sp, err
	}
	sp.Host, sp.bracket = host, strings.HasPrefix(text, "[")
	if ports != "" {
		if sp.Ports, err = ParsePorts(ports, svc); err != nil {
			return sp, fmt.Errorf("target %q: %v", text, err)
		}
	}
	sp.name, sp.set, err = parseHost(host)
	if sp.bracket && (err != nil || sp.set == nil || sp.set.isV4()) {
		return sp, fmt.Errorf("target %q: %q is not an IPv6 address or prefix", text, host)
	}
	if err != nil {
		return sp, fmt.Errorf("target %q: %v", text, err)
	}
	return sp, nil
}

// splitTarget splits text into its host and port list ("" when none).
func splitTarget(text string) (host, ports string, err error) {
	if strings.HasPrefix(text, "[") {
		end := strings.Index(text, "]")
		if end < 0 {
			return "", "", fmt.Errorf("target %q: missing ']' after the IPv6 address", text)
		}
		host, rest := text[1:end], text[end+1:]
		switch {
		case rest == "":
			return host, "", nil
		case strings.HasPrefix(rest, ":") && len(rest) > 1:
			return host, rest[1:], nil
		}
		return "", "", fmt.Errorf("target %q: unexpected %q after ']'", text, rest)
	}
	if strings.Count(text, ":") > 1 {
		// IPv6 without brackets: an address or prefix alone (-p), or a
		// prefix followed by :PORTS, which cannot be mistaken.
		if addr, bits, ok := strings.Cut(text, "/"); ok {
			b, p, _ := strings.Cut(bits, ":")
			return addr + "/" + b, p, nil
		}
		if _, err := netip.ParseAddr(text); err == nil {
			return text, "", nil
		}
		return "", "", bracketHint(text)
	}
	host, ports, _ = strings.Cut(text, ":")
	if host == "" {
		return "", "", fmt.Errorf("target %q has no host", text)
	}
	if strings.HasSuffix(text, ":") {
		return "", "", fmt.Errorf("target %q: no port after ':'", text)
	}
	return host, ports, nil
}

// bracketHint says how to write an IPv6 target with its port.
func bracketHint(text string) error {
	example := "[" + strings.TrimSuffix(text, ":") + "]:PORT"
	if i := strings.LastIndex(text, ":"); i > 0 {
		if _, err := netip.ParseAddr(text[:i]); err == nil && text[i+1:] != "" {
			example = "[" + text[:i] + "]:" + text[i+1:]
		}
	}
	return fmt.Errorf("target %q: write IPv6 addresses in brackets with the port after them, e.g. %s (or give -p PORTS)", text, example)
}

// parseHost reads a host part: an address (with its zone), a prefix, an
// IPv4 range, or a name.
func parseHost(h string) (name string, set addrSet, err error) {
	if strings.Contains(h, "/") {
		p, err := netip.ParsePrefix(h)
		if err != nil {
			return "", nil, fmt.Errorf("%q is not an address prefix: write ADDR/BITS, e.g. 198.18.2.0/24 or fd00:2::/120", h)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return "", spanSet{prefixSpan(p)}, nil
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Is4In6() {
			a = a.Unmap()
		}
		return "", single{a}, nil
	}
	if looksLikeV4Range(h) {
		set, err := parseV4Range(h)
		return "", set, err
	}
	if validHostName(h) {
		return h, nil, nil
	}
	if strings.Contains(h, "%") {
		return "", nil, fmt.Errorf("%q is not an IPv6 address with a zone: write [fe80::1%%eth0]:PORT", h)
	}
	return "", nil, fmt.Errorf("%q is not an address, prefix, range or host name", h)
}

// looksLikeV4Range says h is made of IPv4 octets, '-' and '*' only.
func looksLikeV4Range(h string) bool {
	if !strings.ContainsAny(h, "-*") {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && c != '.' && c != '-' && c != '*' {
			return false
		}
	}
	return true
}

// parseV4Range reads 198.18.2.1-198.18.3.5 (every address from one to
// the other) or an nmap octet range: 198.18.2.1-20, 198.18.2-3.1-5,
// 198.18.2.*.
func parseV4Range(h string) (addrSet, error) {
	if lo, hi, ok := strings.Cut(h, "-"); ok && strings.Count(lo, ".") == 3 && strings.Count(hi, ".") == 3 {
		a, err1 := netip.ParseAddr(lo)
		b, err2 := netip.ParseAddr(hi)
		if err1 != nil || err2 != nil || !a.Is4() || !b.Is4() {
			return nil, fmt.Errorf("range %q: want two IPv4 addresses, e.g. 198.18.2.1-198.18.3.5", h)
		}
		if b.Less(a) {
			return nil, fmt.Errorf("range %q runs backwards", h)
		}
		return spanSet{span{lo: toU128(a), hi: toU128(b), v4: true}}, nil
	}
	parts := strings.Split(h, ".")
	if len(parts) != 4 {
		return nil, fmt.Errorf("range %q: want four octets, e.g. 198.18.2.1-20 or 198.18.2-3.1-5", h)
	}
	var o octets
	for i, p := range parts {
		lo, hi := 0, 255
		if p != "*" {
			l, r, isRange := strings.Cut(p, "-")
			var err error
			if lo, err = octet(l); err != nil {
				return nil, fmt.Errorf("range %q: octet %q is not a number from 0 to 255", h, p)
			}
			hi = lo
			if isRange {
				if hi, err = octet(r); err != nil {
					return nil, fmt.Errorf("range %q: octet %q is not a number from 0 to 255", h, p)
				}
			}
			if hi < lo {
				return nil, fmt.Errorf("range %q: octet range %q runs backwards", h, p)
			}
		}
		for v := lo; v <= hi; v++ {
			o[i] = append(o[i], byte(v))
		}
	}
	return o, nil
}

func octet(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 || s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, strconv.ErrSyntax
	}
	return n, nil
}

// validHostName says h could be a DNS name: labels of letters, digits,
// '-' and '_' joined by dots.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	last := ""
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' {
			return false
		}
		last = label
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	// A top-level label is never all digits (RFC 3696 §2): 198.18.2.300
	// is a mistyped address, not a name.
	return strings.Trim(last, "0123456789") != ""
}

// ParseLine reads one line of a target file: a target (as ParseTarget
// reads it, or HOST PORTS with a space), then optionally expect=OUTCOME;
// '#' starts a comment. ok is false for a line without a target.
// checkExpect validates the expectation.
func ParseLine(line string, svc Services, checkExpect func(string) error) (sp Spec, ok bool, err error) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return sp, false, nil
	}
	rest := fields[1:]
	var portField string
	if len(rest) > 0 && !strings.Contains(rest[0], "=") {
		portField, rest = rest[0], rest[1:]
	}
	if sp, err = ParseTarget(fields[0], svc); err != nil {
		return sp, true, err
	}
	if portField != "" {
		if sp.Ports != nil {
			return sp, true, fmt.Errorf("target %q already has its port: drop %q or write HOST PORTS", fields[0], portField)
		}
		if sp.Ports, err = ParsePorts(portField, svc); err != nil {
			return sp, true, fmt.Errorf("target %q: %v", fields[0], err)
		}
		sp.Text = fields[0] + " " + portField
	}
	for _, f := range rest {
		k, v, isKV := strings.Cut(f, "=")
		if !isKV || k != "expect" {
			return sp, true, fmt.Errorf("unknown field %q after the target: the only one is expect=open|refused|unreachable|timeout|closed", f)
		}
		if checkExpect != nil {
			if err := checkExpect(v); err != nil {
				return sp, true, err
			}
		}
		sp.Expect = v
	}
	return sp, true, nil
}

// namePrefix is what the name of a target of sp (a name or one address)
// is reported under before its port: HOST: as written, [IPv6]: for an
// IPv6 address (net.JoinHostPort's form).
func (s *Spec) namePrefix() string {
	return net.JoinHostPort(s.Host, "")
}
