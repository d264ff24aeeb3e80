package rawsock

import (
	"encoding/binary"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// parseControl reads PACKET_AUXDATA and SCM_TIMESTAMPNS from the control
// messages by hand: unix.ParseSocketControlMessage allocates.
func parseControl(oob []byte) RecvInfo {
	var info RecvInfo
	eachCmsg(oob, func(h *unix.Cmsghdr, data []byte) {
		switch {
		case h.Level == unix.SOL_PACKET && h.Type == unix.PACKET_AUXDATA && len(data) >= int(unsafe.Sizeof(unix.TpacketAuxdata{})):
			aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&data[0]))
			info.ChecksumNotReady = aux.Status&unix.TP_STATUS_CSUMNOTREADY != 0
			info.ChecksumValid = aux.Status&unix.TP_STATUS_CSUM_VALID != 0
			info.VLANValid = aux.Status&unix.TP_STATUS_VLAN_VALID != 0
			info.VLANTCI = aux.Vlan_tci
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(unix.Timespec{})):
			ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			if ts.Sec != 0 || ts.Nsec != 0 {
				info.Time = time.Unix(int64(ts.Sec), int64(ts.Nsec))
			}
		}
	})
	return info
}

// eachCmsg calls fn with each well-formed control message of oob (its
// header and data), in order, stopping at the first malformed one. It does
// not allocate.
func eachCmsg(oob []byte, fn func(h *unix.Cmsghdr, data []byte)) {
	hdr := unix.CmsgLen(0)
	for len(oob) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		clen := int(h.Len)
		if clen < hdr || clen > len(oob) {
			return
		}
		fn(h, oob[hdr:clen])
		next := unix.CmsgSpace(clen - hdr)
		if next > len(oob) {
			return
		}
		oob = oob[next:]
	}
}

// trimIP cuts link-layer padding after the IP packet, as the IP length field
// says. A length field that claims more than is there is left for the parser
// to reject.
func trimIP(p []byte) []byte {
	if len(p) < 1 {
		return p
	}
	switch p[0] >> 4 {
	case 4:
		if len(p) >= 20 {
			if n := int(binary.BigEndian.Uint16(p[2:4])); n >= 20 && n < len(p) {
				return p[:n]
			}
		}
	case 6:
		if len(p) >= 40 {
			if n := 40 + int(binary.BigEndian.Uint16(p[4:6])); n > 40 && n < len(p) {
				return p[:n]
			}
		}
	}
	return p
}
