package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
)

// Fleet is the address space of scripts/bench-fleet.sh: one port on every
// address of an IPv4 prefix, the addresses of Open answering SYN-ACK and
// every other one RST. States are indexed by an address's offset in Prefix.
type Fleet struct {
	Prefix netip.Prefix // every address swept, /16 or longer
	Open   netip.Prefix // the addresses that are open; the rest are closed
}

// NewFleet parses the swept prefix and the open part of it.
func NewFleet(prefix, open string) (Fleet, error) {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return Fleet{}, fmt.Errorf("fleet prefix: %w", err)
	}
	o, err := netip.ParsePrefix(open)
	if err != nil {
		return Fleet{}, fmt.Errorf("fleet open prefix: %w", err)
	}
	if !p.Addr().Is4() || p.Bits() < 16 {
		return Fleet{}, fmt.Errorf("fleet prefix %s: want an IPv4 prefix of /16 or longer", p)
	}
	return Fleet{Prefix: p.Masked(), Open: o.Masked()}, nil
}

// Size is the number of addresses in the prefix.
func (f Fleet) Size() int { return 1 << (32 - f.Prefix.Bits()) }

// index is a's offset in the prefix, or -1 outside it.
func (f Fleet) index(a netip.Addr) int {
	if !f.Prefix.Contains(a) {
		return -1
	}
	b, base := a.As4(), f.Prefix.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	w := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	return int(v - w)
}

// addr is the address at offset i of the prefix.
func (f Fleet) addr(i int) netip.Addr {
	b := f.Prefix.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) + uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// set records s for the address text a; a host seen open once stays open
// (a tool may report a host twice, e.g. a late SYN-ACK after a RST).
func (f Fleet) set(st []State, a string, s State) error {
	addr, err := netip.ParseAddr(strings.TrimSpace(a))
	if err != nil {
		return fmt.Errorf("bad address %q", a)
	}
	i := f.index(addr)
	if i < 0 {
		return fmt.Errorf("address %s is outside %s", addr, f.Prefix)
	}
	if st[i] != Open {
		st[i] = s
	}
	return nil
}

// ParseTCPProbe reads tcpprobe --ndjson output for the fleet: one object
// per address ("address", "outcome"); summary objects are skipped.
func (f Fleet) ParseTCPProbe(r io.Reader) ([]State, error) {
	st := make([]State, f.Size())
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var res struct {
			Type    string `json:"type"`
			Address string `json:"address"`
			Outcome string `json:"outcome"`
		}
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			return nil, fmt.Errorf("tcpprobe output: %v (run it with --ndjson)", err)
		}
		if res.Type == "summary" {
			continue
		}
		if err := f.set(st, res.Address, tcpprobeState(res.Outcome)); err != nil {
			return nil, fmt.Errorf("tcpprobe output: %v", err)
		}
	}
	return st, sc.Err()
}

// ParseZmap reads zmap CSV output run with -f saddr,classification: a
// header line, then "ADDR,synack" (open) or "ADDR,rst" (closed).
func (f Fleet) ParseZmap(r io.Reader) ([]State, error) {
	st := make([]State, f.Size())
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		a, class, ok := strings.Cut(line, ",")
		if !ok || a == "saddr" {
			continue
		}
		s := Other
		switch class {
		case "synack":
			s = Open
		case "rst":
			s = Closed
		}
		if err := f.set(st, a, s); err != nil {
			return nil, fmt.Errorf("zmap output: %v", err)
		}
	}
	return st, sc.Err()
}

// ParseNmap reads nmap -oG output: "Host: ADDR ()\tPorts: 80/open/tcp//http///".
func (f Fleet) ParseNmap(r io.Reader) ([]State, error) {
	st := make([]State, f.Size())
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "Host: ")
		if !ok {
			continue
		}
		_, ports, ok := strings.Cut(rest, "Ports: ")
		if !ok {
			continue
		}
		a, _, _ := strings.Cut(rest, " ")
		parts := strings.Split(strings.TrimSpace(ports), "/")
		if len(parts) < 2 {
			return nil, fmt.Errorf("nmap output: %q has no port state", line)
		}
		if err := f.set(st, a, nmapState(parts[1])); err != nil {
			return nil, fmt.Errorf("nmap output: %v", err)
		}
	}
	return st, sc.Err()
}

// ParseMasscan reads masscan -oL output run with --show closed:
// "open tcp 80 ADDR ts" and "closed tcp 80 ADDR ts".
func (f Fleet) ParseMasscan(r io.Reader) ([]State, error) {
	st := make([]State, f.Size())
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || fs[1] != "tcp" {
			continue
		}
		if err := f.set(st, fs[3], nmapState(fs[0])); err != nil {
			return nil, fmt.Errorf("masscan output: %v", err)
		}
	}
	return st, sc.Err()
}

// Score compares states with the truth: addresses in Open are open, the
// rest of the prefix closed. It returns how many were classified right and
// a line that counts the wrong ones by kind and names up to five of each,
// e.g. "3 open as unreported (198.19.0.7 ...)".
func (f Fleet) Score(st []State) (right int, wrong string) {
	type kind struct{ got, want State }
	count := map[kind]int{}
	examples := map[kind][]string{}
	for i := range f.Size() {
		a := f.addr(i)
		want := Closed
		if f.Open.Contains(a) {
			want = Open
		}
		got := Unknown
		if i < len(st) {
			got = st[i]
		}
		if got == want {
			right++
			continue
		}
		k := kind{got, want}
		count[k]++
		if len(examples[k]) < 5 {
			examples[k] = append(examples[k], a.String())
		}
	}
	var parts []string
	for k, n := range count {
		parts = append(parts, fmt.Sprintf("%d %s as %s (%s)", n, k.want, k.got, strings.Join(examples[k], " ")))
	}
	sort.Strings(parts)
	return right, strings.Join(parts, "; ")
}
