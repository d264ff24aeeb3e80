package rawsock

import (
	"hash/maphash"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The stamps a link's writers wait for, from the tap's ring or the tx
// socket's error queue, and how each finds its frame.
//
// Matching a stamp to its frame: several goroutines send on one link at
// once (probe.Prober's launch workers), so the order of stamps in the queue
// says nothing about whose they are, and a counter key (OPT_ID) is taken
// by whichever send reaches the kernel first. Without OPT_TSONLY the queue
// returns the frame itself: its first txKeyLen bytes, hashed, are the key
// (addresses, ports, sequence number, IP ID and TSval make it unique among
// frames in flight). A caller drains the queue under txStamper.mu into
// pend, then takes its own frames' stamps from pend; stamps another
// caller's drain moved there wait for their owner. A tap's ring is drained
// the same way, except that a caller takes its own frames as they come, in
// the order it sent them, by comparing bytes (ownLocked).

// txKeyLen is how much of a frame its key covers: Ethernet, IPv6 and a
// TCP header with 40 bytes of options fit.
const txKeyLen = 14 + 40 + 60

// txPendMax is how many stamps drained but not claimed pend holds before
// prunePendLocked first drops those older than txPendAge (their owner gave
// up on them); later scans wait until pend has doubled.
const (
	txPendMax = 4096
	txPendAge = time.Second
)

// key is the key of a frame as the error queue returns it.
func (t *txStamper) key(frame []byte) uint64 {
	return maphash.Bytes(t.seed, frame[:min(len(frame), txKeyLen)])
}

// drainLocked moves every stamp in the tap's ring or the error queue into
// pend; t.mu is held.
func (t *txStamper) drainLocked() {
	if t.tap != nil {
		t.drainTapLocked()
		return
	}
	for {
		for i := range t.rx.msgs {
			t.rx.msgs[i].hdr.SetControllen(len(t.rx.oob[i]))
			t.rx.msgs[i].hdr.Flags = 0
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(t.fd), uintptr(unsafe.Pointer(&t.rx.msgs[0])), MaxBatch,
			unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			break // EAGAIN: empty
		}
		n := int(r)
		for i := 0; i < n; i++ {
			m := &t.rx.msgs[i]
			ns, ok := parseTxStamp(t.rx.oob[i][:m.hdr.Controllen])
			if !ok {
				continue
			}
			t.pend[t.key(t.rx.data[i][:min(int(m.len), txKeyLen)])] = ns
		}
		if n < MaxBatch {
			break
		}
	}
	t.prunePendLocked()
}

// drainTapLocked moves the times of every frame in the tap's ring into
// pend; t.mu is held.
func (t *txStamper) drainTapLocked() {
	t.ownLocked(nil, nil, nil)
}

// ownLocked drains the tap's ring: a frame that is frames[*next], the
// caller's next frame, sets times[*next] (the ring hands a writer's frames
// over in the order it sent them, mostly without another writer's between),
// and every other frame's time goes into pend for its owner, who finds it
// by key. A frame taken in order costs a comparison where pend costs two
// hashes of the frame and three map operations. It returns how many of the
// caller's frames it set; t.mu is held.
//
// Frames can be byte-identical: the kernel answers a SYN-ACK it has no
// socket for with the very RST a prober's teardown sends. The write's own
// drain before it sends (writeRaw) takes such a frame, sent earlier, out
// of the ring first; and a frame identical to the caller's last frame
// taken in order replaces its time, so the later of two identical frames
// is the caller's, as pend's last write wins.
func (t *txStamper) ownLocked(frames [][]byte, times []time.Time, next *int) int {
	set, last := 0, -1
	skip := func() { // past frames already stamped (from pend)
		for next != nil && *next < len(frames) && !times[*next].IsZero() {
			*next++
		}
	}
	skip()
	for {
		frame, ns, ok := t.tap.next()
		if !ok {
			break
		}
		if ns != 0 && frame != nil {
			switch {
			case next != nil && *next < len(frames) && sameFrame(frame, frames[*next]):
				times[*next] = time.Unix(0, ns)
				set++
				last = *next
				*next++
				skip()
			case last >= 0 && sameFrame(frame, frames[last]):
				times[last] = time.Unix(0, ns)
			default:
				t.pend[t.key(frame)] = ns
			}
		}
		t.tap.release()
	}
	t.prunePendLocked()
	return set
}

// sameFrame reports whether tapped, a frame as the tap's ring holds it
// (its first txKeyLen bytes at most), is sent, the frame as written: what
// equal keys (key) say, without hashing.
func sameFrame(tapped, sent []byte) bool {
	return len(tapped) == min(len(sent), txKeyLen) && string(tapped) == string(sent[:len(tapped)])
}

// prunePendLocked drops stamps nobody claimed for txPendAge once pend
// holds more than txPendMax, and more than twice what its last scan left:
// stamps nobody will claim (the kernel's own RST for each SYN-ACK it has no
// socket for, another program's ACKs) can pile up faster than they age,
// and a scan of all of them at every drain made a fleet sweep's writes
// quadratic (a /16 × port 80: 1.0 -> 1.8 s). Doubling pays each scan with
// the stamps added since the last. t.mu is held.
func (t *txStamper) prunePendLocked() {
	if len(t.pend) <= max(txPendMax, t.pendKept) {
		return
	}
	t.pendScans++
	old := time.Now().Add(-txPendAge).UnixNano()
	for k, ns := range t.pend {
		if ns < old {
			delete(t.pend, k)
		}
	}
	t.pendKept = 2 * len(t.pend)
}

// parseTxStamp reads the software transmit time (SCM_TIMESTAMPING ts[0])
// of one error-queue message whose extended error says it is a send
// timestamp (SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND). It does not
// allocate.
func parseTxStamp(oob []byte) (ns int64, ok bool) {
	var isSnd bool
	eachCmsg(oob, func(h *unix.Cmsghdr, data []byte) {
		switch {
		case h.Level == unix.SOL_PACKET && h.Type == unix.PACKET_TX_TIMESTAMP && len(data) >= int(unsafe.Sizeof(unix.SockExtendedErr{})):
			ee := (*unix.SockExtendedErr)(unsafe.Pointer(&data[0]))
			isSnd = ee.Origin == unix.SO_EE_ORIGIN_TIMESTAMPING && ee.Info == unix.SCM_TSTAMP_SND
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPING && len(data) >= 3*int(unsafe.Sizeof(unix.Timespec{})):
			ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			if ts.Sec != 0 || ts.Nsec != 0 {
				ns = ts.Nano()
			}
		}
	})
	return ns, isSnd && ns != 0
}

// claim sets times[i] to the kernel stamp of frames[i] where one has come,
// waiting up to txWait for missing ones, and to after elsewhere. keys is
// room for the frames' keys, made only for frames a tap's ring did not
// hand over in order (ownLocked).
func (t *txStamper) claim(frames [][]byte, keys []uint64, times []time.Time, after time.Time) {
	st := t.state.Load()
	if st == txNone {
		for i := range times {
			times[i] = after
		}
		t.after.Add(uint64(len(times)))
		return
	}
	missing := len(frames)
	deadline := after.Add(txWait)
	for i := range times {
		times[i] = time.Time{}
	}
	next, keyed := 0, false
	for {
		t.mu.Lock()
		if t.tap != nil {
			missing -= t.ownLocked(frames, times, &next)
		} else {
			t.drainLocked()
		}
		if missing > 0 && !keyed {
			for i, f := range frames {
				if times[i].IsZero() {
					keys[i] = t.key(f)
				}
			}
			keyed = true
		}
		for i, k := range keys[:len(frames)] {
			if missing == 0 {
				break
			}
			if !times[i].IsZero() {
				continue
			}
			if ns, ok := t.pend[k]; ok {
				delete(t.pend, k)
				times[i] = time.Unix(0, ns)
				missing--
			}
		}
		t.mu.Unlock()
		if missing == 0 || !time.Now().Before(deadline) {
			break
		}
		// Wait for the tap's ring (POLLIN) or the error queue (POLLERR),
		// a millisecond at most per round: another caller's drain may
		// have moved our stamp.
		fds := [1]unix.PollFd{{Fd: int32(t.fd)}}
		if t.tap != nil {
			fds[0] = unix.PollFd{Fd: int32(t.tap.fd), Events: unix.POLLIN}
		}
		_, _ = unix.Poll(fds[:], 1)
	}
	got := len(frames) - missing
	t.kernel.Add(uint64(got))
	t.after.Add(uint64(missing))
	for i := range times {
		if times[i].IsZero() {
			times[i] = after
		}
	}
	switch {
	case got > 0 && st == txUnknown:
		t.state.CompareAndSwap(txUnknown, txKernel)
	case got == 0 && st == txUnknown:
		if t.noStamp.Add(int32(len(frames))) >= txProbeFrames && t.state.CompareAndSwap(txUnknown, txNone) {
			// Stop the kernel queueing what nobody will read.
			_ = unix.SetsockoptInt(t.fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, 0)
		}
	}
}
