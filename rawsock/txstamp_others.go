//go:build !linux

package rawsock

import (
	"net"
	"time"
)

// WriteIPStamped is not implemented on this GOOS.
func (l *Link) WriteIPStamped(pkt []byte, dst net.HardwareAddr) (time.Time, error) {
	return time.Time{}, errNotImplemented
}

// WriteIPBatchStamped is not implemented on this GOOS.
func (l *Link) WriteIPBatchStamped(pkts [][]byte, dst []net.HardwareAddr, times []time.Time) (int, error) {
	return 0, errNotImplemented
}

// TxStamps is not implemented on this GOOS: it counts nothing.
func (l *Link) TxStamps() TxStampStats { return TxStampStats{} }
