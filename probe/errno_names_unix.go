//go:build unix

package probe

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// osErrnoName is the system's name for e ("EADDRINUSE"), "" if it has none.
func osErrnoName(e syscall.Errno) string { return unix.ErrnoName(e) }
