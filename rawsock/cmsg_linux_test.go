package rawsock

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestCmsgParsersDoNotAllocate: the receive path reads control messages
// for every frame of the socket queue, and the stamped send path for every
// batch; walking them allocates nothing.
func TestCmsgParsersDoNotAllocate(t *testing.T) {
	aux := unix.TpacketAuxdata{Status: unix.TP_STATUS_CSUMNOTREADY, Vlan_tci: 5}
	ts := unix.Timespec{Sec: 1000, Nsec: 7}
	var oob []byte
	for _, m := range []struct {
		level, typ int32
		data       []byte
	}{
		{unix.SOL_PACKET, unix.PACKET_AUXDATA, unsafe.Slice((*byte)(unsafe.Pointer(&aux)), unsafe.Sizeof(aux))},
		{unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))},
	} {
		b := make([]byte, unix.CmsgSpace(len(m.data)))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = m.level, m.typ
		h.SetLen(unix.CmsgLen(len(m.data)))
		copy(b[unix.CmsgLen(0):], m.data)
		oob = append(oob, b...)
	}
	info := parseControl(oob)
	if !info.ChecksumNotReady || info.VLANTCI != 5 || info.Time.UnixNano() != 1000e9+7 {
		t.Fatalf("parseControl = %+v, want the auxdata and the time", info)
	}
	if a := testing.AllocsPerRun(100, func() { parseControl(oob); parseTxStamp(oob) }); a != 0 {
		t.Errorf("%v allocations per parse, want 0", a)
	}
}
