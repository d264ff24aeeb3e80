package kconnect

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// recvErrCmsg builds one IP_RECVERR / IPV6_RECVERR control message.
func recvErrCmsg(v6 bool, origin, typ, code uint8, from netip.Addr) []byte {
	data := make([]byte, extErrLen)
	binary.NativeEndian.PutUint32(data[0:], 113) // ee_errno: EHOSTUNREACH
	data[4] = origin                             // ee_origin
	data[5], data[6] = typ, code                 // ee_type, ee_code
	if from.Is4() {
		sa := make([]byte, 16)                        // struct sockaddr_in
		binary.NativeEndian.PutUint16(sa[0:], afInet) // sin_family
		copy(sa[4:8], from.AsSlice())                 // sin_addr
		data = append(data, sa...)
	} else if from.IsValid() {
		sa := make([]byte, 28)                         // struct sockaddr_in6
		binary.NativeEndian.PutUint16(sa[0:], afInet6) // sin6_family
		copy(sa[8:24], from.AsSlice())                 // sin6_addr
		data = append(data, sa...)
	}
	if v6 {
		return cmsg(unix.SOL_IPV6, unix.IPV6_RECVERR, data)
	}
	return cmsg(unix.SOL_IP, unix.IP_RECVERR, data)
}

// cmsg is one control message: struct cmsghdr, data, padding.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestParseRecvErr(t *testing.T) {
	router := netip.MustParseAddr("198.18.1.1")
	router6 := netip.MustParseAddr("fd00:1::1")
	other := func() []byte { return cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, make([]byte, 16)) }
	tests := []struct {
		name string
		oob  []byte
		want icmpError
		ok   bool
	}{
		{"v4 host unreachable", recvErrCmsg(false, originICMP, 3, 1, router), icmpError{Type: 3, Code: 1, From: router}, true},
		{"v6 address unreachable", recvErrCmsg(true, originICMP6, 1, 3, router6), icmpError{V6: true, Type: 1, Code: 3, From: router6}, true},
		{"after another message", append(other(), recvErrCmsg(false, originICMP, 3, 13, router)...), icmpError{Type: 3, Code: 13, From: router}, true},
		{"no offender", recvErrCmsg(false, originICMP, 3, 3, netip.Addr{}), icmpError{Type: 3, Code: 3}, true},
		{"local origin", recvErrCmsg(false, 1, 0, 0, router), icmpError{}, false},
		{"truncated", recvErrCmsg(false, originICMP, 3, 1, router)[:20], icmpError{}, false},
		{"empty", nil, icmpError{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseRecvErr(tt.oob)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseRecvErr: no control-message bytes make the parser panic.
func FuzzParseRecvErr(f *testing.F) {
	f.Add(recvErrCmsg(false, originICMP, 3, 1, netip.MustParseAddr("198.18.1.1")))
	f.Add(recvErrCmsg(true, originICMP6, 1, 4, netip.MustParseAddr("fd00:1::1")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, oob []byte) {
		if e, ok := parseRecvErr(oob); ok && e.From.IsValid() && e.From.Zone() != "" {
			t.Errorf("offender %v has a zone", e.From)
		}
	})
}
