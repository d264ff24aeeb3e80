//go:build linux

package rx

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ReadSysctls reads the receive path's sysctls from /proc/sys in the
// calling thread's network namespace, starting from DefaultConfig. With an
// interface name, the per-interface values are combined with "all" the way
// the kernel does (accept_source_route: both; drop_unicast_in_l2_multicast:
// either); without one, "all" is read alone. A sysctl this kernel does not
// have keeps its default; any other read error is returned.
func ReadSysctls(ifname ...string) (Config, error) {
	c := DefaultConfig()
	dev := ""
	if len(ifname) > 0 {
		dev = ifname[0]
	}
	r := sysctlReader{}
	c.AcceptSourceRoute4 = r.and("net/ipv4/conf/%s/accept_source_route", dev)
	c.DropUnicastInL2Multicast4 = r.or("net/ipv4/conf/%s/drop_unicast_in_l2_multicast", dev)
	c.DropUnicastInL2Multicast6 = r.or("net/ipv6/conf/%s/drop_unicast_in_l2_multicast", dev)
	c.RouteLocalnet = r.or("net/ipv4/conf/%s/route_localnet", dev)
	c.Seg6Enabled = r.and("net/ipv6/conf/%s/seg6_enabled", dev)
	if dev != "" {
		c.RPLSegEnabled = r.int("net/ipv6/conf/"+dev+"/rpl_seg_enabled", 0) > 0
		c.IOAM6Enabled = r.int("net/ipv6/conf/"+dev+"/ioam6_enabled", 0) > 0
	}
	c.MaxDstOptsNumber = r.int("net/ipv6/max_dst_opts_number", c.MaxDstOptsNumber)
	c.MaxHBHOptsNumber = r.int("net/ipv6/max_hbh_opts_number", c.MaxHBHOptsNumber)
	c.MaxDstOptsLength = r.int("net/ipv6/max_dst_opts_length", c.MaxDstOptsLength)
	c.MaxHBHOptsLength = r.int("net/ipv6/max_hbh_length", c.MaxHBHOptsLength)
	c.IPFragTime = time.Duration(r.int("net/ipv4/ipfrag_time", int(c.IPFragTime/time.Second))) * time.Second
	c.IP6FragTime = time.Duration(r.int("net/ipv6/ip6frag_time", int(c.IP6FragTime/time.Second))) * time.Second
	c.IPFragHighThresh = r.int("net/ipv4/ipfrag_high_thresh", c.IPFragHighThresh)
	c.IP6FragHighThresh = r.int("net/ipv6/ip6frag_high_thresh", c.IP6FragHighThresh)
	c.IPFragMaxDist = r.int("net/ipv4/ipfrag_max_dist", c.IPFragMaxDist)
	c.KernelTCPAO = kernelHasTCPAO()
	return c, r.err
}

type sysctlReader struct{ err error }

func (r *sysctlReader) int(path string, def int) int {
	b, err := os.ReadFile("/proc/sys/" + path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) && r.err == nil {
			r.err = fmt.Errorf("rx: reading sysctl %s: %w (is /proc mounted for this network namespace?)", strings.ReplaceAll(path, "/", "."), err)
		}
		return def
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		if r.err == nil {
			r.err = fmt.Errorf("rx: sysctl %s holds %q, not a number", strings.ReplaceAll(path, "/", "."), strings.TrimSpace(string(b)))
		}
		return def
	}
	return v
}

// and is IN_DEV_ANDCONF / min over "all" and the interface.
func (r *sysctlReader) and(format, dev string) bool {
	v := r.int(fmt.Sprintf(format, "all"), 0) > 0
	if dev != "" {
		v = v && r.int(fmt.Sprintf(format, dev), 0) > 0
	}
	return v
}

// or is IN_DEV_ORCONF over "all" and the interface.
func (r *sysctlReader) or(format, dev string) bool {
	v := r.int(fmt.Sprintf(format, "all"), 0) > 0
	if dev != "" {
		v = v || r.int(fmt.Sprintf(format, dev), 0) > 0
	}
	return v
}

// tcpAOInfo is TCP_AO_INFO (include/uapi/linux/tcp.h).
const tcpAOInfo = 40

// kernelHasTCPAO asks a fresh TCP socket for its TCP-AO state: a kernel
// without CONFIG_TCP_AO answers ENOPROTOOPT.
func kernelHasTCPAO() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	_, err = unix.GetsockoptString(fd, unix.IPPROTO_TCP, tcpAOInfo)
	return !errors.Is(err, syscall.ENOPROTOOPT)
}
