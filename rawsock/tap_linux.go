package rawsock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Tap is an AF_PACKET socket that records one TCP connection: every segment
// between local and remote, in both directions, with the kernel's receive
// (or transmit) timestamps. It sends nothing. A connection carried by the
// kernel's own TCP is watched this way: the tap sees what left and what
// arrived on the interface, as tcpdump would.
type Tap struct {
	ifi    net.Interface
	conn   *packet.Conn
	rc     syscall.RawConn
	hdrLen int
	lo     bool // loopback: every frame is seen twice; keep the outgoing copy

	rmu    sync.Mutex // held by the one running Receive
	closed atomic.Bool
}

// OpenTap opens a Tap on ifi for the connection local ↔ remote. Without
// CAP_NET_RAW the error wraps os.ErrPermission.
func OpenTap(ifi *net.Interface, local, remote netip.AddrPort) (*Tap, error) {
	if ifi == nil {
		return nil, errors.New("rawsock: OpenTap needs an interface")
	}
	typ, hdrLen, encap, err := framing(ifi)
	if err != nil {
		return nil, err
	}
	prog, err := tapFilter(hdrLen, local, remote)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("rawsock: assemble tap filter: %w", err)
	}
	conn, err := packet.Listen(ifi, typ, unix.ETH_P_ALL, &packet.Config{Filter: raw})
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("rawsock: open packet socket on %s: %w: recording a connection needs CAP_NET_RAW; run as root or `sudo setcap cap_net_raw+ep $(which tcpprobe)`", ifi.Name, err)
		}
		return nil, fmt.Errorf("rawsock: open packet socket on %s: %w", ifi.Name, err)
	}
	t := &Tap{ifi: *ifi, conn: conn, hdrLen: hdrLen, lo: encap == "loopback"}
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("rawsock: packet socket on %s: %w", ifi.Name, err)
	}
	t.rc = rc
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for _, o := range []struct{ level, opt int }{
			{unix.SOL_PACKET, unix.PACKET_AUXDATA},
			{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS},
		} {
			if err := unix.SetsockoptInt(int(fd), o.level, o.opt, 1); err != nil && serr == nil {
				serr = err
			}
		}
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 1<<20) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
		}
	}); err != nil || serr != nil {
		conn.Close()
		return nil, fmt.Errorf("rawsock: set up the tap on %s: %w", ifi.Name, errors.Join(err, serr))
	}
	return t, nil
}

// Receive reads segments until ctx is done or the tap is closed, calling fn
// for each IP packet with outgoing true for what this host sent. pkt is
// valid only during the call. It returns nil when ctx is done or the tap
// closed.
func (t *Tap) Receive(ctx context.Context, fn func(pkt []byte, info RecvInfo, outgoing bool)) error {
	if !t.rmu.TryLock() {
		return fmt.Errorf("rawsock: Receive is already running on the tap on %s", t.ifi.Name)
	}
	defer t.rmu.Unlock()
	if err := t.conn.SetReadDeadline(time.Time{}); err != nil {
		if t.closed.Load() {
			return nil
		}
		return fmt.Errorf("rawsock: tap on %s: %w", t.ifi.Name, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = t.conn.SetReadDeadline(aLongTimeAgo) })
	defer stop()
	buf := make([]byte, 1<<16+t.hdrLen+64)
	oob8 := make([]uint64, 32)
	oob := unsafe.Slice((*byte)(unsafe.Pointer(&oob8[0])), len(oob8)*8)
	for {
		var n, oobn, flags int
		var from unix.Sockaddr
		var rerr error
		err := t.rc.Read(func(fd uintptr) bool {
			n, oobn, flags, from, rerr = unix.Recvmsg(int(fd), buf, oob, 0)
			return rerr != unix.EAGAIN && rerr != unix.EINTR
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			if ctx.Err() != nil || t.closed.Load() {
				return nil
			}
			return fmt.Errorf("rawsock: tap on %s: %w", t.ifi.Name, err)
		}
		sll, _ := from.(*unix.SockaddrLinklayer)
		out := sll != nil && sll.Pkttype == pktOutgoing
		if t.lo && !out {
			continue // the same frame again, on its way in
		}
		info := parseControl(oob[:oobn])
		if flags&unix.MSG_TRUNC != 0 {
			info.Truncated = true
		}
		if info.Time.IsZero() {
			info.Time = time.Now()
		}
		if n < t.hdrLen {
			continue
		}
		fn(trimIP(buf[t.hdrLen:n]), info, out)
	}
}

// Close closes the tap; a running Receive returns nil.
func (t *Tap) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	_ = t.conn.SetReadDeadline(aLongTimeAgo)
	if err := t.conn.Close(); err != nil {
		return fmt.Errorf("rawsock: close the tap on %s: %w", t.ifi.Name, err)
	}
	return nil
}
