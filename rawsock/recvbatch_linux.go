package rawsock

import (
	"context"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchReceiver is the state of ReceiveBatch: one recvmmsg(2) fills up to
// len(msgs) slots, each with its own buffer, address and control data.
type batchReceiver struct {
	bufs  [][]byte
	oobs  [][]byte
	froms []unix.RawSockaddrLinklayer
	iovs  []unix.Iovec
	msgs  []mmsghdr
	pkts  [][]byte
	infos []RecvInfo
	n     int
	err   unix.Errno
	fn    func(fd uintptr) bool
}

// recvBatchBytes bounds the buffers of one ReceiveBatch: slots of one MTU
// each, as many as fit (up to MaxBatch).
const recvBatchBytes = 1 << 20

func (l *Link) newBatchReceiver() *batchReceiver {
	slot := l.hdrLen + l.ifi.MTU + 64
	if l.ifi.MTU <= 0 {
		slot = 1<<16 + l.hdrLen + 64
	}
	n := max(1, min(MaxBatch, recvBatchBytes/slot))
	r := &batchReceiver{
		bufs: make([][]byte, n), oobs: make([][]byte, n), froms: make([]unix.RawSockaddrLinklayer, n),
		iovs: make([]unix.Iovec, n), msgs: make([]mmsghdr, n), pkts: make([][]byte, 0, n), infos: make([]RecvInfo, 0, n),
	}
	for i := 0; i < n; i++ {
		r.bufs[i] = make([]byte, slot)
		oob := make([]uint64, 32) // 8-byte aligned, room for auxdata + timestamp
		r.oobs[i] = unsafe.Slice((*byte)(unsafe.Pointer(&oob[0])), len(oob)*8)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(slot)
		h := &r.msgs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.froms[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = &r.oobs[i][0]
	}
	r.fn = r.read
	return r
}

// receiveRing is ReceiveBatch's loop over the ring: wait for the next
// block, hand its packets to fn, give the block back.
func (l *Link) receiveRing(ctx context.Context, fn func(pkts [][]byte, infos []RecvInfo)) error {
	r := l.ring
	for {
		if err := l.rc.Read(r.fn); err != nil {
			return l.readEnd(ctx, err)
		}
		r.take()
		if len(r.pkts) > 0 {
			fn(r.pkts, r.infos)
		}
		r.release()
	}
}

func (r *batchReceiver) read(fd uintptr) bool {
	for i := range r.msgs {
		h := &r.msgs[i].hdr
		h.Namelen = unix.SizeofSockaddrLinklayer
		h.SetControllen(len(r.oobs[i]))
		h.Flags = 0
		r.msgs[i].len = 0
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.msgs[0])), uintptr(len(r.msgs)), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	r.n, r.err = int(n), e
	return true
}

// ReceiveBatch is Receive for callers that handle packets in groups: each
// call of fn gets the packets of one block of the link's TPACKET_V3
// receive ring (pkts[i] and infos[i] belong together, valid only during
// the call), so a busy link costs one wakeup, and the caller one lock, per
// group rather than per packet. Where the kernel refused a ring at Open,
// each group is what one recvmmsg(2) reads (up to MaxBatch, one MTU
// per slot: a longer packet, which only GRO builds, is cut there and
// flagged Truncated). It shares Receive's rules: one reader per Link, nil
// when ctx is done or the link is closed.
func (l *Link) ReceiveBatch(ctx context.Context, fn func(pkts [][]byte, infos []RecvInfo)) error {
	done, run, err := l.startReading(ctx)
	if !run {
		return err
	}
	defer done()
	if l.ring != nil {
		return l.receiveRing(ctx, fn)
	}
	if l.brecv == nil {
		l.brecv = l.newBatchReceiver()
	}
	r := l.brecv
	for {
		err := l.rc.Read(r.fn)
		if err == nil && r.err != 0 {
			err = r.err
		}
		if err != nil {
			return l.readEnd(ctx, err)
		}
		r.pkts, r.infos = r.pkts[:0], r.infos[:0]
		var now time.Time
		for i := 0; i < r.n; i++ {
			m := &r.msgs[i]
			if r.froms[i].Pkttype == pktOutgoing || int(m.len) < l.hdrLen {
				continue
			}
			info := parseControl(r.oobs[i][:m.hdr.Controllen])
			info.PktType, info.EtherType = r.froms[i].Pkttype, ntohs(r.froms[i].Protocol)
			if m.hdr.Flags&unix.MSG_TRUNC != 0 {
				info.Truncated = true
			}
			if info.Time.IsZero() {
				if now.IsZero() {
					now = time.Now()
				}
				info.Time = now
			}
			r.pkts = append(r.pkts, trimIP(r.bufs[i][l.hdrLen:m.len]))
			r.infos = append(r.infos, info)
		}
		if len(r.pkts) > 0 {
			fn(r.pkts, r.infos)
		}
	}
}
