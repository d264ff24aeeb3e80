package probe

import (
	"strconv"
	"syscall"
)

var errnoNames = map[syscall.Errno]string{
	syscall.ECONNREFUSED:  "ECONNREFUSED",
	syscall.EHOSTUNREACH:  "EHOSTUNREACH",
	syscall.ENETUNREACH:   "ENETUNREACH",
	syscall.ETIMEDOUT:     "ETIMEDOUT",
	syscall.EACCES:        "EACCES",
	syscall.EHOSTDOWN:     "EHOSTDOWN",
	syscall.ENOPROTOOPT:   "ENOPROTOOPT",
	syscall.EOPNOTSUPP:    "EOPNOTSUPP",
	syscall.EPROTO:        "EPROTO",
	syscall.EMSGSIZE:      "EMSGSIZE",
	syscall.EINVAL:        "EINVAL",
	syscall.EPERM:         "EPERM",
	syscall.EINTR:         "EINTR",
	syscall.ENETDOWN:      "ENETDOWN",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL",
}

// ErrnoName returns the C name of e ("ECONNREFUSED"), "" for 0: from the
// table above, else from the system's own list (every errno of this OS,
// "EADDRINUSE" …), else "errno N".
func ErrnoName(e syscall.Errno) string {
	if e == 0 {
		return ""
	}
	if n, ok := errnoNames[e]; ok {
		return n
	}
	if n := osErrnoName(e); n != "" {
		return n
	}
	return "errno " + strconv.Itoa(int(e))
}

// ErrnoByName is the inverse of ErrnoName for the names it knows.
func ErrnoByName(name string) (syscall.Errno, bool) {
	for e, n := range errnoNames {
		if n == name {
			return e, true
		}
	}
	for e := syscall.Errno(1); e < 4096; e++ {
		if osErrnoName(e) == name {
			return e, true
		}
	}
	return 0, false
}
