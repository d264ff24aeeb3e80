package rawsock

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// Link is one AF_PACKET socket on one interface, shared by every probe that
// leaves through it.
type Link struct {
	ifi    net.Interface
	conn   *packet.Conn
	rc     syscall.RawConn
	hdrLen int  // 14 for Ethernet and loopback framing, 0 for none
	ether  bool // Ethernet framing with real MACs (not loopback)
	src    [6]byte

	free chan *writer // idle writers: a free list that the GC never empties

	rmu   sync.Mutex // held by the one running Receive
	recv  receiver
	brecv *batchReceiver // ReceiveBatch's state without a ring
	ring  *ring          // the receive ring (nil: the kernel refused one); rmu

	closed atomic.Bool

	smu   sync.Mutex
	stats LinkStats

	bfree chan *batchWriter // idle batch writers of WriteIPBatch

	tx *txStamper // the send-only socket of stamped writes
}

// writer holds what one concurrent WriteIP call needs, so the call does not
// allocate.
type writer struct {
	buf   []byte
	frame []byte
	sa    unix.SockaddrLinklayer
	err   error
	fn    func(fd uintptr) bool
}

func (w *writer) write(fd uintptr) bool {
	w.err = unix.Sendto(int(fd), w.frame, 0, &w.sa)
	return w.err != unix.EAGAIN
}

// receiver is the state of the single reader: preallocated buffers and the
// msghdr that recvmsg(2) fills.
type receiver struct {
	buf  []byte
	oob  []byte
	from unix.RawSockaddrLinklayer
	iov  unix.Iovec
	msg  unix.Msghdr
	n    int
	err  syscall.Errno
	fn   func(fd uintptr) bool
}

func (r *receiver) read(fd uintptr) bool {
	r.msg.Namelen = unix.SizeofSockaddrLinklayer
	r.msg.SetControllen(len(r.oob))
	r.msg.Flags = 0
	n, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	r.n, r.err = int(n), e
	return true
}

var _ interface {
	WriteIP([]byte, net.HardwareAddr) error
	Receive(context.Context, func([]byte, RecvInfo)) error
	Close() error
} = (*Link)(nil)

// Open opens a Link on ifi. Framing is chosen from the interface's ARPHRD
// type: Ethernet, loopback (Ethernet header with zero MACs) or none (TUN,
// WireGuard: bare IP packets). It installs the receive filter (see
// filterProgram) before binding, enables PACKET_AUXDATA and SO_TIMESTAMPNS,
// and sets the receive buffer. Without CAP_NET_RAW the error wraps
// os.ErrPermission.
func Open(ifi *net.Interface, cfg LinkConfig) (*Link, error) {
	if ifi == nil {
		return nil, errors.New("rawsock: Open needs an interface")
	}
	typ, hdrLen, encap, err := framing(ifi)
	if err != nil {
		return nil, err
	}
	filter, err := assembleFilter(hdrLen, cfg.Addrs)
	if err != nil {
		return nil, err
	}
	conn, err := packet.Listen(ifi, typ, unix.ETH_P_ALL, &packet.Config{Filter: filter})
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("rawsock: open packet socket on %s: %w: tcpprobe needs CAP_NET_RAW; run it as root or grant it with `sudo setcap cap_net_raw+ep $(which tcpprobe)`", ifi.Name, err)
		}
		return nil, fmt.Errorf("rawsock: open packet socket on %s: %w", ifi.Name, err)
	}
	l := &Link{ifi: *ifi, conn: conn, hdrLen: hdrLen}
	if encap == "ether" {
		if len(ifi.HardwareAddr) != 6 {
			conn.Close()
			return nil, fmt.Errorf("rawsock: Ethernet interface %s has hardware address %q, not a 6-byte MAC", ifi.Name, ifi.HardwareAddr)
		}
		l.ether = true
		copy(l.src[:], ifi.HardwareAddr)
	}
	sockType := unix.SOCK_RAW
	if typ == packet.Datagram {
		sockType = unix.SOCK_DGRAM
	}
	if l.tx, err = openTxStamper(ifi, sockType, !cfg.SocketQueue); err != nil {
		conn.Close()
		return nil, err
	}
	// A ring link's transmit tap has a ring too: it is set up beside the
	// receive ring, so the two setups' RCU grace periods overlap.
	tapped := make(chan struct{})
	go func() {
		defer close(tapped)
		l.tx.setupTap(ifi, hdrLen)
	}()
	err = l.setup(cfg)
	<-tapped
	if err != nil {
		_ = l.tx.close()
		conn.Close()
		return nil, err
	}
	n := 2 * runtime.GOMAXPROCS(0)
	l.free = make(chan *writer, n)
	l.bfree = make(chan *batchWriter, n)
	return l, nil
}

func (l *Link) setup(cfg LinkConfig) error {
	rc, err := l.conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("rawsock: packet socket on %s: %w", l.ifi.Name, err)
	}
	l.rc = rc
	size := cfg.RecvBuffer
	if size <= 0 {
		size = DefaultRecvBuffer
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		set := func(level, opt, v int, name string) bool {
			if err := unix.SetsockoptInt(int(fd), level, opt, v); err != nil {
				serr = fmt.Errorf("rawsock: set %s on %s: %w", name, l.ifi.Name, err)
				return false
			}
			return true
		}
		if !set(unix.SOL_PACKET, unix.PACKET_AUXDATA, 1, "PACKET_AUXDATA") ||
			!set(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS") {
			return
		}
		if !cfg.keepOutgoing {
			// Kernels before 4.20 lack it; the BPF program covers them.
			_ = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
		}
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
			set(unix.SOL_SOCKET, unix.SO_RCVBUF, size, "SO_RCVBUF")
		}
	})
	if cerr != nil {
		return fmt.Errorf("rawsock: packet socket on %s: %w", l.ifi.Name, cerr)
	}
	if serr != nil {
		return serr
	}
	// Received frames go to a TPACKET_V3 ring, set up before any probe
	// can provoke a reply (a frame that reached the socket queue first
	// would never be read). A kernel that refuses one, or cfg.SocketQueue,
	// leaves the socket queue, read with recvmsg(2)/recvmmsg(2).
	if !cfg.SocketQueue {
		if rg, err := l.setupRing(); err == nil {
			l.ring = rg
		}
	}
	r := &l.recv
	r.buf = make([]byte, 1<<16+l.hdrLen+64)
	oob := make([]uint64, 32) // 8-byte aligned, room for auxdata + timestamp
	r.oob = unsafe.Slice((*byte)(unsafe.Pointer(&oob[0])), len(oob)*8)
	r.iov.Base = &r.buf[0]
	r.iov.SetLen(len(r.buf))
	r.msg.Name = (*byte)(unsafe.Pointer(&r.from))
	r.msg.Iov = &r.iov
	r.msg.SetIovlen(1)
	r.msg.Control = &r.oob[0]
	r.fn = r.read
	return nil
}

// Interface returns the interface the link is open on.
func (l *Link) Interface() net.Interface { return l.ifi }

func (l *Link) getWriter() *writer {
	select {
	case w := <-l.free:
		return w
	default:
	}
	w := &writer{buf: make([]byte, l.hdrLen+l.ifi.MTU)}
	w.sa.Ifindex = l.ifi.Index
	w.fn = w.write
	return w
}

func (l *Link) putWriter(w *writer) {
	w.frame, w.err = nil, nil
	select {
	case l.free <- w:
	default:
	}
}

// WriteIP sends one IP packet (IPv4 or IPv6, header included, checksums
// already set) to the next hop dst (nil for links without a link layer, and
// ignored on loopback). It is safe for concurrent use and does not allocate.
func (l *Link) WriteIP(pkt []byte, dst net.HardwareAddr) error {
	w := l.getWriter()
	defer l.putWriter(w)
	if n := l.hdrLen + len(pkt); cap(w.buf) < n {
		w.buf = make([]byte, n)
	}
	var sa unix.RawSockaddrLinklayer
	f, err := l.buildFrame(w.buf, &sa, pkt, dst)
	if err != nil {
		return err
	}
	w.frame = f
	w.sa.Protocol, w.sa.Halen, w.sa.Addr = sa.Protocol, sa.Halen, sa.Addr
	if err := l.rc.Write(w.fn); err != nil {
		return l.writeErr(err)
	}
	if w.err != nil {
		return l.writeErr(w.err)
	}
	return nil
}

func (l *Link) writeErr(err error) error {
	if l.closed.Load() {
		return fmt.Errorf("rawsock: write on %s: %w", l.ifi.Name, net.ErrClosed)
	}
	return fmt.Errorf("rawsock: write on %s: %w", l.ifi.Name, err)
}

// buildFrame puts pkt behind the link's header in buf, which must hold
// hdrLen+len(pkt) bytes, and fills sa for next hop dst. On a link without
// a link layer the frame is pkt itself; loopback keeps zero MACs.
func (l *Link) buildFrame(buf []byte, sa *unix.RawSockaddrLinklayer, pkt []byte, dst net.HardwareAddr) ([]byte, error) {
	if len(pkt) == 0 {
		return nil, errors.New("rawsock: write: empty packet")
	}
	var proto uint16
	switch pkt[0] >> 4 {
	case 4:
		proto = etherTypeIPv4
	case 6:
		proto = etherTypeIPv6
	default:
		return nil, fmt.Errorf("rawsock: write: not an IP packet (version %d)", pkt[0]>>4)
	}
	*sa = unix.RawSockaddrLinklayer{Family: unix.AF_PACKET, Protocol: htons(proto), Ifindex: int32(l.ifi.Index)}
	if l.hdrLen == 0 {
		return pkt, nil
	}
	f := buf[:l.hdrLen+len(pkt)]
	sa.Halen = 6
	if l.ether {
		if len(dst) != 6 {
			return nil, fmt.Errorf("rawsock: write on %s: next-hop hardware address %q is not a 6-byte MAC; resolve it with ResolveNeighbor", l.ifi.Name, dst)
		}
		copy(f[0:6], dst)
		copy(sa.Addr[:], dst)
	} else {
		clear(f[0:6])
	}
	copy(f[6:12], l.src[:])
	binary.BigEndian.PutUint16(f[12:14], proto)
	copy(f[14:], pkt)
	return f, nil
}

// aLongTimeAgo is a read deadline in the past: it wakes a blocked Receive.
var aLongTimeAgo = time.Unix(1, 0)

// readEnd is what a read loop returns after a failed read: nil when ctx is
// done or the link closed (the failure was the wake-up), else the error.
func (l *Link) readEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil || l.closed.Load() {
		return nil
	}
	return fmt.Errorf("rawsock: receive on %s: %w", l.ifi.Name, err)
}

// startReading makes the caller the link's one reader until done is
// called, with reads that end when ctx does. run is false when there is
// nothing to read: ctx is over or the link closed (err nil), or another
// reader runs or the socket failed (err says so).
func (l *Link) startReading(ctx context.Context) (done func(), run bool, err error) {
	if !l.rmu.TryLock() {
		return nil, false, fmt.Errorf("rawsock: Receive is already running on %s; run one reader per Link", l.ifi.Name)
	}
	if ctx.Err() != nil {
		l.rmu.Unlock()
		return nil, false, nil
	}
	if err := l.conn.SetReadDeadline(time.Time{}); err != nil {
		l.rmu.Unlock()
		if l.closed.Load() {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("rawsock: receive on %s: %w", l.ifi.Name, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = l.conn.SetReadDeadline(aLongTimeAgo) })
	return func() { stop(); l.rmu.Unlock() }, true, nil
}

// Receive reads packets until ctx is done or the link is closed, calling fn
// for each IP packet addressed to the link's addresses. The link header is
// stripped and Ethernet padding trimmed by the IP length field; pkt is valid
// only during the call. One Receive runs at a time per Link; it does not
// allocate per packet. It returns nil when ctx is done or the link is closed,
// and the error otherwise.
func (l *Link) Receive(ctx context.Context, fn func(pkt []byte, info RecvInfo)) error {
	done, run, err := l.startReading(ctx)
	if !run {
		return err
	}
	defer done()
	if l.ring != nil {
		return l.receiveRing(ctx, func(pkts [][]byte, infos []RecvInfo) {
			for i := range pkts {
				fn(pkts[i], infos[i])
			}
		})
	}
	r := &l.recv
	for {
		err := l.rc.Read(r.fn)
		if err == nil && r.err != 0 {
			err = r.err
		}
		if err != nil {
			return l.readEnd(ctx, err)
		}
		if r.from.Pkttype == pktOutgoing {
			continue
		}
		info := parseControl(r.oob[:r.msg.Controllen])
		info.PktType, info.EtherType = r.from.Pkttype, ntohs(r.from.Protocol)
		if r.msg.Flags&unix.MSG_TRUNC != 0 {
			info.Truncated = true
		}
		if info.Time.IsZero() {
			info.Time = time.Now()
		}
		if r.n < l.hdrLen {
			continue
		}
		fn(trimIP(r.buf[l.hdrLen:r.n]), info)
	}
}

// Stats returns the kernel's PACKET_STATISTICS counters accumulated since
// Open. The kernel resets them on every read; the Link adds them up.
func (l *Link) Stats() (LinkStats, error) {
	l.smu.Lock()
	defer l.smu.Unlock()
	s, err := l.conn.Stats()
	if err != nil {
		return l.stats, fmt.Errorf("rawsock: read PACKET_STATISTICS on %s: %w", l.ifi.Name, err)
	}
	// tp_packets counts the dropped packets too.
	l.stats.Received += uint64(s.Packets)
	l.stats.Dropped += uint64(s.Drops)
	return l.stats, nil
}

// Close closes the link; a running Receive returns nil.
func (l *Link) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	// Wake a reader, wait for it to stop, then give the ring back before
	// the socket goes.
	_ = l.conn.SetReadDeadline(aLongTimeAgo)
	l.rmu.Lock()
	if l.ring != nil {
		_ = l.ring.unmap()
		l.ring = nil
	}
	l.rmu.Unlock()
	// Closing a packet socket waits for an RCU grace period
	// (synchronize_net in packet_release, ~10 ms): the two sockets are
	// closed at once so their waits overlap.
	txDone := make(chan struct{})
	go func() {
		defer close(txDone)
		_ = l.tx.close()
	}()
	err := l.conn.Close()
	<-txDone
	if err != nil {
		return fmt.Errorf("rawsock: close packet socket on %s: %w", l.ifi.Name, err)
	}
	return nil
}

func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
