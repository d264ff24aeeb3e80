//go:build !linux

package rx

import (
	"fmt"
	"runtime"
)

// ReadSysctls reads the receive path's sysctls; only Linux has them. It
// returns DefaultConfig and an error elsewhere.
func ReadSysctls(ifname ...string) (Config, error) {
	return DefaultConfig(), fmt.Errorf("rx: reading sysctls is not implemented on %s: use DefaultConfig", runtime.GOOS)
}
