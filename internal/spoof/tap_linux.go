package spoof

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/tcpprobe/tcpprobe/wire"
)

// Tap captures and injects Ethernet frames on one interface through an
// AF_PACKET socket: the attacker's seat on a link. It is not safe for
// concurrent use.
type Tap struct {
	c   *packet.Conn
	ifi *net.Interface
	buf []byte
}

// OpenTap opens a tap on the interface named ifname of the calling
// thread's network namespace (inside lab.Do to sit in a lab namespace; the
// socket stays there). It needs CAP_NET_RAW.
func OpenTap(ifname string) (*Tap, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("spoof: interface %s: %w", ifname, err)
	}
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
	if err != nil {
		return nil, fmt.Errorf("spoof: AF_PACKET socket on %s (needs CAP_NET_RAW): %w", ifname, err)
	}
	return &Tap{c: c, ifi: ifi, buf: make([]byte, 65536)}, nil
}

// Close closes the tap's socket.
func (t *Tap) Close() error { return t.c.Close() }

// Frame is one captured frame's link-layer source and IP packet.
type Frame struct {
	Src    net.HardwareAddr
	Packet []byte // the IP packet (a private copy)
}

// Next returns the next IPv4 or IPv6 frame seen on the interface (either
// direction) before deadline.
func (t *Tap) Next(deadline time.Time) (Frame, error) {
	if err := t.c.SetReadDeadline(deadline); err != nil {
		return Frame{}, err
	}
	for {
		n, _, err := t.c.ReadFrom(t.buf)
		if err != nil {
			return Frame{}, fmt.Errorf("spoof: reading on %s: %w", t.ifi.Name, err)
		}
		if n < 14 {
			continue
		}
		switch binary.BigEndian.Uint16(t.buf[12:]) {
		case unix.ETH_P_IP, unix.ETH_P_IPV6:
			return Frame{
				Src:    append(net.HardwareAddr(nil), t.buf[6:12]...),
				Packet: append([]byte(nil), t.buf[14:n]...),
			}, nil
		}
	}
}

// WaitSYN returns the first SYN towards dst seen before deadline.
func (t *Tap) WaitSYN(dst netip.AddrPort, deadline time.Time) (SYN, error) {
	for {
		f, err := t.Next(deadline)
		if err != nil {
			return SYN{}, fmt.Errorf("spoof: waiting for a SYN to %s: %w", dst, err)
		}
		s, err := ParseSYN(f.Packet)
		if err == nil && s.IP.Dst == dst.Addr() && s.Seg.DstPort == dst.Port() {
			return s, nil
		}
	}
}

// WaitTCP returns the first TCP segment, from the SYN's source to its
// destination, for which match returns true, seen before deadline.
func (t *Tap) WaitTCP(s SYN, deadline time.Time, match func(wire.Segment) bool) (wire.Segment, error) {
	for {
		f, err := t.Next(deadline)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return wire.Segment{}, fmt.Errorf("spoof: no matching segment from %s:%d by the deadline: %w", s.IP.Src, s.Seg.SrcPort, err)
		}
		if err != nil {
			return wire.Segment{}, err
		}
		var ip wire.IPInfo
		payload, err := wire.ParseIP(f.Packet, &ip)
		if err != nil || ip.Protocol != wire.ProtocolTCP || ip.Src != s.IP.Src || ip.Dst != s.IP.Dst {
			continue
		}
		var seg wire.Segment
		if wire.ParseTCP(payload, &seg) != nil || seg.SrcPort != s.Seg.SrcPort || seg.DstPort != s.Seg.DstPort {
			continue
		}
		if match(seg) {
			return seg, nil
		}
	}
}

// Inject sends the IP packet pkt out of the interface in an Ethernet frame
// to dst, from the interface's own address.
func (t *Tap) Inject(dst net.HardwareAddr, pkt []byte) error {
	f := make([]byte, 14+len(pkt))
	copy(f[0:6], dst)
	copy(f[6:12], t.ifi.HardwareAddr)
	et := uint16(unix.ETH_P_IP)
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		et = unix.ETH_P_IPV6
	}
	binary.BigEndian.PutUint16(f[12:], et)
	copy(f[14:], pkt)
	if _, err := t.c.WriteTo(f, &packet.Addr{HardwareAddr: dst}); err != nil {
		return fmt.Errorf("spoof: injecting on %s: %w", t.ifi.Name, err)
	}
	return nil
}
