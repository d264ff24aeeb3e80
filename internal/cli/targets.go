package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
)

// ParsePorts reads a port list: "22,80,8000-8010". Ports are 1–65535;
// the result is in the order given, without duplicates.
func ParsePorts(v string) ([]uint16, error) {
	var out []uint16
	var seen [65536 / 64]uint64 // a bit per port: -p 1-65535 stays cheap
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("port list %q has an empty entry", v)
		}
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := parsePort(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("port range %q runs backwards", f)
			}
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

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("bad port %q: want a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

// hostPort is a target as written, split.
type hostPort struct {
	arg   string // as the user wrote it
	host  string
	ports []uint16
}

// splitTarget reads HOST:PORT, [IPv6]:PORT, or HOST alone when ports is
// given (-p).
func splitTarget(arg string, ports []uint16) (hostPort, error) {
	hp := hostPort{arg: arg}
	if strings.HasPrefix(arg, "[") {
		end := strings.Index(arg, "]")
		if end < 0 {
			return hp, fmt.Errorf("target %q: missing ']' after the IPv6 address", arg)
		}
		hp.host = arg[1:end]
		rest := arg[end+1:]
		switch {
		case rest == "" && len(ports) > 0:
			hp.ports = ports
		case rest == "":
			return hp, fmt.Errorf("target %q has no port: write [ADDR]:PORT or give -p PORTS", arg)
		case strings.HasPrefix(rest, ":"):
			p, err := ParsePorts(rest[1:])
			if err != nil {
				return hp, fmt.Errorf("target %q: %v", arg, err)
			}
			hp.ports = p
		default:
			return hp, fmt.Errorf("target %q: unexpected %q after ']'", arg, rest)
		}
		if _, err := netip.ParseAddr(hp.host); err != nil {
			return hp, fmt.Errorf("target %q: %q is not an IPv6 address", arg, hp.host)
		}
		return hp, nil
	}
	if strings.Count(arg, ":") > 1 {
		if _, err := netip.ParseAddr(arg); err == nil && len(ports) > 0 {
			hp.host, hp.ports = arg, ports
			return hp, nil
		}
		example := "[" + strings.TrimSuffix(arg, ":") + "]:PORT"
		if i := strings.LastIndex(arg, ":"); i > 0 {
			if _, err := netip.ParseAddr(arg[:i]); err == nil {
				if _, err := parsePort(arg[i+1:]); err == nil {
					example = "[" + arg[:i] + "]:" + arg[i+1:]
				}
			}
		}
		return hp, fmt.Errorf("target %q: write IPv6 addresses in brackets with the port after them, e.g. %s (or give -p PORTS)", arg, example)
	}
	host, port, hasPort := strings.Cut(arg, ":")
	if host == "" {
		return hp, fmt.Errorf("target %q has no host", arg)
	}
	hp.host = host
	switch {
	case hasPort:
		p, err := ParsePorts(port)
		if err != nil {
			return hp, fmt.Errorf("target %q: %v", arg, err)
		}
		hp.ports = p
	case len(ports) > 0:
		hp.ports = ports
	default:
		return hp, fmt.Errorf("target %q has no port: write HOST:PORT or give -p PORTS", arg)
	}
	return hp, nil
}

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// family narrows name resolution: "ip", "ip4" or "ip6".
func resolve(ctx context.Context, r Resolver, host, family string, all bool) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.Zone() != "" {
			return nil, fmt.Errorf("address %q: zones are not supported; use --interface", host)
		}
		if (family == "ip4" && !a.Is4()) || (family == "ip6" && !a.Is6()) {
			return nil, fmt.Errorf("address %s does not match -%s: drop -%s or give an IPv%s address", a, family[2:], family[2:], family[2:])
		}
		return []netip.Addr{a}, nil
	}
	addrs, err := r.LookupNetIP(ctx, family, host)
	if err != nil {
		if de, ok := err.(*net.DNSError); ok && de.IsNotFound {
			return nil, fmt.Errorf("cannot resolve %q: no such host: check the name, or give an IP address", host)
		}
		return nil, fmt.Errorf("cannot resolve %q: %v: check the name and the resolver, or give an IP address", host, err)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("cannot resolve %q: no %s address", host, map[string]string{"ip": "IP", "ip4": "IPv4", "ip6": "IPv6"}[family])
	}
	if !all {
		// Prefer IPv4 then IPv6 in the resolver's order, like most clients'
		// first choice; -6 / -4 narrow it.
		sort.SliceStable(addrs, func(i, j int) bool { return addrs[i].Is4() && !addrs[j].Is4() })
		addrs = addrs[:1]
	}
	return addrs, nil
}

// spec is one target as written, on the command line or in a target file,
// with the expectation attached to it.
type spec struct {
	arg    string // HOST:PORT, [IPv6]:PORT or HOST
	expect string // "" for the run's --expect
	where  string // "file:line: " for targets from a file, else ""
}

// ParseTargetFile reads a target file: one target per line (HOST:PORT,
// [IPv6]:PORT, or HOST when -p is given), optionally followed by
// expect=OUTCOME; '#' starts a comment; blank lines are skipped. name is
// used in error messages.
func ParseTargetFile(r io.Reader, name string) ([]spec, error) {
	var out []spec
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		sp := spec{arg: fields[0], where: fmt.Sprintf("%s:%d: ", name, line)}
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(f, "=")
			if !ok || k != "expect" {
				return nil, fmt.Errorf("%s:%d: unknown field %q after the target: the only one is expect=open|refused|unreachable|timeout|closed", name, line, f)
			}
			if _, err := report.ParseExpect(v); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", name, line, err)
			}
			sp.expect = v
		}
		out = append(out, sp)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading target file %s: %v", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("target file %s has no targets: write one HOST:PORT per line ('#' starts a comment)", name)
	}
	return out, nil
}

// expand turns target specs into probe targets: ports expanded, names
// resolved, duplicates dropped (the first keeps its place and its
// expectation). expect is the run's --expect, for specs without their own.
func expand(ctx context.Context, r Resolver, specs []spec, ports []uint16, family string, all bool, expect string) ([]probe.Target, error) {
	var out []probe.Target
	// Duplicates can only come from a second spec or a second address of
	// one name (a port list has none): the set is kept only then, so a
	// single HOST -p 1-65535 pays for no map.
	var seen map[netip.AddrPort]struct{}
	var name []byte
	for si, sp := range specs {
		hp, err := splitTarget(sp.arg, ports)
		if err != nil {
			return nil, fmt.Errorf("%s%v", sp.where, err)
		}
		addrs, err := resolve(ctx, r, hp.host, family, all)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%s%v", sp.where, err)
		}
		e := expect
		if sp.expect != "" {
			e = sp.expect
		}
		if seen == nil && (si > 0 || len(addrs) > 1) {
			seen = make(map[netip.AddrPort]struct{}, len(out)+len(addrs)*len(hp.ports))
			for _, t := range out {
				seen[t.Addr] = struct{}{}
			}
		}
		if out == nil {
			out = make([]probe.Target, 0, len(addrs)*len(hp.ports))
		}
		prefix := len(net.JoinHostPort(hp.host, ""))
		name = append(name[:0], net.JoinHostPort(hp.host, "")...)
		for _, a := range addrs {
			for _, p := range hp.ports {
				ap := netip.AddrPortFrom(a, p)
				if seen != nil {
					if _, dup := seen[ap]; dup {
						continue
					}
					seen[ap] = struct{}{}
				}
				name = strconv.AppendUint(name[:prefix], uint64(p), 10)
				out = append(out, probe.Target{Name: string(name), Addr: ap, Expect: e})
			}
		}
	}
	return out, nil
}
