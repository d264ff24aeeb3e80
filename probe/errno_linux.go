package probe

import "syscall"

// ENONET exists only on Linux; the ICMP tables use it for code 8 (host
// isolated).
func init() { errnoNames[syscall.ENONET] = "ENONET" }
