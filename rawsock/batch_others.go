//go:build !linux

package rawsock

import (
	"context"
	"net"
)

// MaxBatch is the most packets one WriteIPBatch call hands to the kernel.
const MaxBatch = 64

// WriteIPBatch is not implemented off Linux.
func (l *Link) WriteIPBatch(pkts [][]byte, dst []net.HardwareAddr) (int, error) {
	return 0, errNotImplemented
}

// ReceiveBatch is not implemented off Linux.
func (l *Link) ReceiveBatch(ctx context.Context, fn func(pkts [][]byte, infos []RecvInfo)) error {
	return errNotImplemented
}
