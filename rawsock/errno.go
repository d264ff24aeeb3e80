package rawsock

import (
	"strconv"
	"syscall"
)

// ErrnoName returns the C name of e ("ECONNREFUSED"), "" for 0, and
// "errno N" for a number the system does not name. It is the one errno
// table of tcpprobe: results, JSON and messages all use it.
func ErrnoName(e syscall.Errno) string {
	if e == 0 {
		return ""
	}
	if n := errnoName(e); n != "" {
		return n
	}
	return "errno " + strconv.Itoa(int(e))
}
