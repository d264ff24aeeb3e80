package rawsock

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// CheckLoopback says whether the kernel will accept an IPv4 packet that a
// Link injects on the loopback interface for the local destination dst. IPv4
// treats a packet arriving with a local source address as a martian and
// drops it silently unless net.ipv4.conf.{lo,all}.accept_local is 1, and
// drops 127.0.0.0/8 destinations unless route_localnet is 1 as well (the
// kernel's own loopback traffic skips that check; injected frames do not).
// IPv6 has no such check: it returns nil for IPv6. Call it for a Route with
// Local set before probing, and report the error rather than a timeout.
func CheckLoopback(dst netip.Addr) error {
	dst = dst.Unmap()
	if !dst.Is4() {
		return nil
	}
	need := []string{"accept_local"}
	if dst.IsLoopback() {
		need = append(need, "route_localnet")
	}
	var missing []string
	for _, k := range need {
		if !sysctlOn("lo", k) && !sysctlOn("all", k) {
			missing = append(missing, "net.ipv4.conf.lo."+k+"=1")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("rawsock: the kernel drops IPv4 packets injected on lo for %s as martians; set %s (`sysctl -w %s`) or probe with connect(2)",
			dst, strings.Join(missing, " and "), strings.Join(missing, " "))
	}
	return nil
}

func sysctlOn(dev, key string) bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + dev + "/" + key)
	return err == nil && strings.TrimSpace(string(b)) == "1"
}
