package rawsock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// usableNUD are the neighbour states whose link-layer address the kernel
// itself would send to.
const usableNUD = netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY |
	netlink.NUD_PROBE | netlink.NUD_PERMANENT | netlink.NUD_NOARP

// ResolveNeighbor returns the link-layer address of r.NextHop on r.Interface:
// ResolveNeighborTrace without the record of what was sent.
func ResolveNeighbor(ctx context.Context, r Route, tries int, interval time.Duration) (net.HardwareAddr, error) {
	n, err := ResolveNeighborTrace(ctx, r, tries, interval)
	return n.HardwareAddr, err
}

// ResolveNeighborTrace finds the link-layer address of r.NextHop on
// r.Interface and says how. It takes it from the kernel's neighbour table
// when that holds a usable entry (REACHABLE, STALE, DELAY, PROBE,
// PERMANENT, NOARP). Otherwise it solicits the address itself, with ARP
// (IPv4) or NDP (IPv6), up to tries times, interval apart (defaults 3 and
// 1 s), and records when each solicitation left and when the answer came.
// When none is answered it fails with a *NeighborError wrapping
// syscall.EHOSTUNREACH, as connect(2) does after a neighbour failure; when
// ctx ends first (its deadline bounds the whole resolution), with a
// *NeighborError wrapping ctx.Err(). Either error holds what was sent.
//
// It solicits in user space rather than making the kernel resolve, so that
// tries and interval are the caller's and not the interface's sysctls, and
// so that the wait is bounded by ctx. The kernel's table is not changed.
//
// Interfaces without a link layer (loopback, TUN, WireGuard) and local
// routes return a zero Neighbor and no error.
func ResolveNeighborTrace(ctx context.Context, r Route, tries int, interval time.Duration) (Neighbor, error) {
	return ResolveNeighborVia(ctx, r, tries, interval, nil)
}

// ResolveNeighborVia is ResolveNeighborTrace that solicits through sol's
// kept sockets when it may not open its own (privileges were dropped).
func ResolveNeighborVia(ctx context.Context, r Route, tries int, interval time.Duration, sol *Solicitor) (Neighbor, error) {
	ifi := r.Interface
	if r.Local || ifi.Flags&net.FlagLoopback != 0 || len(ifi.HardwareAddr) == 0 {
		return Neighbor{}, nil
	}
	if !r.NextHop.IsValid() {
		return Neighbor{}, errors.New("rawsock: ResolveNeighbor: route has no next hop")
	}
	if tries <= 0 {
		tries = DefaultSolicitTries
	}
	if interval <= 0 {
		interval = DefaultSolicitInterval
	}
	nh := r.NextHop.Unmap()
	if hw, err := kernelNeighbor(ifi.Index, nh); err != nil {
		return Neighbor{}, err
	} else if hw != nil {
		return Neighbor{HardwareAddr: hw, FromTable: true}, nil
	}
	s := &solicitation{ctx: ctx, ifi: &ifi, nh: nh, tries: tries, interval: interval, sol: sol}
	if nh.Is4() {
		s.n.Protocol = "arp"
		return s.arp(r.Src.Unmap())
	}
	s.n.Protocol = "ndp"
	return s.ndp(r.Src)
}

// kernelNeighbor returns the address of a usable entry for ip in the kernel's
// neighbour table, or nil.
func kernelNeighbor(index int, ip netip.Addr) (net.HardwareAddr, error) {
	fam := netlink.FAMILY_V4
	if ip.Is6() {
		fam = netlink.FAMILY_V6
	}
	neighs, err := netlink.NeighList(index, fam)
	if err != nil {
		return nil, fmt.Errorf("rawsock: read neighbour table: %w", err)
	}
	for _, n := range neighs {
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok || a.Unmap() != ip.WithZone("") || n.State&usableNUD == 0 || len(n.HardwareAddr) == 0 {
			continue
		}
		return n.HardwareAddr, nil
	}
	return nil, nil
}

// solicitation is one resolution by solicitation: where, how often, and
// what it has sent so far.
type solicitation struct {
	ctx      context.Context
	ifi      *net.Interface
	nh       netip.Addr
	tries    int
	interval time.Duration
	sol      *Solicitor // kept sockets, for when it may not open its own
	n        Neighbor
}

// fail is the error after the last solicitation, or after ctx ended.
func (s *solicitation) fail(err error) (Neighbor, error) {
	return s.n, &NeighborError{NextHop: s.nh, Interface: s.ifi.Name, Tries: s.tries, Interval: s.interval, Neighbor: s.n, Err: err}
}

// run is the common loop: send, then wait for an answer until the next
// send; deadlines come from ctx. It returns the answer's hardware address,
// nil after the last unanswered try, or the error that stopped it.
func (s *solicitation) run(setDeadline func(time.Time) error, send func() error, recv func() (net.HardwareAddr, error)) (net.HardwareAddr, error) {
	ctx := s.ctx
	stop := context.AfterFunc(ctx, func() { _ = setDeadline(aLongTimeAgo) })
	defer stop()
	deadline, bounded := ctx.Deadline()
	for range s.tries {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The deadline's own timer may not have fired yet: a request
		// due at the deadline is not sent.
		if bounded && !time.Now().Before(deadline) {
			return nil, context.DeadlineExceeded
		}
		if err := send(); err != nil {
			return nil, err
		}
		sent := time.Now()
		s.n.Sent = append(s.n.Sent, sent)
		until := sent.Add(s.interval)
		for {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err := setDeadline(until); err != nil {
				return nil, err
			}
			hw, err := recv()
			if err == nil && hw != nil {
				s.n.Answered = time.Now()
				return hw, nil
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				return nil, err
			}
			if !time.Now().Before(until) {
				break
			}
		}
	}
	return nil, nil
}

// finish turns what run returned into the resolution's result.
func (s *solicitation) finish(hw net.HardwareAddr, err error) (Neighbor, error) {
	switch {
	case hw != nil:
		s.n.HardwareAddr = hw
		return s.n, nil
	case err != nil && s.ctx.Err() != nil:
		return s.fail(s.ctx.Err())
	case errors.Is(err, context.DeadlineExceeded):
		return s.fail(err)
	case err != nil:
		return s.n, fmt.Errorf("rawsock: %s for %s on %s: %w", s.n.Protocol, s.nh, s.ifi.Name, err)
	}
	return s.fail(syscall.EHOSTUNREACH)
}

// socketError explains a failure to open the solicitation socket.
func socketError(what string, ifi *net.Interface, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("rawsock: %s socket on %s: %w: needs CAP_NET_RAW (run as root or `sudo setcap cap_net_raw+ep $(which tcpprobe)`)", what, ifi.Name, err)
	}
	return fmt.Errorf("rawsock: %s socket on %s: %w", what, ifi.Name, err)
}

func (s *solicitation) arp(src netip.Addr) (Neighbor, error) {
	ifi, nh := s.ifi, s.nh
	if !src.Is4() {
		return s.n, fmt.Errorf("rawsock: ARP for %s on %s needs an IPv4 source address, route has %s", nh, ifi.Name, src)
	}
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
	if kept, unlock, ok := keptARP(s.sol, err); ok {
		c, err = kept, nil
		defer unlock()
	} else if err == nil {
		defer c.Close()
	}
	if err != nil {
		return s.n, socketError("ARP", ifi, err)
	}
	req, err := arp.NewPacket(arp.OperationRequest, ifi.HardwareAddr, src, ethernet.Broadcast[:len(ifi.HardwareAddr)], nh)
	if err != nil {
		return s.n, fmt.Errorf("rawsock: build ARP request for %s on %s: %w", nh, ifi.Name, err)
	}
	// The target hardware address of a request is unknown: zero.
	req.TargetHardwareAddr = make(net.HardwareAddr, len(ifi.HardwareAddr))
	pb, err := req.MarshalBinary()
	if err != nil {
		return s.n, fmt.Errorf("rawsock: build ARP request: %w", err)
	}
	fb, err := (&ethernet.Frame{
		Destination: ethernet.Broadcast,
		Source:      ifi.HardwareAddr,
		EtherType:   ethernet.EtherTypeARP,
		Payload:     pb,
	}).MarshalBinary()
	if err != nil {
		return s.n, fmt.Errorf("rawsock: build ARP frame: %w", err)
	}
	buf := make([]byte, 1500)
	return s.finish(s.run(c.SetReadDeadline,
		func() error {
			if _, err := c.WriteTo(fb, &packet.Addr{HardwareAddr: ethernet.Broadcast}); err != nil {
				return fmt.Errorf("send ARP request for %s on %s: %w", nh, ifi.Name, err)
			}
			return nil
		},
		func() (net.HardwareAddr, error) {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return nil, err
			}
			var f ethernet.Frame
			if f.UnmarshalBinary(buf[:n]) != nil || f.EtherType != ethernet.EtherTypeARP {
				return nil, nil
			}
			var p arp.Packet
			if p.UnmarshalBinary(f.Payload) != nil || p.SenderIP != nh {
				return nil, nil
			}
			// A reply, or the target's own request for us: both carry its MAC.
			return p.SenderHardwareAddr, nil
		}))
}

func (s *solicitation) ndp(src netip.Addr) (Neighbor, error) {
	ifi, nh := s.ifi, s.nh
	var addr ndp.Addr = ndp.LinkLocal
	if src.Is6() && !src.IsLinkLocalUnicast() {
		addr = ndp.Addr(src.WithZone("").String())
	}
	c, _, err := ndp.Listen(ifi, addr)
	if err != nil && addr != ndp.LinkLocal {
		c, _, err = ndp.Listen(ifi, ndp.LinkLocal)
	}
	if kept, unlock, ok := keptNDP(s.sol, err); ok {
		c, err = kept, nil
		defer unlock()
	} else if err == nil {
		defer c.Close()
	}
	if err != nil {
		return s.n, socketError("NDP", ifi, err)
	}
	target := nh.WithZone("")
	snm, err := ndp.SolicitedNodeMulticast(target)
	if err != nil {
		return s.n, fmt.Errorf("rawsock: NDP for %s: %w", nh, err)
	}
	ns := &ndp.NeighborSolicitation{
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ifi.HardwareAddr}},
	}
	return s.finish(s.run(c.SetReadDeadline,
		func() error {
			if err := c.WriteTo(ns, nil, snm); err != nil {
				return fmt.Errorf("send neighbour solicitation for %s on %s: %w", nh, ifi.Name, err)
			}
			return nil
		},
		func() (net.HardwareAddr, error) {
			m, _, _, err := c.ReadFrom()
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) || s.ctx.Err() != nil {
					return nil, err
				}
				return nil, nil // malformed NDP message: ignore
			}
			na, ok := m.(*ndp.NeighborAdvertisement)
			if !ok || na.TargetAddress != target {
				return nil, nil
			}
			for _, o := range na.Options {
				if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target {
					return lla.Addr, nil
				}
			}
			return nil, nil
		}))
}
