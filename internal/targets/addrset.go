package targets

import (
	"math"
	"math/bits"
	"net/netip"
)

// u128 is an unsigned 128-bit number: an IPv6 address as an integer, or a
// count of addresses.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func (a u128) sub(b u128) u128 {
	lo, c := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func (a u128) inc() u128 { return a.add(u128{0, 1}) }

// toU128 returns a as an integer in its family's space (IPv4 in the low
// 32 bits); the zone is dropped.
func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var v u128
	for i := 0; i < 8; i++ {
		v.hi = v.hi<<8 | uint64(b[i])
		v.lo = v.lo<<8 | uint64(b[8+i])
	}
	return v
}

// fromU128 is the inverse of toU128 for the family v4 says.
func fromU128(v u128, v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte{byte(v.lo >> 24), byte(v.lo >> 16), byte(v.lo >> 8), byte(v.lo)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[7-i] = byte(v.hi >> (8 * i))
		b[15-i] = byte(v.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// span is the addresses lo..hi of one family, both included.
type span struct {
	lo, hi u128
	v4     bool
}

func (s span) size() u128 { return s.hi.sub(s.lo).inc() }

// prefixSpan is every address of p, network and broadcast included.
func prefixSpan(p netip.Prefix) span {
	p = p.Masked()
	lo := toU128(p.Addr())
	host := p.Addr().BitLen() - p.Bits()
	var mask u128
	switch {
	case host >= 128:
		mask = u128{math.MaxUint64, math.MaxUint64}
	case host >= 64:
		mask = u128{1<<(host-64) - 1, math.MaxUint64}
	default:
		mask = u128{0, 1<<host - 1}
	}
	return span{lo: lo, hi: u128{lo.hi | mask.hi, lo.lo | mask.lo}, v4: p.Addr().Is4()}
}

// addrSet is a set of addresses a target names, iterated in order.
type addrSet interface {
	// count is the number of addresses in the set, those in ex left out
	// (or an upper bound where counting them would cost more than it is
	// worth: see Plan.Total).
	count(ex *Exclude) u128
	// each calls yield for every address in order until it returns false.
	each(yield func(netip.Addr) bool) bool
	// v4 says the set is IPv4.
	isV4() bool
}

// single is one address, its zone kept.
type single struct{ a netip.Addr }

func (s single) count(ex *Exclude) u128 {
	if ex.allPorts(s.a) {
		return u128{}
	}
	return u128{0, 1}
}
func (s single) each(yield func(netip.Addr) bool) bool { return yield(s.a) }
func (s single) isV4() bool                            { return s.a.Is4() }

// spanSet is a contiguous range: a prefix or lo-hi.
type spanSet struct{ span }

func (s spanSet) count(ex *Exclude) u128 { return s.size().sub(ex.overlap(s.span)) }
func (s spanSet) isV4() bool             { return s.v4 }
func (s spanSet) each(yield func(netip.Addr) bool) bool {
	for v := s.lo; ; v = v.inc() {
		if !yield(fromU128(v, s.v4)) {
			return false
		}
		if v == s.hi {
			return true
		}
	}
}

// octets is an nmap octet range, 198.18.2-3.1-5: every combination of
// each octet's values, in order.
type octets [4][]byte

// exactOctets is the largest octet range whose exclusions are counted one
// address at a time; a larger one counts them only as an upper bound.
const exactOctets = 1 << 22

func (o octets) size() uint64 {
	n := uint64(1)
	for _, v := range o {
		n *= uint64(len(v))
	}
	return n
}

func (o octets) count(ex *Exclude) u128 {
	n := o.size()
	if ex.empty() || n > exactOctets {
		return u128{0, n}
	}
	o.each(func(a netip.Addr) bool {
		if ex.allPorts(a) {
			n--
		}
		return true
	})
	return u128{0, n}
}

func (o octets) isV4() bool { return true }

func (o octets) each(yield func(netip.Addr) bool) bool {
	for _, a := range o[0] {
		for _, b := range o[1] {
			for _, c := range o[2] {
				for _, d := range o[3] {
					if !yield(netip.AddrFrom4([4]byte{a, b, c, d})) {
						return false
					}
				}
			}
		}
	}
	return true
}
