package icmp

import "syscall"

// The tables below are the data behind Linux, BSD44 and Verdict.Reason and
// Verdict.Hard. Each is read first match wins; a message that matches no
// row of a stack's table is Ignore with errno 0. Every row cites where it
// was read; the spec is /work/shared/spec/connect-semantics.md (tcpprobe's
// shared notes), whose tags LNX, BSD44 and FBSD name kernel source trees.

// span matches ICMP types t0..t1 and, within them, codes c0..c1.
type span struct{ t0, t1, c0, c1 uint8 }

func (s span) has(typ, code uint8) bool {
	return s.t0 <= typ && typ <= s.t1 && s.c0 <= code && code <= s.c1
}

// code matches one type and one code.
func code(typ, c uint8) span { return span{typ, typ, c, c} }

// codes matches one type and codes c0..c1.
func codes(typ, c0, c1 uint8) span { return span{typ, typ, c0, c1} }

// anyCode matches one type, every code.
func anyCode(typ uint8) span { return span{typ, typ, 0, 255} }

// types matches types t0..t1, every code.
func types(t0, t1 uint8) span { return span{t0, t1, 0, 255} }

type reasonRule struct {
	span
	reason string
}

type errRule struct {
	span
	errno syscall.Errno
	class Class
}

// ICMPv4 type numbers: RFC 792.
const (
	t4Unreach   = 3
	t4Quench    = 4
	t4Redirect  = 5
	t4TimeExcd  = 11
	t4ParamProb = 12
)

// ICMPv6 type numbers: RFC 4443 §2.1.
const (
	t6Unreach   = 1
	t6TooBig    = 2
	t6TimeExcd  = 3
	t6ParamProb = 4
)

// reasons4 names ICMPv4 error messages. Names: RFC 792 (unreach 0–5, time
// exceeded 0–1), RFC 1122 §3.2.2.1 (unreach 6–12), RFC 1812 §5.2.7.1
// (unreach 13–15). "icmp-time-exceeded-unknown-code" is tcpprobe's own word
// for a time-exceeded code no RFC defines.
var reasons4 = []reasonRule{
	{code(t4Unreach, 0), "icmp-net-unreachable"},
	{code(t4Unreach, 1), "icmp-host-unreachable"},
	{code(t4Unreach, 2), "icmp-protocol-unreachable"},
	{code(t4Unreach, 3), "icmp-port-unreachable"},
	{code(t4Unreach, 4), "icmp-frag-needed"},
	{code(t4Unreach, 5), "icmp-source-route-failed"},
	{code(t4Unreach, 6), "icmp-net-unknown"},
	{code(t4Unreach, 7), "icmp-host-unknown"},
	{code(t4Unreach, 8), "icmp-host-isolated"},
	{code(t4Unreach, 9), "icmp-net-prohibited"},
	{code(t4Unreach, 10), "icmp-host-prohibited"},
	{code(t4Unreach, 11), "icmp-net-tos-unreachable"},
	{code(t4Unreach, 12), "icmp-host-tos-unreachable"},
	{code(t4Unreach, 13), "icmp-admin-prohibited"},
	{code(t4Unreach, 14), "icmp-precedence-violation"},
	{code(t4Unreach, 15), "icmp-precedence-cutoff"},
	{codes(t4Unreach, 16, 255), "icmp-unreachable-unknown-code"},
	{code(t4TimeExcd, 0), "icmp-ttl-exceeded"},
	{code(t4TimeExcd, 1), "icmp-reassembly-timeout"},
	{codes(t4TimeExcd, 2, 255), "icmp-time-exceeded-unknown-code"},
	{anyCode(t4ParamProb), "icmp-parameter-problem"},
	{anyCode(t4Quench), "icmp-source-quench"},
	{anyCode(t4Redirect), "icmp-redirect"},
}

// reasons6 names ICMPv6 error messages. Names: RFC 4443 §3 (unreach 0–4,
// 2 renamed "beyond scope"), RFC 4443 §3.1 (5, 6). The "-unknown-code"
// words for time exceeded are tcpprobe's own.
var reasons6 = []reasonRule{
	{code(t6Unreach, 0), "icmp6-no-route"},
	{code(t6Unreach, 1), "icmp6-admin-prohibited"},
	{code(t6Unreach, 2), "icmp6-beyond-scope"},
	{code(t6Unreach, 3), "icmp6-address-unreachable"},
	{code(t6Unreach, 4), "icmp6-port-unreachable"},
	{code(t6Unreach, 5), "icmp6-policy-failed"},
	{code(t6Unreach, 6), "icmp6-reject-route"},
	{codes(t6Unreach, 7, 255), "icmp6-unreachable-unknown-code"},
	{anyCode(t6TooBig), "icmp6-packet-too-big"},
	{code(t6TimeExcd, 0), "icmp6-hop-limit-exceeded"},
	{code(t6TimeExcd, 1), "icmp6-reassembly-timeout"},
	{codes(t6TimeExcd, 2, 255), "icmp6-time-exceeded-unknown-code"},
	{anyCode(t6ParamProb), "icmp6-parameter-problem"},
	{types(0, 127), "icmp6-unknown-error"}, // any other error type (RFC 4443 §2.1: < 128)
}

// hard4 and hard6: the messages RFC 1122 §4.2.3.9 and RFC 9293 §3.9.2.2
// (SHLD-26) call hard: protocol and port unreachable; ICMPv6 port
// unreachable. Frag-needed, which RFC 1122 also lists, is PathMTU in every
// profile. Everything else is soft (MUST-56) or unclassified (spec §6 item 2).
var (
	hard4 = []span{code(t4Unreach, 2), code(t4Unreach, 3)}
	hard6 = []span{code(t6Unreach, 4)}
)

// linux4: spec §3.1, §3.2.
var linux4 = []errRule{
	// LNX net/ipv4/icmp.c icmp_err_convert[] (type 3 codes 0..15, errno
	// column; the fatal column plays no part in SYN_SENT, spec §3.3).
	// Code 4 is PMTU discovery in tcp_v4_err() and never aborts.
	{code(t4Unreach, 0), syscall.ENETUNREACH, Error},   // NET_UNREACH
	{code(t4Unreach, 1), syscall.EHOSTUNREACH, Error},  // HOST_UNREACH
	{code(t4Unreach, 2), syscall.ENOPROTOOPT, Error},   // PROT_UNREACH
	{code(t4Unreach, 3), syscall.ECONNREFUSED, Error},  // PORT_UNREACH
	{code(t4Unreach, 4), syscall.EMSGSIZE, PathMTU},    // FRAG_NEEDED
	{code(t4Unreach, 5), syscall.EOPNOTSUPP, Error},    // SR_FAILED
	{code(t4Unreach, 6), syscall.ENETUNREACH, Error},   // NET_UNKNOWN
	{code(t4Unreach, 7), syscall.EHOSTDOWN, Error},     // HOST_UNKNOWN
	{code(t4Unreach, 8), errENONET, Error},             // HOST_ISOLATED
	{code(t4Unreach, 9), syscall.ENETUNREACH, Error},   // NET_ANO
	{code(t4Unreach, 10), syscall.EHOSTUNREACH, Error}, // HOST_ANO
	{code(t4Unreach, 11), syscall.ENETUNREACH, Error},  // NET_UNR_TOS
	{code(t4Unreach, 12), syscall.EHOSTUNREACH, Error}, // HOST_UNR_TOS
	{code(t4Unreach, 13), syscall.EHOSTUNREACH, Error}, // PKT_FILTERED
	{code(t4Unreach, 14), syscall.EHOSTUNREACH, Error}, // PREC_VIOLATION
	{code(t4Unreach, 15), syscall.EHOSTUNREACH, Error}, // PREC_CUTOFF
	// LNX net/ipv4/icmp.c icmp_unreach(), tcp_ipv4.c tcp_v4_err():
	// code > NR_ICMP_UNREACH (15) is dropped.
	{codes(t4Unreach, 16, 255), 0, Ignore},
	// LNX tcp_ipv4.c tcp_v4_err(): time exceeded → EHOSTUNREACH whatever the
	// code; icmp.c icmp_unreach() drops reassembly time exceeded (code 1)
	// before TCP sees it (spec §3.2).
	{code(t4TimeExcd, 1), 0, Ignore},
	{anyCode(t4TimeExcd), syscall.EHOSTUNREACH, Error},
	// LNX tcp_ipv4.c tcp_v4_err(): parameter problem → EPROTO; source quench
	// "silently ignore"; redirect updates the route only.
	{anyCode(t4ParamProb), syscall.EPROTO, Error},
	{anyCode(t4Quench), 0, Ignore},
	{anyCode(t4Redirect), 0, Ignore},
}

// linux6: spec §3.4.
var linux6 = []errRule{
	// LNX net/ipv6/icmp.c tab_unreach[] via icmpv6_err_convert(), type 1.
	{code(t6Unreach, 0), syscall.ENETUNREACH, Error},  // NOROUTE
	{code(t6Unreach, 1), syscall.EACCES, Error},       // ADM_PROHIBITED
	{code(t6Unreach, 2), syscall.EHOSTUNREACH, Error}, // NOT_NEIGHBOUR (beyond scope)
	{code(t6Unreach, 3), syscall.EHOSTUNREACH, Error}, // ADDR_UNREACH
	{code(t6Unreach, 4), syscall.ECONNREFUSED, Error}, // PORT_UNREACH
	{code(t6Unreach, 5), syscall.EACCES, Error},       // POLICY_FAIL
	{code(t6Unreach, 6), syscall.EACCES, Error},       // REJECT_ROUTE
	{codes(t6Unreach, 7, 255), syscall.EPROTO, Error}, // past tab_unreach[]: icmpv6_err_convert() default
	// LNX net/ipv6/tcp_ipv6.c tcp_v6_err(): PKT_TOOBIG is PMTU handling, no
	// abort (icmpv6_err_convert() says EMSGSIZE).
	{anyCode(t6TooBig), syscall.EMSGSIZE, PathMTU},
	// LNX net/ipv6/icmp.c icmpv6_err_convert(): TIME_EXCEED → EHOSTUNREACH
	// (both codes: no reassembly filter as on IPv4, spec §3.4), PARAMPROB
	// → EPROTO, any other type → EPROTO. icmpv6_rcv() hands every unknown
	// type < 128 to icmpv6_notify().
	{anyCode(t6TimeExcd), syscall.EHOSTUNREACH, Error},
	{anyCode(t6ParamProb), syscall.EPROTO, Error},
	{types(0, 127), syscall.EPROTO, Error},
}

// bsd44v4: spec §3.5.1. BSD44 sys/netinet/ip_icmp.c icmp_input() maps the
// code to a PRC_* command (unknown codes "goto badcode", ignored);
// ip_input.c inetctlerrmap[] maps the command to an errno; tcp_subr.c
// tcp_ctlinput() ignores commands that map to 0 and hands quench to
// tcp_quench (slow start, no error).
var bsd44v4 = []errRule{
	{code(t4Unreach, 0), syscall.EHOSTUNREACH, Error},      // PRC_UNREACH_NET
	{code(t4Unreach, 1), syscall.EHOSTUNREACH, Error},      // PRC_UNREACH_HOST
	{code(t4Unreach, 2), syscall.ECONNREFUSED, Error},      // PRC_UNREACH_PROTOCOL
	{code(t4Unreach, 3), syscall.ECONNREFUSED, Error},      // PRC_UNREACH_PORT
	{code(t4Unreach, 4), syscall.EMSGSIZE, Error},          // PRC_MSGSIZE: a soft error, 4.4BSD has no PMTU discovery
	{code(t4Unreach, 5), syscall.EHOSTUNREACH, Error},      // PRC_UNREACH_SRCFAIL
	{code(t4Unreach, 6), syscall.EHOSTUNREACH, Error},      // NET_UNKNOWN → PRC_UNREACH_NET
	{code(t4Unreach, 7), syscall.EHOSTUNREACH, Error},      // HOST_UNKNOWN → PRC_UNREACH_HOST
	{code(t4Unreach, 8), syscall.EHOSTUNREACH, Error},      // ISOLATED → PRC_UNREACH_HOST
	{code(t4Unreach, 9), syscall.EHOSTUNREACH, Error},      // NET_PROHIB → PRC_UNREACH_NET
	{code(t4Unreach, 10), syscall.EHOSTUNREACH, Error},     // HOST_PROHIB → PRC_UNREACH_HOST
	{code(t4Unreach, 11), syscall.EHOSTUNREACH, Error},     // TOSNET → PRC_UNREACH_NET
	{code(t4Unreach, 12), syscall.EHOSTUNREACH, Error},     // TOSHOST → PRC_UNREACH_HOST
	{codes(t4Unreach, 13, 255), 0, Ignore},                 // badcode (13–15 postdate 4.4BSD)
	{anyCode(t4TimeExcd), 0, Ignore},                       // PRC_TIMXCEED_*: inetctlerrmap 0; codes > 1 badcode
	{codes(t4ParamProb, 0, 1), syscall.ENOPROTOOPT, Error}, // PRC_PARAMPROB
	{anyCode(t4ParamProb), 0, Ignore},                      // codes > 1: badcode
	{anyCode(t4Quench), 0, Ignore},                         // PRC_QUENCH: tcp_quench, slow start only
	{anyCode(t4Redirect), 0, Ignore},                       // rtredirect + in_rtchange, no error
}

// bsd6: spec §3.5.2, standing in for 4.4BSD, which has no IPv6. FBSD
// sys/netinet6/icmp6.c icmp6_input() sends unknown codes of types 1, 3, 4
// to badcode (ignored) and delivers unknown error types; icmp6_errmap()
// gives the errno, 0 meaning ignored; tcp6_ctlinput_with_port() turns
// EMSGSIZE into PMTU handling.
var bsd6 = []errRule{
	{code(t6Unreach, 0), syscall.EHOSTUNREACH, Error}, // NOROUTE
	{code(t6Unreach, 1), syscall.ECONNREFUSED, Error}, // ADMIN
	{code(t6Unreach, 2), syscall.ENOPROTOOPT, Error},  // BEYONDSCOPE
	{code(t6Unreach, 3), syscall.EHOSTUNREACH, Error}, // ADDR
	{code(t6Unreach, 4), syscall.ECONNREFUSED, Error}, // NOPORT
	{codes(t6Unreach, 5, 255), 0, Ignore},             // badcode
	{anyCode(t6TooBig), syscall.EMSGSIZE, PathMTU},
	{code(t6TimeExcd, 0), syscall.EHOSTUNREACH, Error},  // TRANSIT
	{anyCode(t6TimeExcd), 0, Ignore},                    // REASSEMBLY → 0; others badcode
	{code(t6ParamProb, 0), syscall.ENOPROTOOPT, Error},  // HEADER
	{code(t6ParamProb, 1), syscall.ECONNREFUSED, Error}, // NEXTHEADER
	{code(t6ParamProb, 2), syscall.ENOPROTOOPT, Error},  // OPTION
	{anyCode(t6ParamProb), 0, Ignore},                   // badcode
	// Unknown error types: icmp6_errmap() default → 0, ignored (no row).
}
