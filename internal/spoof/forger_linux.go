package spoof

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/tcpprobe/tcpprobe/wire"
)

// MAC returns the hardware address of the tap's interface.
func (t *Tap) MAC() net.HardwareAddr { return t.ifi.HardwareAddr }

// InjectFrame sends the whole Ethernet frame f (destination MAC first)
// out of the tap's interface as it is: VLAN tags, foreign MACs and all.
// ENOBUFS (a full transmit queue) is retried for up to a second.
func (t *Tap) InjectFrame(f []byte) error {
	if len(f) < 14 {
		return fmt.Errorf("spoof: a frame of %d bytes is shorter than an Ethernet header", len(f))
	}
	dst := &packet.Addr{HardwareAddr: net.HardwareAddr(f[:6])}
	deadline := time.Now().Add(time.Second)
	for {
		_, err := t.c.WriteTo(f, dst)
		if errors.Is(err, unix.ENOBUFS) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		if err != nil {
			return fmt.Errorf("spoof: injecting on %s: %w", t.ifi.Name, err)
		}
		return nil
	}
}

// Forger plays the target: on a Tap in the router it sees each client SYN
// to one of its addresses and answers it by destination port. Nothing
// else must answer those SYNs (a blackhole route in the router).
type Forger struct {
	tap     *Tap
	dsts    map[netip.Addr]bool
	answers map[uint16]Answer
	stop    chan struct{}
	wg      sync.WaitGroup

	// Following fields protected by mu.
	mu   sync.Mutex
	seen map[[2]netip.AddrPort]int // SYNs per flow
	errs []error
}

// forgerReadBuffer is the receive buffer of a forger's tap: a burst of a
// few hundred SYNs must not overflow it (each veth frame costs a few KiB
// of buffer).
const forgerReadBuffer = 32 << 20

// StartForger starts a forger reading tap that answers SYNs to any of
// dsts on the ports of answers. Stop it with Stop.
func StartForger(tap *Tap, dsts []netip.Addr, answers map[uint16]Answer) *Forger {
	f := &Forger{
		tap: tap, dsts: map[netip.Addr]bool{}, answers: answers,
		stop: make(chan struct{}), seen: map[[2]netip.AddrPort]int{},
	}
	for _, a := range dsts {
		f.dsts[a] = true
	}
	if err := tap.setReadBuffer(forgerReadBuffer); err != nil {
		f.fail(err)
	}
	f.wg.Add(1)
	go f.loop()
	return f
}

func (f *Forger) loop() {
	defer f.wg.Done()
	for {
		select {
		case <-f.stop:
			return
		default:
		}
		fr, err := f.tap.Next(time.Now().Add(100 * time.Millisecond))
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || isTimeout(err) {
				continue
			}
			f.fail(err)
			return
		}
		s, err := parseSYNPartial(fr.Packet)
		if err != nil || !f.dsts[s.IP.Dst] {
			continue
		}
		ans := f.answers[s.Seg.DstPort]
		if ans == nil {
			continue
		}
		key := [2]netip.AddrPort{
			netip.AddrPortFrom(s.IP.Src, s.Seg.SrcPort),
			netip.AddrPortFrom(s.IP.Dst, s.Seg.DstPort),
		}
		f.mu.Lock()
		f.seen[key]++
		n := f.seen[key]
		f.mu.Unlock()
		seen := time.Now()
		sends := ans(s, n)
		frames := make([][]byte, len(sends))
		for i, snd := range sends {
			dst := snd.DstMAC
			if dst == nil {
				dst = fr.Src
			}
			frames[i] = Ethernet(dst, f.tap.MAC(), snd.VLAN, snd.Packet)
		}
		f.wg.Add(1)
		go f.send(seen, sends, frames)
	}
}

// send sends the frames of one answer in order, each at seen plus its
// After (one goroutine per answer, so that two frames of one answer never
// swap places), unless the forger is stopped.
func (f *Forger) send(seen time.Time, sends []Send, frames [][]byte) {
	defer f.wg.Done()
	for i, snd := range sends {
		if d := time.Until(seen.Add(snd.After)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-f.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
		for j := 0; j < max(snd.Repeat, 1); j++ {
			if j%1024 == 1023 {
				select {
				case <-f.stop:
					return
				default:
				}
			}
			if err := f.tap.InjectFrame(frames[i]); err != nil {
				f.fail(err)
				return
			}
		}
		if snd.Then != nil {
			snd.Then()
		}
	}
}

func (f *Forger) fail(err error) {
	f.mu.Lock()
	f.errs = append(f.errs, err)
	f.mu.Unlock()
}

// SYNs returns how many SYNs the forger saw to dst from any source.
func (f *Forger) SYNs(dst netip.AddrPort) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, c := range f.seen {
		if k[1] == dst {
			n += c
		}
	}
	return n
}

// Stop ends the forger, waits for its sends to end or be dropped, and
// returns the first error it met (reading or injecting).
func (f *Forger) Stop() error {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	f.wg.Wait()
	if st, err := f.tap.c.Stats(); err != nil {
		f.fail(fmt.Errorf("spoof: reading the tap's statistics: %w", err))
	} else if st.Drops > 0 {
		f.fail(fmt.Errorf("spoof: the tap dropped %d of %d frames: the forger missed SYNs", st.Drops, st.Packets))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return errors.Join(f.errs...)
}

// setReadBuffer sets the tap socket's receive buffer to bytes, past
// net.core.rmem_max (SO_RCVBUFFORCE, CAP_NET_ADMIN).
func (t *Tap) setReadBuffer(bytes int) error {
	rc, err := t.c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bytes)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("spoof: SO_RCVBUFFORCE %d on %s: %w", bytes, t.ifi.Name, serr)
	}
	return nil
}

// parseSYNPartial is ParseSYN without the checksum check: a kernel's SYN
// seen on the peer of a veth still carries a partial checksum (the
// transmit offload never computed it).
func parseSYNPartial(pkt []byte) (SYN, error) {
	var s SYN
	payload, err := wire.ParseIP(pkt, &s.IP)
	if err != nil || s.IP.Protocol != wire.ProtocolTCP || s.IP.Fragment {
		return SYN{}, ErrNotSYN
	}
	if err := wire.ParseTCP(payload, &s.Seg); err != nil || s.Seg.Flags&(wire.SYN|wire.ACK|wire.RST) != wire.SYN {
		return SYN{}, ErrNotSYN
	}
	s.Packet = append([]byte(nil), pkt[:s.IP.HeaderLen+len(payload)]...)
	return s, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
