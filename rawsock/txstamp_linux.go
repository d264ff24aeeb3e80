package rawsock

import (
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Stamped writes go through a second packet socket of the link, the tx
// socket, which only sends: protocol 0, so the kernel hands it no frame.
// On a ring link a transmit tap (txtap_linux.go) gives each frame's send
// time. Otherwise SO_TIMESTAMPING with SOF_TIMESTAMPING_TX_SOFTWARE on the
// tx socket makes the driver
// stamp each frame as it takes it (skb_tx_timestamp in ndo_start_xmit:
// veth, loopback, tun and most NICs call it), right after the taps that
// tcpdump reads have seen it (dev_queue_xmit_nit), and queue the stamp on
// the socket's error queue, read with recvmmsg(MSG_ERRQUEUE).
//
// Why a second socket: every stamp queued on a socket wakes its readers
// (EPOLLERR), so on the link's own socket the receive loop would wake once
// per sent frame for nothing; and the error queue is charged to the
// socket's receive buffer (sock_queue_err_skb), where during a sweep stamps
// and replies would crowd each other out. The tx socket is never read
// through Go's poller (which fails a read wait whose only event is
// EPOLLERR with ErrNotPollable); its error queue is drained with
// non-blocking system calls. How each stamp finds its frame:
// txpend_linux.go.

// txWait bounds how long a stamped write waits for a stamp that is not
// queued when its send call returns (a driver that transmits later, from
// another CPU's qdisc run). A frame whose stamp does not come in time gets
// the time its send call returned.
const txWait = 2 * time.Millisecond

// txProbeFrames is how many stamped frames without any stamp make a link
// give up on kernel stamps (a driver that never calls skb_tx_timestamp).
const txProbeFrames = 8

// Kernel stamp states of a link.
const (
	txUnknown int32 = iota // no stamped write has finished yet
	txKernel               // the driver stamps frames
	txNone                 // it does not: stamped writes take the time the send call returned
)

// txStamper is the tx socket of a link and what drains its error queue.
type txStamper struct {
	// fd is not in Go's netpoller: every stamp the kernel queues on its
	// error queue wakes the socket's waiters (sk_error_report), and an
	// epoll registration made each of them wake the runtime's poller,
	// 65,535 times in a port sweep. A full send queue is waited for with
	// poll(2) (waitWritable).
	fd    int
	seed  maphash.Seed
	state atomic.Int32
	// noStamp counts stamped frames sent while state was txUnknown
	// without a stamp coming back.
	noStamp atomic.Int32

	kernel, after atomic.Uint64

	free chan *txWriter // idle single-frame writers

	// tap, when not nil, is where send times come from instead of the
	// error queue.
	tap *txTap

	mu sync.Mutex
	// Following fields protected by mu.
	pend map[uint64]int64 // frame key → stamp (Unix ns), drained and not yet claimed
	// pendKept is twice what the last scan of pend left: the next scan
	// waits until pend outgrows it (prunePendLocked); pendScans counts
	// scans, for tests.
	pendKept, pendScans int
	rx                  txDrain
}

// txDrain is the preallocated state of one recvmmsg(MSG_ERRQUEUE).
type txDrain struct {
	data [MaxBatch][txKeyLen]byte
	oob  [MaxBatch][256]byte
	iovs [MaxBatch]unix.Iovec
	msgs [MaxBatch]mmsghdr
}

// txWriter is the state of one WriteIPStamped call.
type txWriter struct {
	buf   []byte
	frame []byte
	sa    unix.SockaddrLinklayer
	err   error
	fn    func(fd uintptr) bool
}

func (w *txWriter) write(fd uintptr) bool {
	w.err = unix.Sendto(int(fd), w.frame, 0, &w.sa)
	return w.err != unix.EAGAIN
}

// openTxStamper opens the link's tx socket, of the link socket's type
// (SOCK_RAW or SOCK_DGRAM), with transmit timestamps on the error queue,
// and with tap the socket of a transmit tap that, once setupTap has made it
// work, replaces them. A kernel that refuses SO_TIMESTAMPING leaves a tx
// socket whose writes take the time the send call returned.
func openTxStamper(ifi *net.Interface, typ int, tap bool) (*txStamper, error) {
	fd, err := unix.Socket(unix.AF_PACKET, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("rawsock: open transmit socket for %s: %w", ifi.Name, err)
	}
	t := &txStamper{fd: fd, seed: maphash.MakeSeed(), pend: make(map[uint64]int64, 256), free: make(chan *txWriter, 16)}
	if tap {
		t.tap, _ = newTxTap(ifi, typ) // without one: the error queue
	}
	// The error queue is charged to the receive buffer; it stays short
	// because every stamped write drains it.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	flags := unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, flags) != nil {
		t.state.Store(txNone)
	}
	for i := range t.rx.msgs {
		m := &t.rx.msgs[i].hdr
		t.rx.iovs[i].Base = &t.rx.data[i][0]
		t.rx.iovs[i].SetLen(txKeyLen)
		m.Iov = &t.rx.iovs[i]
		m.SetIovlen(1)
		m.Control = &t.rx.oob[i][0]
	}
	return t, nil
}

// setupTap makes the transmit tap work, for a link header of hdrLen bytes,
// and turns the error queue's stamps off; a tap that fails is closed, and
// the error queue stays. It may run on any thread, and must return before
// the first stamped write.
func (t *txStamper) setupTap(ifi *net.Interface, hdrLen int) {
	if t.tap == nil {
		return
	}
	if t.tap.setup(ifi, hdrLen) != nil {
		_ = t.tap.close()
		t.tap = nil
		return
	}
	_ = unix.SetsockoptInt(t.fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, 0)
	t.state.Store(txUnknown)
}

// close closes the tx socket and the tap; a nil txStamper (Open failed
// before it) is nothing to close. Each close waits for RCU grace periods:
// the two overlap.
func (t *txStamper) close() error {
	if t == nil {
		return nil
	}
	if t.tap == nil {
		return unix.Close(t.fd)
	}
	done := make(chan error, 1)
	go func() { done <- t.tap.close() }()
	err := unix.Close(t.fd)
	return errors.Join(err, <-done)
}

// writeRaw calls write(fd) until it reports done, waiting with poll(2)
// while the socket's send queue is full (write returned false on EAGAIN).
// A tap's ring is drained first: nothing drains it while the link sends
// nothing, and other programs' short TCP frames (a download's ACKs) can
// fill it meanwhile, when the kernel would drop this write's frames from
// the tap and their times would be lost.
func (t *txStamper) writeRaw(write func(fd uintptr) bool) {
	if t.tap != nil {
		t.mu.Lock()
		t.drainTapLocked()
		t.mu.Unlock()
	}
	for !write(uintptr(t.fd)) {
		fds := [1]unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLOUT}}
		if _, err := unix.Poll(fds[:], 10); err != nil && err != unix.EINTR {
			return
		}
	}
}

// WriteIPStamped sends pkt like WriteIP and returns when the frame left:
// the driver's transmit timestamp (SO_TIMESTAMPING, read back from the
// error queue), or, when the kernel gives none within a couple of
// milliseconds, the time the send call returned. It is safe for concurrent
// use and does not allocate once warm.
func (l *Link) WriteIPStamped(pkt []byte, dst net.HardwareAddr) (time.Time, error) {
	t := l.tx
	var w *txWriter
	select {
	case w = <-t.free:
	default:
		w = &txWriter{buf: make([]byte, l.hdrLen+l.ifi.MTU)}
		w.sa.Ifindex = l.ifi.Index
		w.fn = w.write
	}
	defer func() {
		w.frame, w.err = nil, nil
		select {
		case t.free <- w:
		default:
		}
	}()
	if n := l.hdrLen + len(pkt); cap(w.buf) < n {
		w.buf = make([]byte, n)
	}
	var sa unix.RawSockaddrLinklayer
	f, err := l.buildFrame(w.buf, &sa, pkt, dst)
	if err != nil {
		return time.Time{}, err
	}
	w.frame = f
	w.sa.Protocol, w.sa.Halen, w.sa.Addr = sa.Protocol, sa.Halen, sa.Addr
	t.writeRaw(w.fn)
	after := time.Now()
	if w.err != nil {
		return time.Time{}, l.writeErr(w.err)
	}
	var times [1]time.Time
	frames := [1][]byte{f}
	var keys [1]uint64 // made by claim if it needs them
	t.claim(frames[:], keys[:], times[:], after)
	return times[0], nil
}

// WriteIPBatchStamped sends pkts like WriteIPBatch and sets times[i], for
// each of the n packets sent, to when that frame left (see WriteIPStamped;
// the fallback is the time the sendmmsg call that carried it returned).
// times must be as long as pkts. It costs one recvmmsg per sendmmsg when
// the stamps are there as the call returns, which on veth, loopback and a
// NIC whose queue the sender runs itself they are.
func (l *Link) WriteIPBatchStamped(pkts [][]byte, dst []net.HardwareAddr, times []time.Time) (int, error) {
	if len(dst) != len(pkts) || len(times) < len(pkts) {
		return 0, errors.New("rawsock: WriteIPBatchStamped needs one next hop and one time per packet")
	}
	t := l.tx
	b := l.getBatchWriter()
	defer l.putBatchWriter(b)
	var keys [MaxBatch]uint64
	var frames [MaxBatch][]byte
	sent := 0
	for sent < len(pkts) {
		n := min(MaxBatch, len(pkts)-sent)
		for i := 0; i < n; i++ {
			if err := l.frame(b, i, pkts[sent+i], dst[sent+i]); err != nil {
				n = i
				if n == 0 {
					return sent, err
				}
				break
			}
			frames[i] = unsafe.Slice(b.iovs[i].Base, int(b.iovs[i].Len))
		}
		b.n, b.off, b.errno = n, 0, 0
		t.writeRaw(b.fn)
		after := time.Now()
		if b.off > 0 {
			t.claim(frames[:b.off], keys[:b.off], times[sent:sent+b.off], after)
		}
		sent += b.off
		if b.errno != 0 {
			return sent, l.writeErr(b.errno)
		}
	}
	return sent, nil
}

// TxStamps says how the send times of stamped writes on this link were
// taken so far.
func (l *Link) TxStamps() TxStampStats {
	return TxStampStats{Kernel: l.tx.kernel.Load(), AfterSend: l.tx.after.Load()}
}
