package rawsock

import (
	"encoding/binary"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cmsg appends one control message (header, data, padding) to b.
func cmsg(b []byte, level, typ int32, data []byte) []byte {
	h := make([]byte, unix.CmsgSpace(len(data)))
	binary.NativeEndian.PutUint64(h[0:], uint64(unix.CmsgLen(len(data)))) // cmsg_len
	binary.NativeEndian.PutUint32(h[8:], uint32(level))                   // cmsg_level
	binary.NativeEndian.PutUint32(h[12:], uint32(typ))                    // cmsg_type
	copy(h[unix.CmsgLen(0):], data)
	return append(b, h...)
}

// extErr is a struct sock_extended_err.
func extErr(origin, info uint8) []byte {
	ee := unix.SockExtendedErr{Errno: uint32(unix.ENOMSG), Origin: origin, Info: uint32(info)}
	return unsafe.Slice((*byte)(unsafe.Pointer(&ee)), unsafe.Sizeof(ee))[:]
}

// scmTimestamping is a struct scm_timestamping with ts[0] = sw.
func scmTimestamping(sw time.Time) []byte {
	var ts [3]unix.Timespec
	if !sw.IsZero() {
		ts[0] = unix.NsecToTimespec(sw.UnixNano())
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&ts[0])), unsafe.Sizeof(ts))[:]
}

func TestParseTxStamp(t *testing.T) {
	at := time.Unix(1764583200, 123456789)
	snd := extErr(unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SND)
	tests := []struct {
		name string
		oob  []byte
		want int64
		ok   bool
	}{
		{"send stamp", cmsg(cmsg(nil, unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, snd), unix.SOL_SOCKET, unix.SCM_TIMESTAMPING, scmTimestamping(at)), at.UnixNano(), true},
		{"time first", cmsg(cmsg(nil, unix.SOL_SOCKET, unix.SCM_TIMESTAMPING, scmTimestamping(at)), unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, snd), at.UnixNano(), true},
		{"scheduler stamp", cmsg(cmsg(nil, unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, extErr(unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SCHED)), unix.SOL_SOCKET, unix.SCM_TIMESTAMPING, scmTimestamping(at)), at.UnixNano(), false},
		{"not a stamp", cmsg(cmsg(nil, unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, extErr(unix.SO_EE_ORIGIN_LOCAL, 0)), unix.SOL_SOCKET, unix.SCM_TIMESTAMPING, scmTimestamping(at)), at.UnixNano(), false},
		{"no software time", cmsg(cmsg(nil, unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, snd), unix.SOL_SOCKET, unix.SCM_TIMESTAMPING, scmTimestamping(time.Time{})), 0, false},
		{"no time", cmsg(nil, unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, snd), 0, false},
		{"short time", cmsg(cmsg(nil, unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, snd), unix.SOL_SOCKET, unix.SCM_TIMESTAMPING, scmTimestamping(at)[:16]), 0, false},
		{"empty", nil, 0, false},
		{"truncated header", cmsg(nil, unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, snd)[:10], 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseTxStamp(tt.oob)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("parseTxStamp = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzParseTxStamp: control messages of any shape never make the parser
// panic or read past them.
func FuzzParseTxStamp(f *testing.F) {
	at := time.Unix(1764583200, 5)
	snd := extErr(unix.SO_EE_ORIGIN_TIMESTAMPING, unix.SCM_TSTAMP_SND)
	f.Add(cmsg(cmsg(nil, unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, snd), unix.SOL_SOCKET, unix.SCM_TIMESTAMPING, scmTimestamping(at)))
	f.Add(cmsg(nil, unix.SOL_PACKET, unix.PACKET_TX_TIMESTAMP, snd))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, oob []byte) {
		// Control buffers are 8-byte aligned; so is the copy.
		buf := make([]uint64, (len(oob)+7)/8)
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(buf))), len(buf)*8)[:len(oob)]
		copy(b, oob)
		if ns, ok := parseTxStamp(b); ok && ns == 0 {
			t.Errorf("parseTxStamp = 0, true: a zero time is not a stamp")
		}
	})
}
