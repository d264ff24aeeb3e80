package icmp

import (
	"strconv"
	"syscall"
)

// Class says what a message means to a connection in SYN_SENT.
type Class uint8

const (
	// Ignore: dropped before TCP acts on it (e.g. v4 unreach code > 15,
	// reassembly time exceeded, quench, redirect).
	Ignore Class = iota
	// PathMTU: frag-needed / packet-too-big: PMTU information, never ends a
	// SYN_SENT attempt.
	PathMTU
	// Error: an error that TCP in SYN_SENT acts on. Whether it ends the
	// attempt at once or is saved as a soft error is the profile's choice
	// (spec §3.3 for Linux, §3.5.1 for 4.4BSD, Verdict.Hard for RFC 1122).
	Error
)

// String returns the class's machine word: "ignore", "path-mtu" or "error".
func (c Class) String() string {
	switch c {
	case Ignore:
		return "ignore"
	case PathMTU:
		return "path-mtu"
	case Error:
		return "error"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Verdict is the meaning of one message under one stack's semantics.
type Verdict struct {
	Class Class
	// Errno is the errno connect() would report (also set for PathMTU:
	// EMSGSIZE); 0 when Class is Ignore.
	Errno syscall.Errno
	// Reason is a stable machine word naming the message, e.g.
	// "icmp-net-unreachable". It is the same for every stack: it names the
	// message, not the errno.
	Reason string
	// Hard reports RFC 1122 §4.2.3.9 / RFC 9293 §3.9.2.2 hardness: protocol
	// and port unreachable (v4 codes 2, 3; v6 code 4) are hard, everything
	// else soft. Used by tcpprobe's classic profile. Same for every stack.
	Hard bool
}

// Linux returns m's meaning under current Linux semantics (spec §3.1, §3.2,
// §3.4): every message it delivers to TCP aborts SYN_SENT at once (§3.3),
// except frag-needed and packet-too-big (PathMTU). Unknown ICMPv6 error
// types (< 128) give EPROTO.
func Linux(m *Message) Verdict {
	if m.V6 {
		return verdict(m, linux6)
	}
	return verdict(m, linux4)
}

// BSD44 returns m's meaning under 4.4BSD-Lite2 semantics (spec §3.5.1):
// every Error is soft there, saved and reported at the 75 s give-up in place
// of ETIMEDOUT. 4.4BSD frag-needed is Error with EMSGSIZE, not PathMTU: it has
// no PMTU discovery and saves EMSGSIZE as a soft error (spec §4).
//
// 4.4BSD has no IPv6. For ICMPv6 BSD44 uses FreeBSD's icmp6_input code
// filter and icmp6_errmap() errnos (spec §3.5.2), its direct descendant, with
// packet-too-big as PathMTU and every error that maps to 0 as Ignore.
func BSD44(m *Message) Verdict {
	if m.V6 {
		return verdict(m, bsd6)
	}
	return verdict(m, bsd44v4)
}

// verdict looks m up in a stack's table and in the shared reason and
// hardness tables.
func verdict(m *Message, tab []errRule) Verdict {
	v := Verdict{Reason: reason(m)}
	for _, r := range hardRules(m.V6) {
		if r.has(m.Type, m.Code) {
			v.Hard = true
			break
		}
	}
	for _, r := range tab {
		if r.has(m.Type, m.Code) {
			v.Class, v.Errno = r.class, r.errno
			break
		}
	}
	return v
}

func reason(m *Message) string {
	tab, fallback := reasons4, "icmp-not-error"
	if m.V6 {
		tab, fallback = reasons6, "icmp6-not-error"
	}
	for _, r := range tab {
		if r.has(m.Type, m.Code) {
			return r.reason
		}
	}
	return fallback
}

func hardRules(v6 bool) []span {
	if v6 {
		return hard6
	}
	return hard4
}
