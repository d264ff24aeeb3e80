package probe

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// HostSysctls reads net.ipv4.tcp_syn_retries and tcp_syn_linear_timeouts of
// the network namespace the process runs in. A kernel older than 6.5 has no
// tcp_syn_linear_timeouts; it counts as 0.
func HostSysctls() (synRetries, linearTimeouts int, err error) {
	synRetries, err = readSysctl("/proc/sys/net/ipv4/tcp_syn_retries")
	if err != nil {
		return 0, 0, err
	}
	linearTimeouts, err = readSysctl("/proc/sys/net/ipv4/tcp_syn_linear_timeouts")
	if os.IsNotExist(err) {
		return synRetries, 0, nil
	}
	return synRetries, linearTimeouts, err
}

func readSysctl(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("reading %s: %v", path, err)
	}
	return n, nil
}
