package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// KernelConnect makes one real connect(2) from namespace ns to dst — a nonblocking
// connect and poll, TCP_SYNCNT left alone — and returns the errno (0 on success; the
// connection is then closed) and how long it took. When connect() is still in progress
// after timeout it gives up and returns (0, elapsed, ErrGaveUp), which a kernel
// ETIMEDOUT (errno ETIMEDOUT, nil error) is not. Local failures (no route, a prohibit
// route) come back at once from connect() itself. A measurement that ends with
// neither (ErrNoVerdict) is made again, twice at most, on a new socket.
func (l *Lab) KernelConnect(ns string, dst netip.AddrPort, timeout time.Duration) (errno syscall.Errno, elapsed time.Duration, err error) {
	for try := 0; ; try++ {
		errno, elapsed, err = l.kernelConnect(ns, dst, timeout)
		if try == 2 || !errors.Is(err, ErrNoVerdict) {
			return errno, elapsed, err
		}
	}
}

// kernelConnect is one measurement of KernelConnect.
func (l *Lab) kernelConnect(ns string, dst netip.AddrPort, timeout time.Duration) (errno syscall.Errno, elapsed time.Duration, err error) {
	addr := dst.Addr().Unmap()
	var sa unix.Sockaddr
	family := unix.AF_INET
	if addr.Is4() {
		sa = &unix.SockaddrInet4{Port: int(dst.Port()), Addr: addr.As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(dst.Port()), Addr: addr.As16()}
	}
	fd := -1
	if err := l.Do(ns, func() error {
		var err error
		fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		return err
	}); err != nil {
		return 0, 0, fmt.Errorf("lab: TCP socket in %s: %w", ns, err)
	}
	defer unix.Close(fd)

	start := time.Now()
	err = unix.Connect(fd, sa)
	switch {
	case err == nil:
		return 0, time.Since(start), nil
	case !errors.Is(err, unix.EINPROGRESS):
		var e syscall.Errno
		if errors.As(err, &e) {
			return e, time.Since(start), nil
		}
		return 0, time.Since(start), fmt.Errorf("lab: connect to %s from %s: %w", dst, ns, err)
	}
	deadline := start.Add(timeout)
	for {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return 0, time.Since(start), ErrGaveUp
		}
		ms := int((remaining + time.Millisecond - 1) / time.Millisecond)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			return 0, time.Since(start), fmt.Errorf("lab: poll on connect to %s: %w", dst, err)
		}
		elapsed := time.Since(start)
		soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return 0, elapsed, fmt.Errorf("lab: SO_ERROR after connect to %s: %w", dst, err)
		}
		if soerr == 0 {
			// Ready without an error must mean connected; say what poll
			// saw if it does not, rather than report an open port.
			if _, err := unix.Getpeername(fd); err != nil {
				return 0, elapsed, fmt.Errorf("%w: connect to %s: poll said %#x, SO_ERROR 0, but not connected (%v)", ErrNoVerdict, dst, fds[0].Revents, err)
			}
		}
		return syscall.Errno(soerr), elapsed, nil
	}
}
