package targets

import (
	"net/netip"
	"slices"
)

// Exclude is the set of destinations --exclude and --exclude-file leave
// out: addresses for every port (kept as merged, sorted spans per family,
// so a prefix costs one entry) and address:port pairs.
type Exclude struct {
	v4, v6 []span                      // every port; merged, sorted by lo
	pairs  map[netip.AddrPort]struct{} // one address, one port
	ported []portedSpan                // a set of addresses on some ports
	addrs  int                         // entries added, for empty()
}

// portedSpan is a span of addresses excluded on some ports only.
type portedSpan struct {
	span
	ports map[uint16]struct{}
}

func (e *Exclude) empty() bool { return e == nil || e.addrs == 0 }

// add leaves out every address of set on ports (nil: every port).
func (e *Exclude) add(set addrSet, ports []uint16) {
	e.addrs++
	var spans []span
	switch s := set.(type) {
	case single:
		a := s.a.WithZone("")
		spans = []span{{lo: toU128(a), hi: toU128(a), v4: a.Is4()}}
	case spanSet:
		spans = []span{s.span}
	case octets:
		spans = s.spans()
	}
	if ports == nil {
		for _, sp := range spans {
			if sp.v4 {
				e.v4 = append(e.v4, sp)
			} else {
				e.v6 = append(e.v6, sp)
			}
		}
		e.v4, e.v6 = mergeSpans(e.v4), mergeSpans(e.v6)
		return
	}
	if s, ok := set.(single); ok {
		if e.pairs == nil {
			e.pairs = map[netip.AddrPort]struct{}{}
		}
		for _, p := range ports {
			e.pairs[netip.AddrPortFrom(s.a.WithZone(""), p)] = struct{}{}
		}
		return
	}
	pm := make(map[uint16]struct{}, len(ports))
	for _, p := range ports {
		pm[p] = struct{}{}
	}
	for _, sp := range spans {
		e.ported = append(e.ported, portedSpan{sp, pm})
	}
}

// spans lists an octet range as runs of consecutive addresses.
func (o octets) spans() []span {
	var out []span
	o.each(func(a netip.Addr) bool {
		v := toU128(a)
		if n := len(out); n > 0 && out[n-1].hi.inc() == v {
			out[n-1].hi = v
		} else {
			out = append(out, span{lo: v, hi: v, v4: true})
		}
		return true
	})
	return out
}

// mergeSpans sorts s and joins spans that overlap or touch.
func mergeSpans(s []span) []span {
	if len(s) < 2 {
		return s
	}
	slices.SortFunc(s, func(a, b span) int { return a.lo.cmp(b.lo) })
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		if last.hi == (u128{^uint64(0), ^uint64(0)}) || x.lo.cmp(last.hi.inc()) <= 0 {
			if x.hi.cmp(last.hi) > 0 {
				last.hi = x.hi
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

func (e *Exclude) family(v4 bool) []span {
	if v4 {
		return e.v4
	}
	return e.v6
}

// allPorts says a is excluded on every port.
func (e *Exclude) allPorts(a netip.Addr) bool {
	if e.empty() {
		return false
	}
	s := e.family(a.Is4())
	v := toU128(a)
	i, _ := slices.BinarySearchFunc(s, v, func(x span, v u128) int { return x.hi.cmp(v) })
	return i < len(s) && s[i].lo.cmp(v) <= 0
}

// Excluded says the destination a:port is left out.
func (e *Exclude) Excluded(a netip.Addr, port uint16) bool {
	if e.empty() {
		return false
	}
	if e.allPorts(a) {
		return true
	}
	if _, ok := e.pairs[netip.AddrPortFrom(a.WithZone(""), port)]; ok {
		return true
	}
	if len(e.ported) > 0 {
		v := toU128(a)
		for _, p := range e.ported {
			if p.v4 == a.Is4() && p.lo.cmp(v) <= 0 && v.cmp(p.hi) <= 0 {
				if _, ok := p.ports[port]; ok {
					return true
				}
			}
		}
	}
	return false
}

// overlap counts the addresses of s excluded on every port.
func (e *Exclude) overlap(s span) u128 {
	if e.empty() {
		return u128{}
	}
	list := e.family(s.v4)
	i, _ := slices.BinarySearchFunc(list, s.lo, func(x span, v u128) int { return x.hi.cmp(v) })
	var n u128
	for ; i < len(list) && list[i].lo.cmp(s.hi) <= 0; i++ {
		lo, hi := list[i].lo, list[i].hi
		if lo.cmp(s.lo) < 0 {
			lo = s.lo
		}
		if hi.cmp(s.hi) > 0 {
			hi = s.hi
		}
		n = n.add(hi.sub(lo).inc())
	}
	return n
}
