//go:build !linux

package probe

import (
	"fmt"
	"runtime"
)

// HostSysctls is Linux-only: the linux profile reads the kernel's sysctls.
func HostSysctls() (synRetries, linearTimeouts int, err error) {
	return 0, 0, fmt.Errorf("reading tcp_syn_retries: not implemented on %s", runtime.GOOS)
}
