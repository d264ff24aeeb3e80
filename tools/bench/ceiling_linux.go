package bench

import (
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"time"
	"unsafe"

	"github.com/tcpprobe/tcpprobe/wire"
	"golang.org/x/sys/unix"
)

// Ceiling sends cfg.Packets prebuilt SYN frames as fast as one AF_PACKET
// socket can and returns packets/s: the most any prober can send over that
// path on this machine. On a veth path the send call itself carries each
// frame through the router and server, so this is the path's ceiling, not
// only the socket's.
func Ceiling(cfg CeilingConfig) (float64, error) {
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return 0, fmt.Errorf("ceiling: %w", err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0) // protocol 0: send only
	if err != nil {
		return 0, fmt.Errorf("ceiling: packet socket: %w (needs CAP_NET_RAW)", err)
	}
	defer unix.Close(fd)
	if cfg.Batch < 1 {
		cfg.Batch = 1
	}
	// Prebuild one frame per port of a 64k cycle; checksums are real.
	const ports = 65535
	frames := make([][]byte, ports)
	for i := range frames {
		spec := wire.SegmentSpec{Src: cfg.Src, Dst: cfg.Dst, TTL: 64, SrcPort: cfg.SrcPort,
			DstPort: uint16(i + 1), Seq: uint32(i) * 7919, Flags: wire.SYN, Window: 64240}
		f := make([]byte, 14+wire.MaxSegmentLen)
		n, err := wire.EncodeSegment(f[14:], &spec)
		if err != nil {
			return 0, err
		}
		copy(f[0:6], cfg.DstMAC)
		copy(f[6:12], ifi.HardwareAddr)
		binary.BigEndian.PutUint16(f[12:14], 0x0800)
		frames[i] = f[:14+n]
	}
	workers := max(1, cfg.Workers)
	start := time.Now()
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() { errs <- sendFrames(fd, ifi, cfg, frames, cfg.Packets/workers) }()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	return float64(cfg.Packets/workers*workers) / time.Since(start).Seconds(), nil
}

// sendFrames sends count frames from frames over fd, cfg.Batch per call.
func sendFrames(fd int, ifi *net.Interface, cfg CeilingConfig, frames [][]byte, count int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const ports = 65535
	sa := unix.RawSockaddrLinklayer{Family: unix.AF_PACKET, Ifindex: int32(ifi.Index), Halen: 6}
	copy(sa.Addr[:], cfg.DstMAC)
	type mmsghdr struct {
		hdr unix.Msghdr
		len uint32
		_   [4]byte
	}
	msgs := make([]mmsghdr, cfg.Batch)
	iovs := make([]unix.Iovec, cfg.Batch)
	for i := range msgs {
		msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&sa))
		msgs[i].hdr.Namelen = unix.SizeofSockaddrLinklayer
		msgs[i].hdr.Iov = &iovs[i]
		msgs[i].hdr.SetIovlen(1)
	}
	sent := 0
	for sent < count {
		n := min(cfg.Batch, count-sent)
		for i := 0; i < n; i++ {
			f := frames[(sent+i)%ports]
			iovs[i].Base = &f[0]
			iovs[i].SetLen(len(f))
		}
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(n), 0, 0, 0)
		if e != 0 {
			if e == unix.ENOBUFS || e == unix.EAGAIN {
				continue
			}
			return fmt.Errorf("ceiling: sendmmsg: %w", e)
		}
		sent += int(r)
	}
	return nil
}
