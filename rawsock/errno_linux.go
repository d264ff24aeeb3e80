package rawsock

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoName is the kernel's name of e, from x/sys's table of every errno.
func errnoName(e syscall.Errno) string { return unix.ErrnoName(e) }
