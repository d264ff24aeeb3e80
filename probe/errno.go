package probe

import (
	"syscall"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

// ErrnoName returns the C name of e ("ECONNREFUSED"), "" for 0, and
// "errno N" for a number the system does not name.
func ErrnoName(e syscall.Errno) string { return rawsock.ErrnoName(e) }
