package rawsock

import (
	"net"
	"os"
	"strconv"
	"strings"
)

// ReplyInterfaces returns the interfaces a reply to this host may arrive
// on: every one that is up, is not loopback and has an address. The kernel
// accepts a segment for a local address on any of them (the weak host
// model), subject to rp_filter for IPv4 (RPFilter).
func ReplyInterfaces() ([]net.Interface, error) {
	ifis, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []net.Interface
	for _, ifi := range ifis {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		if addrs, err := ifi.Addrs(); err != nil || len(addrs) == 0 {
			continue
		}
		out = append(out, ifi)
	}
	return out, nil
}

// RP filter modes of net.ipv4.conf.*.rp_filter (RFC 3704).
const (
	RPFilterOff    = 0
	RPFilterStrict = 1 // the route back to the source must leave by the interface the packet came in on
	RPFilterLoose  = 2 // some route back to the source must exist
)

// RPFilter returns the reverse-path filter the kernel applies to IPv4
// packets arriving on ifname: the larger of conf/all and conf/<ifname>,
// as fib_validate_source does (IN_DEV_RPFILTER).
func RPFilter(ifname string) int {
	read := func(name string) int {
		b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + name + "/rp_filter")
		if err != nil {
			return RPFilterOff
		}
		v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return v
	}
	return max(read("all"), read(ifname))
}
