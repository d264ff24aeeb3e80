package kconnect

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Layout of struct sock_extended_err and its origins (linux/errqueue.h).
const (
	extErrLen   = 16 // errno u32, origin u8, type u8, code u8, pad u8, info u32, data u32
	originICMP  = unix.SO_EE_ORIGIN_ICMP
	originICMP6 = unix.SO_EE_ORIGIN_ICMP6
	afInet      = unix.AF_INET
	afInet6     = unix.AF_INET6
)

// parseRecvErr reads the first ICMP extended error in the control
// messages oob of a recvmsg(MSG_ERRQUEUE) (IP_RECVERR or IPV6_RECVERR):
// struct sock_extended_err, then the offender's sockaddr_in or
// sockaddr_in6 (SO_EE_OFFENDER). It reports false when no ICMP error is
// there.
func parseRecvErr(oob []byte) (icmpError, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return icmpError{}, false
	}
	for _, m := range msgs {
		h := m.Header
		if (h.Level == unix.SOL_IP && h.Type == unix.IP_RECVERR) || (h.Level == unix.SOL_IPV6 && h.Type == unix.IPV6_RECVERR) {
			if e, ok := parseExtErr(m.Data); ok {
				return e, true
			}
		}
	}
	return icmpError{}, false
}

// parseExtErr reads struct sock_extended_err (errno u32, origin u8, type
// u8, code u8, pad u8, info u32, data u32) and the offender after it.
func parseExtErr(b []byte) (icmpError, bool) {
	if len(b) < extErrLen {
		return icmpError{}, false
	}
	var e icmpError
	switch b[4] {
	case originICMP:
	case originICMP6:
		e.V6 = true
	default:
		return icmpError{}, false
	}
	e.Type, e.Code = b[5], b[6]
	off := b[extErrLen:]
	if len(off) >= 2 {
		switch binary.NativeEndian.Uint16(off[0:2]) {
		case afInet:
			if len(off) >= 8 {
				e.From = netip.AddrFrom4([4]byte(off[4:8]))
			}
		case afInet6:
			if len(off) >= 24 {
				e.From = netip.AddrFrom16([16]byte(off[8:24])).Unmap()
			}
		}
	}
	return e, true
}

// readRecvErr reads the ICMP error the socket's error queue holds, if any.
func readRecvErr(fd int) (*icmpError, bool) {
	var buf [64]byte
	var oob [256]byte
	_, oobn, _, _, err := unix.Recvmsg(fd, buf[:], oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	if err != nil {
		return nil, false
	}
	e, ok := parseRecvErr(oob[:oobn])
	if !ok {
		return nil, false
	}
	return &e, true
}
