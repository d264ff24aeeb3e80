package kconnect

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"golang.org/x/sys/unix"
)

// pollSlice bounds each poll so cancellation is noticed quickly.
const pollSlice = 100 * time.Millisecond

// connect runs one nonblocking connect() to t and waits for its verdict,
// the give-up time, or ctx.
func (p *Prober) connect(ctx context.Context, t probe.Target) *probe.Result {
	start := time.Now()
	dst := t.Addr.Addr().Unmap()
	fam := unix.AF_INET
	if dst.Is6() {
		fam = unix.AF_INET6
	}
	fd, err := unix.Socket(fam, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return p.failed(t, start, err, true)
	}
	defer unix.Close(fd)
	// Close with an RST, like the raw prober's teardown.
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	// Queue the ICMP error that may end the handshake, with its sender:
	// in SYN_SENT every ICMP error is hard anyway, so connect() behaves
	// the same (tcp_v4_err, tcp_v6_err).
	if fam == unix.AF_INET {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1)
	} else {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
	}
	if p.cfg.Interface != "" {
		if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, p.cfg.Interface); err != nil {
			return p.failed(t, start, err, true)
		}
	}
	if p.cfg.TTL != 0 {
		if fam == unix.AF_INET {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, int(p.cfg.TTL))
		} else {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, int(p.cfg.TTL))
		}
		if err != nil {
			return p.failed(t, start, err, true)
		}
	}
	if p.cfg.Source.IsValid() || p.cfg.SourcePort != 0 {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err := unix.Bind(fd, sockaddr(fam, p.cfg.Source, p.cfg.SourcePort)); err != nil {
			return p.failed(t, start, err, true)
		}
	}
	start = time.Now()
	err = unix.Connect(fd, sockaddr(fam, dst, t.Addr.Port()))
	r := p.result(t, start, probe.Timeout, 0, "")
	r.Attempts = []time.Time{start}
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		return p.done(r, fd, err, true)
	}
	giveUp := p.cfg.Profile.Schedule.GiveUp
	deadline := start.Add(giveUp)
	for err == nil || errors.Is(err, unix.EINPROGRESS) {
		if ctx.Err() != nil {
			r.Outcome, r.Errno, r.Reason = probe.Interrupted, syscall.EINTR, probe.ReasonInterrupted
			r.Finished = time.Now()
			return r
		}
		left := time.Until(deadline)
		if giveUp > 0 && left <= 0 {
			return p.done(r, fd, unix.ETIMEDOUT, false)
		}
		wait := pollSlice
		if giveUp > 0 && left < wait {
			wait = left
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, perr := unix.Poll(fds, int((wait+time.Millisecond-1)/time.Millisecond))
		if perr != nil && !errors.Is(perr, unix.EINTR) {
			return p.done(r, fd, perr, false)
		}
		if n > 0 && fds[0].Revents != 0 {
			soerr, gerr := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if gerr != nil {
				return p.done(r, fd, gerr, false)
			}
			if soerr == 0 {
				return p.done(r, fd, nil, false)
			}
			return p.done(r, fd, syscall.Errno(soerr), false)
		}
	}
	return p.done(r, fd, err, false)
}

// done fills r from connect()'s final error (nil: connected), the ICMP
// error the socket's error queue holds and the SYN count TCP_INFO gives
// (tcpi_total_retrans + 1).
func (p *Prober) done(r *probe.Result, fd int, err error, sync bool) *probe.Result {
	r.Finished = time.Now()
	if sa, gerr := unix.Getsockname(fd); gerr == nil {
		r.Src, r.SrcPort = fromSockaddr(sa)
	}
	var errno syscall.Errno
	if err != nil && !errors.As(err, &errno) {
		errno = syscall.EIO
	}
	r.Errno = errno
	if sync {
		r.Outcome, r.Reason = classify(errno, true)
		r.Attempts = nil
		return r
	}
	syns, rtt := 1, time.Duration(0)
	if ti, gerr := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO); gerr == nil {
		syns += int(ti.Total_retrans)
		rtt = time.Duration(ti.Rtt) * time.Microsecond
	}
	r.Attempts = attempts(syns, r.Started, r.Finished, p.cfg.Kernel)
	var qe *icmpError
	if errno != 0 {
		qe, _ = readRecvErr(fd)
	}
	r.Outcome, r.Reason, r.Responder = verdict(errno, qe, r.Addr, func(a netip.Addr) bool { return p.isLocal(a, r.Src) })
	last := r.Attempts[len(r.Attempts)-1]
	switch r.Outcome {
	case probe.Open:
		r.Teardown = true
		// The kernel's own RTT sample of the handshake when it is
		// unambiguous (one SYN); else from the last SYN.
		if syns == 1 && rtt > 0 {
			r.RTT = rtt
		} else {
			r.RTT = r.Finished.Sub(last)
		}
	case probe.Refused, probe.Unreachable:
		r.RTT = r.Finished.Sub(last)
	case probe.LocalError:
		r.Attempts = nil // the SYNs never left this host
	}
	return r
}

// failed is a result for a socket that could not even be set up.
func (p *Prober) failed(t probe.Target, start time.Time, err error, sync bool) *probe.Result {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = syscall.EINVAL
	}
	o, reason := classify(errno, sync)
	return p.result(t, start, o, errno, reason)
}

func sockaddr(fam int, a netip.Addr, port uint16) unix.Sockaddr {
	if fam == unix.AF_INET {
		sa := &unix.SockaddrInet4{Port: int(port)}
		if a.IsValid() {
			sa.Addr = a.Unmap().As4()
		}
		return sa
	}
	sa := &unix.SockaddrInet6{Port: int(port)}
	if a.IsValid() {
		sa.Addr = a.As16()
	}
	if z := a.Zone(); z != "" {
		// A link-local address leaves through its zone's interface.
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa
}

func fromSockaddr(sa unix.Sockaddr) (netip.Addr, uint16) {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(sa.Addr), uint16(sa.Port)
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(sa.Addr), uint16(sa.Port)
	}
	return netip.Addr{}, 0
}
