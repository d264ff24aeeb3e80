//go:build !linux

package icmp

import "syscall"

// errENONET is Linux's ENONET (64), reported for ICMP host isolated (v4 type 3
// code 8). This GOOS has no ENONET; tcpprobe's verdicts follow Linux's
// numbering here so that the table means the same on every build. Its
// Error() text on this GOOS is whatever the host calls 64.
const errENONET = syscall.Errno(64)
