package lab

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// delayer holds packets the router routes into its TUN device and writes them back
// later, so the kernel forwards them again: a netem-less delay.
type delayer struct {
	f    *os.File
	free chan []byte     // packet buffers not in use
	path chan heldPacket // held DelayPath
	icmp chan heldPacket // held DelayICMP
	done chan struct{}
	once sync.Once
}

type heldPacket struct {
	due time.Time
	buf []byte // full buffer from free; n bytes used
	n   int
}

const (
	delayBuffers = 1024
	delayBufSize = 2048 // MTU 1500 fits
)

// openDelayer creates the TUN device DelayIf in the router.
func (l *Lab) openDelayer() (*delayer, error) {
	var fd int
	err := l.Do(l.Router, func() error {
		var err error
		fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("opening /dev/net/tun (load the tun module): %w", err)
		}
		ifr, err := unix.NewIfreq(DelayIf)
		if err != nil {
			unix.Close(fd)
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("creating TUN device %s: %w", DelayIf, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d := &delayer{
		f:    os.NewFile(uintptr(fd), DelayIf), // nonblocking: uses the runtime poller
		free: make(chan []byte, delayBuffers),
		path: make(chan heldPacket, delayBuffers),
		icmp: make(chan heldPacket, delayBuffers),
		done: make(chan struct{}),
	}
	for range delayBuffers {
		d.free <- make([]byte, delayBufSize)
	}
	return d, nil
}

// start runs the read loop and one writer per delay class.
func (d *delayer) start(wg *sync.WaitGroup) {
	wg.Add(3)
	go func() { defer wg.Done(); d.read() }()
	go func() { defer wg.Done(); d.write(d.path) }()
	go func() { defer wg.Done(); d.write(d.icmp) }()
}

// stop ends the goroutines and closes the device.
func (d *delayer) stop() {
	d.once.Do(func() {
		close(d.done)
		d.f.Close()
	})
}

// isICMP reports whether an IP packet is ICMP or ICMPv6 (no extension headers: the
// kernel's own errors have none).
func isICMP(p []byte) bool {
	switch {
	case len(p) >= 20 && p[0]>>4 == 4:
		return p[9] == unix.IPPROTO_ICMP
	case len(p) >= 40 && p[0]>>4 == 6:
		return p[6] == unix.IPPROTO_ICMPV6
	}
	return false
}

func (d *delayer) read() {
	scratch := make([]byte, delayBufSize)
	for {
		var buf []byte
		select {
		case buf = <-d.free:
		default:
			buf = scratch // every buffer held: read and drop, like a full queue
		}
		n, err := d.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			select {
			case <-d.done:
				return
			default:
			}
			if &buf[0] != &scratch[0] {
				d.free <- buf
			}
			time.Sleep(time.Millisecond) // an unexpected error must not spin
			continue
		}
		if &buf[0] == &scratch[0] {
			continue
		}
		q, delay := d.path, DelayPath
		if isICMP(buf[:n]) {
			q, delay = d.icmp, DelayICMP
		}
		select {
		case q <- heldPacket{due: time.Now().Add(delay), buf: buf, n: n}:
		default:
			d.free <- buf
		}
	}
}

// write sends packets of one delay class back in order, each at its due time.
func (d *delayer) write(q chan heldPacket) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var p heldPacket
		select {
		case p = <-q:
		case <-d.done:
			return
		}
		if wait := time.Until(p.due); wait > 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-d.done:
				return
			}
		}
		_, _ = d.f.Write(p.buf[:p.n]) // a failed write is a lost packet
		d.free <- p.buf
	}
}
