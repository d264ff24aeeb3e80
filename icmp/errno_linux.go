//go:build linux

package icmp

import "syscall"

// errENONET is what Linux reports for ICMP host isolated (v4 type 3 code 8).
const errENONET = syscall.ENONET
