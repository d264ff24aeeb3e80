//go:build !linux

package rawsock

import "syscall"

// errnoNames are the errnos tcpprobe reports, for builds without Linux's
// table.
var errnoNames = map[syscall.Errno]string{
	syscall.ECONNREFUSED: "ECONNREFUSED", syscall.EHOSTUNREACH: "EHOSTUNREACH",
	syscall.ENETUNREACH: "ENETUNREACH", syscall.ETIMEDOUT: "ETIMEDOUT",
	syscall.EACCES: "EACCES", syscall.EHOSTDOWN: "EHOSTDOWN",
	syscall.ENOPROTOOPT: "ENOPROTOOPT", syscall.EOPNOTSUPP: "EOPNOTSUPP",
	syscall.EPROTO: "EPROTO", syscall.EMSGSIZE: "EMSGSIZE", syscall.EINVAL: "EINVAL",
	syscall.EPERM: "EPERM", syscall.EINTR: "EINTR", syscall.ENETDOWN: "ENETDOWN",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL", syscall.EADDRINUSE: "EADDRINUSE",
	syscall.ECONNRESET: "ECONNRESET",
}

func errnoName(e syscall.Errno) string { return errnoNames[e] }
