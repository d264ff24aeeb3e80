package rawsock

import (
	"errors"
	"fmt"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxBatch is the most packets one WriteIPBatch call hands to the kernel in
// one sendmmsg(2).
const MaxBatch = 64

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// batchWriter is the preallocated state of WriteIPBatch: frame buffers,
// addresses and headers for MaxBatch packets.
type batchWriter struct {
	frames [MaxBatch][]byte
	sas    [MaxBatch]unix.RawSockaddrLinklayer
	iovs   [MaxBatch]unix.Iovec
	msgs   [MaxBatch]mmsghdr
	n, off int // packets in this call, packets already sent
	errno  unix.Errno
	fn     func(fd uintptr) bool
	done   bool             // what write returned under ctl
	ctl    func(fd uintptr) // write for RawConn.Control, made once
}

// write sends the batch's unsent packets. It enters the kernel with
// RawSyscall: the socket is non-blocking, so sendmmsg never sleeps, but on
// a veth path it runs for hundreds of microseconds (the kernel carries each
// frame through the peers' stacks inside the call), and a plain Syscall
// lets the runtime hand the sender's P to another thread each time: ~7,000
// context switches in a 65,535-port sweep. A caller that sends from
// several goroutines leaves a P free for its other work (probe.Prober
// does).
func (b *batchWriter) write(fd uintptr) bool {
	for b.off < b.n {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.msgs[b.off])), uintptr(b.n-b.off), 0, 0, 0)
		switch e {
		case 0:
			b.off += int(r)
		case unix.EAGAIN:
			return false // wait until writable, then go on
		case unix.EINTR:
		default:
			b.errno = e
			return true
		}
	}
	return true
}

// WriteIPBatch sends pkts[i] to next hop dst[i] (see WriteIP) with as few
// sendmmsg(2) calls as the kernel allows, MaxBatch packets at most per call.
// It returns how many packets, in order, the kernel took; on an error the
// rest were not sent. It is safe for concurrent use: concurrent callers
// send in parallel (on a veth path the send call carries each packet
// through the peer's stack, so parallel senders use every CPU). It does
// not allocate once each concurrent caller has had its first call.
func (l *Link) WriteIPBatch(pkts [][]byte, dst []net.HardwareAddr) (int, error) {
	if len(dst) != len(pkts) {
		return 0, errors.New("rawsock: WriteIPBatch needs one next hop per packet")
	}
	b := l.getBatchWriter()
	defer l.putBatchWriter(b)
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
		}
		b.n, b.off, b.errno = n, 0, 0
		// Control holds only a reference to the socket, so concurrent
		// callers' sendmmsg calls run in parallel; Write would serialise
		// them behind the descriptor's write lock. Write is for waiting:
		// only when the kernel's send queue is full.
		b.done = false
		err := l.rc.Control(b.ctl)
		if err == nil && !b.done {
			err = l.rc.Write(b.fn)
		}
		sent += b.off
		if err != nil {
			return sent, l.writeErr(err)
		}
		if b.errno != 0 {
			return sent, l.writeErr(b.errno)
		}
	}
	return sent, nil
}

// getBatchWriter takes an idle batch writer or makes one.
func (l *Link) getBatchWriter() *batchWriter {
	var b *batchWriter
	select {
	case b = <-l.bfree:
	default:
		b = &batchWriter{}
	}
	if b.fn == nil {
		b.fn = b.write
		b.ctl = func(fd uintptr) { b.done = b.write(fd) }
		for i := range b.msgs {
			b.frames[i] = make([]byte, l.hdrLen+l.ifi.MTU)
			b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.sas[i]))
			b.msgs[i].hdr.Namelen = unix.SizeofSockaddrLinklayer
			b.msgs[i].hdr.Iov = &b.iovs[i]
			b.msgs[i].hdr.SetIovlen(1)
		}
	}
	return b
}

// putBatchWriter returns b to the idle list.
func (l *Link) putBatchWriter(b *batchWriter) {
	select {
	case l.bfree <- b:
	default:
	}
}

// frame builds packet i of the batch: link header, payload, address.
func (l *Link) frame(b *batchWriter, i int, pkt []byte, dst net.HardwareAddr) error {
	if n := l.hdrLen + len(pkt); cap(b.frames[i]) < n {
		return fmt.Errorf("rawsock: WriteIPBatch on %s: %d-byte packet exceeds the MTU %d", l.ifi.Name, len(pkt), l.ifi.MTU)
	}
	f, err := l.buildFrame(b.frames[i], &b.sas[i], pkt, dst)
	if err != nil {
		return err
	}
	b.iovs[i].Base = &f[0]
	b.iovs[i].SetLen(len(f))
	return nil
}
