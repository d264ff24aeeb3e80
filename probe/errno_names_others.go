//go:build !unix

package probe

import "syscall"

// osErrnoName knows no names on this OS: ErrnoName says "errno N".
func osErrnoName(e syscall.Errno) string { return "" }
