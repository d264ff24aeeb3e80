package probe

import "net/netip"

// tuple is a probe's 4-tuple, from our side.
type tuple struct {
	local, remote netip.Addr
	lport, rport  uint16
}

// demuxKey is a 4-tuple as the demultiplexer keys it: 38 bytes without
// pointers or padding, hashed and compared as one block of memory (a
// tuple, with netip.Addr's zone pointer and padding, takes a field-by-field
// hash). v6 keeps an IPv4 address apart from its IPv4-mapped IPv6 twin;
// zones play no part (a probe's link fixes its interface).
type demuxKey struct {
	local, remote [16]byte
	lport, rport  uint16
	v6            uint16 // 1 for IPv6
}

func (t tuple) demux() demuxKey {
	k := demuxKey{local: t.local.As16(), remote: t.remote.As16(), lport: t.lport, rport: t.rport}
	if t.local.Is6() {
		k.v6 = 1
	}
	return k
}
