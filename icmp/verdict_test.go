package icmp

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cls is a class and errno pair, the stack-dependent half of a Verdict.
type cls struct {
	c Class
	e syscall.Errno
}

var ignore = cls{Ignore, 0}

func errc(e syscall.Errno) cls { return cls{Error, e} }

// TestVerdicts restates spec §3.1, §3.2, §3.4, §3.5.1, §3.5.2 and §4 row by
// row, written from the spec, not from tables.go.
func TestVerdicts(t *testing.T) {
	const (
		ENETUNREACH  = syscall.ENETUNREACH
		EHOSTUNREACH = syscall.EHOSTUNREACH
		ENOPROTOOPT  = syscall.ENOPROTOOPT
		ECONNREFUSED = syscall.ECONNREFUSED
		EMSGSIZE     = syscall.EMSGSIZE
		EOPNOTSUPP   = syscall.EOPNOTSUPP
		EHOSTDOWN    = syscall.EHOSTDOWN
		EACCES       = syscall.EACCES
		EPROTO       = syscall.EPROTO
		ENONET       = errENONET
	)
	pmtu := cls{PathMTU, EMSGSIZE}
	tests := []struct {
		v6         bool
		typ, code  uint8
		reason     string
		hard       bool
		linux, bsd cls
	}{
		// ICMPv4 destination unreachable: Linux §3.1 icmp_err_convert[],
		// 4.4BSD §3.5.1 (PRC_UNREACH_NET → EHOSTUNREACH, §6 item 6), §4.
		{false, 3, 0, "icmp-net-unreachable", false, errc(ENETUNREACH), errc(EHOSTUNREACH)},
		{false, 3, 1, "icmp-host-unreachable", false, errc(EHOSTUNREACH), errc(EHOSTUNREACH)},
		{false, 3, 2, "icmp-protocol-unreachable", true, errc(ENOPROTOOPT), errc(ECONNREFUSED)},
		{false, 3, 3, "icmp-port-unreachable", true, errc(ECONNREFUSED), errc(ECONNREFUSED)},
		{false, 3, 4, "icmp-frag-needed", false, pmtu, errc(EMSGSIZE)}, // §4: Linux PMTU, 4.4BSD EMSGSIZE soft→75
		{false, 3, 5, "icmp-source-route-failed", false, errc(EOPNOTSUPP), errc(EHOSTUNREACH)},
		{false, 3, 6, "icmp-net-unknown", false, errc(ENETUNREACH), errc(EHOSTUNREACH)},
		{false, 3, 7, "icmp-host-unknown", false, errc(EHOSTDOWN), errc(EHOSTUNREACH)},
		{false, 3, 8, "icmp-host-isolated", false, errc(ENONET), errc(EHOSTUNREACH)},
		{false, 3, 9, "icmp-net-prohibited", false, errc(ENETUNREACH), errc(EHOSTUNREACH)},    // §6 item 5: not EACCES
		{false, 3, 10, "icmp-host-prohibited", false, errc(EHOSTUNREACH), errc(EHOSTUNREACH)}, // §6 item 5
		{false, 3, 11, "icmp-net-tos-unreachable", false, errc(ENETUNREACH), errc(EHOSTUNREACH)},
		{false, 3, 12, "icmp-host-tos-unreachable", false, errc(EHOSTUNREACH), errc(EHOSTUNREACH)},
		{false, 3, 13, "icmp-admin-prohibited", false, errc(EHOSTUNREACH), ignore}, // §6 item 5; 4.4BSD badcode
		{false, 3, 14, "icmp-precedence-violation", false, errc(EHOSTUNREACH), ignore},
		{false, 3, 15, "icmp-precedence-cutoff", false, errc(EHOSTUNREACH), ignore},
		{false, 3, 16, "icmp-unreachable-unknown-code", false, ignore, ignore}, // §2.3 rule 1, §6 item 11
		{false, 3, 255, "icmp-unreachable-unknown-code", false, ignore, ignore},
		// ICMPv4 other types: Linux §3.2, 4.4BSD §3.5.1.
		{false, 11, 0, "icmp-ttl-exceeded", false, errc(EHOSTUNREACH), ignore},
		{false, 11, 1, "icmp-reassembly-timeout", false, ignore, ignore},
		{false, 11, 2, "icmp-time-exceeded-unknown-code", false, errc(EHOSTUNREACH), ignore},
		{false, 12, 0, "icmp-parameter-problem", false, errc(EPROTO), errc(ENOPROTOOPT)},
		{false, 12, 1, "icmp-parameter-problem", false, errc(EPROTO), errc(ENOPROTOOPT)},
		{false, 12, 2, "icmp-parameter-problem", false, errc(EPROTO), ignore}, // 4.4BSD: code > 1 badcode
		{false, 4, 0, "icmp-source-quench", false, ignore, ignore},
		{false, 5, 0, "icmp-redirect", false, ignore, ignore},
		{false, 5, 1, "icmp-redirect", false, ignore, ignore},
		{false, 8, 0, "icmp-not-error", false, ignore, ignore}, // echo request, were it passed in
		{false, 0, 0, "icmp-not-error", false, ignore, ignore},
		// ICMPv6: Linux §3.4 tab_unreach[]/icmpv6_err_convert(); BSD44 uses
		// FreeBSD's icmp6_errmap() (§3.5.2, §4 FreeBSD column).
		{true, 1, 0, "icmp6-no-route", false, errc(ENETUNREACH), errc(EHOSTUNREACH)},
		{true, 1, 1, "icmp6-admin-prohibited", false, errc(EACCES), errc(ECONNREFUSED)}, // §6 item 5
		{true, 1, 2, "icmp6-beyond-scope", false, errc(EHOSTUNREACH), errc(ENOPROTOOPT)},
		{true, 1, 3, "icmp6-address-unreachable", false, errc(EHOSTUNREACH), errc(EHOSTUNREACH)},
		{true, 1, 4, "icmp6-port-unreachable", true, errc(ECONNREFUSED), errc(ECONNREFUSED)},
		{true, 1, 5, "icmp6-policy-failed", false, errc(EACCES), ignore},
		{true, 1, 6, "icmp6-reject-route", false, errc(EACCES), ignore},
		{true, 1, 7, "icmp6-unreachable-unknown-code", false, errc(EPROTO), ignore},
		{true, 1, 255, "icmp6-unreachable-unknown-code", false, errc(EPROTO), ignore},
		{true, 2, 0, "icmp6-packet-too-big", false, pmtu, pmtu}, // §6 item 11: never aborts
		{true, 3, 0, "icmp6-hop-limit-exceeded", false, errc(EHOSTUNREACH), errc(EHOSTUNREACH)},
		{true, 3, 1, "icmp6-reassembly-timeout", false, errc(EHOSTUNREACH), ignore}, // §3.4: no v6 reassembly filter on Linux
		{true, 3, 2, "icmp6-time-exceeded-unknown-code", false, errc(EHOSTUNREACH), ignore},
		{true, 4, 0, "icmp6-parameter-problem", false, errc(EPROTO), errc(ENOPROTOOPT)},
		{true, 4, 1, "icmp6-parameter-problem", false, errc(EPROTO), errc(ECONNREFUSED)}, // next header
		{true, 4, 2, "icmp6-parameter-problem", false, errc(EPROTO), errc(ENOPROTOOPT)},
		{true, 4, 3, "icmp6-parameter-problem", false, errc(EPROTO), ignore},
		{true, 0, 0, "icmp6-unknown-error", false, errc(EPROTO), ignore}, // §6 item 11: unknown error type → EPROTO
		{true, 5, 0, "icmp6-unknown-error", false, errc(EPROTO), ignore},
		{true, 127, 9, "icmp6-unknown-error", false, errc(EPROTO), ignore},
		{true, 128, 0, "icmp6-not-error", false, ignore, ignore},
		{true, 137, 0, "icmp6-not-error", false, ignore, ignore},
	}
	for _, tt := range tests {
		fam := "v4"
		if tt.v6 {
			fam = "v6"
		}
		t.Run(fmt.Sprintf("%s/%d/%d/%s", fam, tt.typ, tt.code, tt.reason), func(t *testing.T) {
			m := &Message{V6: tt.v6, Type: tt.typ, Code: tt.code}
			wantL := Verdict{Class: tt.linux.c, Errno: tt.linux.e, Reason: tt.reason, Hard: tt.hard}
			if diff := cmp.Diff(wantL, Linux(m)); diff != "" {
				t.Errorf("Linux mismatch (-want +got):\n%s", diff)
			}
			wantB := Verdict{Class: tt.bsd.c, Errno: tt.bsd.e, Reason: tt.reason, Hard: tt.hard}
			if diff := cmp.Diff(wantB, BSD44(m)); diff != "" {
				t.Errorf("BSD44 mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVerdictInvariants checks every type/code pair of both families:
// Ignore has errno 0, PathMTU has EMSGSIZE, Error has a non-zero errno,
// only the RFC 1122 hard codes are Hard, and every error type has a
// reason other than the not-error fallback.
func TestVerdictInvariants(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for typ := 0; typ < 256; typ++ {
			for code := 0; code < 256; code++ {
				m := &Message{V6: v6, Type: uint8(typ), Code: uint8(code)}
				for name, f := range map[string]func(*Message) Verdict{"Linux": Linux, "BSD44": BSD44} {
					v := f(m)
					where := fmt.Sprintf("%s v6=%v %d/%d", name, v6, typ, code)
					switch v.Class {
					case Ignore:
						if v.Errno != 0 {
							t.Errorf("%s: Ignore with errno %v", where, v.Errno)
						}
					case PathMTU:
						if v.Errno != syscall.EMSGSIZE {
							t.Errorf("%s: PathMTU with errno %v", where, v.Errno)
						}
					case Error:
						if v.Errno == 0 {
							t.Errorf("%s: Error without errno", where)
						}
					default:
						t.Errorf("%s: class %v", where, v.Class)
					}
					wantHard := (!v6 && typ == 3 && (code == 2 || code == 3)) || (v6 && typ == 1 && code == 4)
					if v.Hard != wantHard {
						t.Errorf("%s: Hard = %v", where, v.Hard)
					}
					isErr := isError(uint8(typ), v6)
					if notErr := v.Reason == "icmp-not-error" || v.Reason == "icmp6-not-error"; notErr == isErr {
						t.Errorf("%s: reason %q for isError=%v", where, v.Reason, isErr)
					}
					if !isErr && v.Class != Ignore {
						t.Errorf("%s: non-error type classed %v", where, v.Class)
					}
				}
			}
		}
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Ignore: "ignore", PathMTU: "path-mtu", Error: "error", 7: "class(7)"} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q, want %q", c, got, want)
		}
	}
}
