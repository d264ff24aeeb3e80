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

// ResolveNeighbor returns the link-layer address of r.NextHop on r.Interface.
// It takes it from the kernel's neighbour table when that holds a usable
// entry (REACHABLE, STALE, DELAY, PROBE, PERMANENT, NOARP). Otherwise it
// solicits the address itself, with ARP (IPv4) or NDP (IPv6), up to tries
// times, interval apart (defaults 3 and 1 s), and fails with an error wrapping
// syscall.EHOSTUNREACH, as connect(2) does after a neighbour failure.
//
// It solicits in user space rather than making the kernel resolve, so that
// tries and interval are the caller's and not the interface's sysctls, and
// so that the wait is bounded by ctx. The kernel's table is not changed.
//
// Interfaces without a link layer (loopback, TUN, WireGuard) and local
// routes return nil, nil.
func ResolveNeighbor(ctx context.Context, r Route, tries int, interval time.Duration) (net.HardwareAddr, error) {
	ifi := r.Interface
	if r.Local || ifi.Flags&net.FlagLoopback != 0 || len(ifi.HardwareAddr) == 0 {
		return nil, nil
	}
	if !r.NextHop.IsValid() {
		return nil, errors.New("rawsock: ResolveNeighbor: route has no next hop")
	}
	if tries <= 0 {
		tries = DefaultSolicitTries
	}
	if interval <= 0 {
		interval = DefaultSolicitInterval
	}
	nh := r.NextHop.Unmap()
	if hw, err := kernelNeighbor(ifi.Index, nh); err != nil {
		return nil, err
	} else if hw != nil {
		return hw, nil
	}
	if nh.Is4() {
		return solicitARP(ctx, &ifi, r.Src.Unmap(), nh, tries, interval)
	}
	return solicitNDP(ctx, &ifi, r.Src, nh, tries, interval)
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

// neighborError is the failure after the last unanswered solicitation.
func neighborError(proto string, ifi *net.Interface, nh netip.Addr, tries int, interval time.Duration) error {
	return fmt.Errorf("rawsock: %s for %s on %s got no answer after %d tries %v apart: %w; check that the host is up and on that link (`ip neigh show dev %s`)",
		proto, nh, ifi.Name, tries, interval, syscall.EHOSTUNREACH, ifi.Name)
}

// solicit runs the common loop: send, then wait for an answer until the
// next send; deadlines come from ctx.
func solicit(ctx context.Context, tries int, interval time.Duration,
	setDeadline func(time.Time) error, send func() error, recv func() (net.HardwareAddr, error)) (net.HardwareAddr, error) {
	stop := context.AfterFunc(ctx, func() { _ = setDeadline(aLongTimeAgo) })
	defer stop()
	for range tries {
		if err := send(); err != nil {
			return nil, err
		}
		until := time.Now().Add(interval)
		for {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err := setDeadline(until); err != nil {
				return nil, err
			}
			hw, err := recv()
			if err == nil && hw != nil {
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

func solicitARP(ctx context.Context, ifi *net.Interface, src, nh netip.Addr, tries int, interval time.Duration) (net.HardwareAddr, error) {
	if !src.Is4() {
		return nil, fmt.Errorf("rawsock: ARP for %s on %s needs an IPv4 source address, route has %s", nh, ifi.Name, src)
	}
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("rawsock: ARP socket on %s: %w: needs CAP_NET_RAW (run as root or `sudo setcap cap_net_raw+ep $(which tcpprobe)`)", ifi.Name, err)
		}
		return nil, fmt.Errorf("rawsock: ARP socket on %s: %w", ifi.Name, err)
	}
	defer c.Close()
	req, err := arp.NewPacket(arp.OperationRequest, ifi.HardwareAddr, src, ethernet.Broadcast[:len(ifi.HardwareAddr)], nh)
	if err != nil {
		return nil, fmt.Errorf("rawsock: build ARP request for %s on %s: %w", nh, ifi.Name, err)
	}
	// The target hardware address of a request is unknown: zero.
	req.TargetHardwareAddr = make(net.HardwareAddr, len(ifi.HardwareAddr))
	pb, err := req.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("rawsock: build ARP request: %w", err)
	}
	fb, err := (&ethernet.Frame{
		Destination: ethernet.Broadcast,
		Source:      ifi.HardwareAddr,
		EtherType:   ethernet.EtherTypeARP,
		Payload:     pb,
	}).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("rawsock: build ARP frame: %w", err)
	}
	buf := make([]byte, 1500)
	hw, err := solicit(ctx, tries, interval, c.SetReadDeadline,
		func() error {
			if _, err := c.WriteTo(fb, &packet.Addr{HardwareAddr: ethernet.Broadcast}); err != nil {
				return fmt.Errorf("rawsock: send ARP request for %s on %s: %w", nh, ifi.Name, err)
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
		})
	if err != nil || hw != nil {
		if err != nil && ctx.Err() == nil {
			err = fmt.Errorf("rawsock: ARP for %s on %s: %w", nh, ifi.Name, err)
		}
		return hw, err
	}
	return nil, neighborError("ARP", ifi, nh, tries, interval)
}

func solicitNDP(ctx context.Context, ifi *net.Interface, src, nh netip.Addr, tries int, interval time.Duration) (net.HardwareAddr, error) {
	var addr ndp.Addr = ndp.LinkLocal
	if src.Is6() && !src.IsLinkLocalUnicast() {
		addr = ndp.Addr(src.WithZone("").String())
	}
	c, _, err := ndp.Listen(ifi, addr)
	if err != nil && addr != ndp.LinkLocal {
		c, _, err = ndp.Listen(ifi, ndp.LinkLocal)
	}
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("rawsock: NDP socket on %s: %w: needs CAP_NET_RAW (run as root or `sudo setcap cap_net_raw+ep $(which tcpprobe)`)", ifi.Name, err)
		}
		return nil, fmt.Errorf("rawsock: NDP socket on %s: %w", ifi.Name, err)
	}
	defer c.Close()
	target := nh.WithZone("")
	snm, err := ndp.SolicitedNodeMulticast(target)
	if err != nil {
		return nil, fmt.Errorf("rawsock: NDP for %s: %w", nh, err)
	}
	ns := &ndp.NeighborSolicitation{
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ifi.HardwareAddr}},
	}
	hw, err := solicit(ctx, tries, interval, c.SetReadDeadline,
		func() error {
			if err := c.WriteTo(ns, nil, snm); err != nil {
				return fmt.Errorf("rawsock: send neighbour solicitation for %s on %s: %w", nh, ifi.Name, err)
			}
			return nil
		},
		func() (net.HardwareAddr, error) {
			m, _, _, err := c.ReadFrom()
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
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
		})
	if err != nil || hw != nil {
		if err != nil && ctx.Err() == nil {
			err = fmt.Errorf("rawsock: NDP for %s on %s: %w", nh, ifi.Name, err)
		}
		return hw, err
	}
	return nil, neighborError("neighbour solicitation", ifi, nh, tries, interval)
}
