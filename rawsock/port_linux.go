package rawsock

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Where the kernel keeps its port ranges. They are per network namespace and
// apply to IPv6 too.
const (
	portRangeFile    = "/proc/sys/net/ipv4/ip_local_port_range"
	reservedPortFile = "/proc/sys/net/ipv4/ip_local_reserved_ports"
)

// randomPortAttempts is how many random candidates ReservePort tries before
// it sweeps the candidates in order from a random start.
const randomPortAttempts = 64

// ReservePort picks a random source port (crypto/rand) for the local address
// src that lies outside the kernel's ephemeral range (ip_local_port_range;
// the ports 1024–65535 minus it, minus ip_local_reserved_ports) and that no
// local socket holds, and holds it by binding a TCP socket to src:port
// (without listening) until release is called, so that no other process
// takes it (spec §5.1). It tries random ports first and then sweeps every
// candidate once, so it fails only when all are taken.
func ReservePort(src netip.Addr) (port uint16, release func(), err error) {
	b, err := os.ReadFile(portRangeFile)
	if err != nil {
		return 0, nil, fmt.Errorf("rawsock: read the kernel's ephemeral port range: %w", err)
	}
	eph, err := parsePortRange(string(b))
	if err != nil {
		return 0, nil, err
	}
	var reserved []portRange
	if b, err := os.ReadFile(reservedPortFile); err == nil {
		if reserved, err = parsePortList(string(b)); err != nil {
			return 0, nil, err
		}
	}
	cands := candidatePorts(eph, reserved)
	if len(cands) == 0 {
		return 0, nil, fmt.Errorf("rawsock: no source port left outside the ephemeral range %d–%d; narrow net.ipv4.ip_local_port_range", eph.lo, eph.hi)
	}
	try := func(p uint16) (func(), error) {
		fd, err := bindTCP(src, p)
		if err != nil {
			return nil, err
		}
		var once sync.Once
		return func() { once.Do(func() { unix.Close(fd) }) }, nil
	}
	var lastErr error
	for i := 0; i < randomPortAttempts+len(cands); i++ {
		var p uint16
		if i < randomPortAttempts {
			p = cands[randIntn(len(cands))]
		} else {
			if i == randomPortAttempts {
				// sweep from a random start
				start := randIntn(len(cands))
				cands = append(cands[start:], cands[:start]...)
			}
			p = cands[i-randomPortAttempts]
		}
		rel, err := try(p)
		if err == nil {
			return p, rel, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return 0, nil, fmt.Errorf("rawsock: reserve TCP port %d on %s: %w", p, src, err)
		}
		lastErr = err
	}
	return 0, nil, fmt.Errorf("rawsock: every one of the %d TCP source ports outside the ephemeral range %d–%d is in use on %s: %w",
		len(cands), eph.lo, eph.hi, src, lastErr)
}

// bindTCP binds a TCP socket to src:port without SO_REUSEADDR, so it fails
// with EADDRINUSE if any socket (bound, listening, connected or in
// TIME_WAIT) holds the port for that address or the wildcard.
func bindTCP(src netip.Addr, port uint16) (int, error) {
	src = src.Unmap()
	var sa unix.Sockaddr
	fam := unix.AF_INET
	if src.Is4() {
		sa = &unix.SockaddrInet4{Port: int(port), Addr: src.As4()}
	} else if src.Is6() {
		fam = unix.AF_INET6
		s6 := &unix.SockaddrInet6{Port: int(port), Addr: src.As16()}
		if z := src.Zone(); z != "" {
			ifi, err := net.InterfaceByName(z)
			if err != nil {
				return -1, fmt.Errorf("zone %q: %w", z, err)
			}
			s6.ZoneId = uint32(ifi.Index)
		}
		sa = s6
	} else {
		return -1, errors.New("no source address")
	}
	fd, err := unix.Socket(fam, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if fam == unix.AF_INET6 {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	return fd, nil
}

// randIntn returns a uniform random int in [0, n) from crypto/rand.
func randIntn(n int) int {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on Linux (Go 1.24+ crypto/rand.Read panics instead)
	return int(binary.LittleEndian.Uint64(b[:]) % uint64(n))
}

// Where the kernel lists its TCP sockets, read when bind() may not be used
// to ask (a port below 1024 without CAP_NET_BIND_SERVICE).
var tcpTables = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// CheckSourcePort reports whether a probe may use port as its source port
// on src (the unspecified address of a family: any address of it), the
// way bind(2) would decide for connect(2): it binds a TCP socket there
// without SO_REUSEADDR and closes it at once. A port that a socket of this
// host holds on that address or the wildcard — listening, bound, in an
// established connection, in TIME_WAIT — gives an error matching
// syscall.EADDRINUSE: a raw SYN from it would collide with that socket,
// and a teardown RST from it could reset a connection that is not the
// probe's. When bind is not allowed (EACCES for a port below 1024), the
// kernel's socket tables (/proc/net/tcp, tcp6) are read instead.
func CheckSourcePort(src netip.Addr, port uint16) error {
	fd, err := bindTCP(src, port)
	if err == nil {
		unix.Close(fd)
		return nil
	}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		inUse, terr := portInTables(port)
		if terr != nil {
			return fmt.Errorf("rawsock: cannot tell whether TCP port %d is in use: bind: %v; %w", port, err, terr)
		}
		if !inUse {
			return nil
		}
		err = syscall.EADDRINUSE
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("rawsock: TCP port %d is in use on %s by a socket of this host (bind would fail: %w)", port, src, syscall.EADDRINUSE)
	}
	return fmt.Errorf("rawsock: checking TCP port %d on %s: %w", port, src, err)
}

// portInTables reports whether any TCP socket in the kernel's tables has
// local port port.
func portInTables(port uint16) (bool, error) {
	for _, name := range tcpTables {
		b, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6
		}
		if err != nil {
			return false, err
		}
		if localPortListed(string(b), port) {
			return true, nil
		}
	}
	return false, nil
}
