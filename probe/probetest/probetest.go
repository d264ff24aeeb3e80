// Package probetest is a fake network for tests of the Prober and of the
// command line: routes from a table, links that hand every SYN to a
// scripted peer and deliver its answers, and no root needed. The peer
// answers from real bytes (the SYN as encoded, replies encoded with package
// wire and hand-built ICMP), so what it exercises is the real receive path.
package probetest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

// Ports the default peer knows (the lab's plan, design §5).
const (
	PortOpen       = 80 // SYN-ACK
	PortClosed     = 81 // RST+ACK
	PortICMPPort   = 82 // ICMP port unreachable from the router
	PortICMPHost   = 85 // ICMP host unreachable from the router
	PortICMPNet    = 86 // ICMP net unreachable from the router
	PortSilent     = 87 // nothing
	PortDropFirst  = 88 // first SYN lost, then SYN-ACK
	PortBadThenOK  = 89 // SYN-ACK with a wrong ACK, then the right one
	PortDelayed    = 90 // SYN-ACK after 50 ms
	PortSpoofFirst = 91 // forged RST (no ACK) and a wrong-seq ICMP first, then RST+ACK
	// PortICMPLimited gets ICMP port unreachable from a router that
	// rate-limits its errors as Linux does: a burst of ICMPBurst, then one
	// per second; the SYNs it has no token for go unanswered.
	PortICMPLimited = 92
)

// ICMPBurst is the burst of the router's ICMP rate limit (PortICMPLimited).
const ICMPBurst = 6

// Addresses of the fake network.
var (
	Local4  = netip.MustParseAddr("198.18.1.2")
	Router4 = netip.MustParseAddr("198.18.1.1")
	Server4 = netip.MustParseAddr("198.18.2.2")
	Local6  = netip.MustParseAddr("fd00:1::2")
	Router6 = netip.MustParseAddr("fd00:1::1")
	Server6 = netip.MustParseAddr("fd00:2::2")
	// Routes that forbid sending, by destination.
	RouteErrors = map[netip.Addr]syscall.Errno{
		netip.MustParseAddr("198.18.20.1"): syscall.EHOSTUNREACH,
		netip.MustParseAddr("198.18.21.1"): syscall.EACCES,
		netip.MustParseAddr("198.18.22.1"): syscall.EINVAL,
		netip.MustParseAddr("198.18.23.1"): syscall.ENETUNREACH,
		netip.MustParseAddr("fd00:23::1"):  syscall.ENETUNREACH,
	}
	// NeighborFail is an on-link address whose neighbour never answers.
	NeighborFail = netip.MustParseAddr("198.18.1.99")
	// NeighborDenied is an on-link address whose neighbour is not in the
	// kernel's table and may not be solicited: the process lacks
	// CAP_NET_RAW (privilege dropped).
	NeighborDenied = netip.MustParseAddr("198.18.1.98")
)

// Network is a fake probe.Network. The zero value is not usable; call New.
type Network struct {
	Iface net.Interface

	// Forgetful: keep no record of what was sent (Sent, and the SYNs seen
	// per flow that PortDropFirst and its kind count; those then answer
	// every SYN as their first), so a long run's memory is the Prober's.
	Forgetful bool

	mu      sync.Mutex
	sent    []Sent
	synSeen map[string]int
	links   []*Link
	nextPrt uint16
	held    map[uint16]bool

	dropNext int    // replies still to lose (DropReplies); < 0: all
	dropped  uint64 // replies lost so far

	routeErr map[netip.Addr]syscall.Errno // SetRouteError
	routeGW  map[netip.Addr]netip.Addr    // SetRouteGateway

	icmpTokens float64   // the router's ICMP rate limit (PortICMPLimited)
	icmpLast   time.Time // last refill of icmpTokens
}

// icmpAllowed takes a token of the router's ICMP rate limit: one a second,
// ICMPBurst at most.
func (n *Network) icmpAllowed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	if n.icmpLast.IsZero() {
		n.icmpTokens = ICMPBurst
	} else {
		n.icmpTokens = min(ICMPBurst, n.icmpTokens+now.Sub(n.icmpLast).Seconds())
	}
	n.icmpLast = now
	if n.icmpTokens < 1 {
		return false
	}
	n.icmpTokens--
	return true
}

// SetRouteError makes the route to dst fail with errno from now on, as an
// `ip route add unreachable|prohibit|blackhole` or a deleted route would;
// errno 0 restores it.
func (n *Network) SetRouteError(dst netip.Addr, errno syscall.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.routeErr == nil {
		n.routeErr = map[netip.Addr]syscall.Errno{}
	}
	if errno == 0 {
		delete(n.routeErr, dst)
		return
	}
	n.routeErr[dst] = errno
}

// Sent is a segment the Prober put on the fake wire.
type Sent struct {
	Time time.Time
	Seg  wire.Segment
	IP   wire.IPInfo
	To   net.HardwareAddr // the frame's destination: the next hop's MAC
}

// New returns a fake network with one Ethernet interface.
func New() *Network {
	return &Network{
		Iface:   net.Interface{Index: 7, Name: "fake0", MTU: 1500, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2}},
		synSeen: map[string]int{},
		nextPrt: 61000,
		held:    map[uint16]bool{},
	}
}

var _ probe.Network = (*Network)(nil)

// RouteTo routes 198.18.0.0/15 and fd00::/8 through fake0, except the
// destinations in RouteErrors.
func (n *Network) RouteTo(dst netip.Addr, opt rawsock.RouteOptions) (rawsock.Route, error) {
	n.mu.Lock()
	e, ok := n.routeErr[dst]
	n.mu.Unlock()
	if ok {
		return rawsock.Route{}, &rawsock.RouteError{Dst: dst, Errno: e}
	}
	if e, ok := RouteErrors[dst]; ok {
		return rawsock.Route{}, &rawsock.RouteError{Dst: dst, Errno: e}
	}
	if opt.Interface != "" && opt.Interface != n.Iface.Name {
		return rawsock.Route{}, fmt.Errorf("no interface %q", opt.Interface)
	}
	r := rawsock.Route{Dst: dst, Interface: n.Iface}
	switch {
	case dst.Is4() && netip.MustParsePrefix("198.18.0.0/15").Contains(dst):
		r.Src, r.Gateway = Local4, Router4
	case dst.Is6() && netip.MustParsePrefix("fd00::/8").Contains(dst):
		r.Src, r.Gateway = Local6, Router6
	default:
		return rawsock.Route{}, &rawsock.RouteError{Dst: dst, Errno: syscall.ENETUNREACH}
	}
	if dst == NeighborFail || dst == NeighborDenied {
		r.Gateway = netip.Addr{}
	}
	n.mu.Lock()
	if gw, ok := n.routeGW[dst]; ok {
		r.Gateway = gw
	}
	n.mu.Unlock()
	r.NextHop = r.Gateway
	if !r.NextHop.IsValid() {
		r.NextHop = dst
	}
	if opt.Source.IsValid() {
		r.Src = opt.Source
	}
	return r, nil
}

// ResolveNeighbor answers for every next hop but NeighborFail and
// NeighborDenied.
func (n *Network) ResolveNeighbor(ctx context.Context, r rawsock.Route) (net.HardwareAddr, error) {
	switch r.NextHop {
	case NeighborFail:
		return nil, fmt.Errorf("no answer from %s: %w", r.NextHop, syscall.EHOSTUNREACH)
	case NeighborDenied:
		return nil, fmt.Errorf("arp socket on fake0: %w", os.ErrPermission)
	}
	return MACOf(r.NextHop), nil
}

// MACOf is the hardware address the fake's next hop a answers with: the
// routers' is 02:00:00:00:00:01; any other's ends in a's last four bytes.
func MACOf(a netip.Addr) net.HardwareAddr {
	if a == Router4 || a == Router6 {
		return net.HardwareAddr{2, 0, 0, 0, 0, 1}
	}
	b := a.As16()
	return net.HardwareAddr{2, 1, b[12], b[13], b[14], b[15]}
}

// SetRouteGateway makes the route to dst go through gw from now on, as
// `ip route replace DST via GW` would.
func (n *Network) SetRouteGateway(dst, gw netip.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.routeGW == nil {
		n.routeGW = map[netip.Addr]netip.Addr{}
	}
	n.routeGW[dst] = gw
}

// ReservePort hands out ports from 61000 up.
func (n *Network) ReservePort(src netip.Addr) (uint16, func(), error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.nextPrt
	n.nextPrt++
	n.held[p] = true
	return p, func() {
		n.mu.Lock()
		delete(n.held, p)
		n.mu.Unlock()
	}, nil
}

// HeldPorts returns how many ports are reserved and not released.
func (n *Network) HeldPorts() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.held)
}

// OpenLink returns a fake link whose peer answers by port.
func (n *Network) OpenLink(ifi *net.Interface, cfg rawsock.LinkConfig) (probe.Link, error) {
	// Like a real link, a fake one holds a descriptor until Close, so a
	// test can see a link that was never closed.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("fake link: %w", err)
	}
	l := &Link{net: n, cfg: cfg, in: make(chan []byte, 1024), done: make(chan struct{}), fds: [2]*os.File{r, w}}
	n.mu.Lock()
	n.links = append(n.links, l)
	n.mu.Unlock()
	return l, nil
}

// LinkConfigs returns the configuration of every link opened so far, in
// order.
func (n *Network) LinkConfigs() []rawsock.LinkConfig {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []rawsock.LinkConfig
	for _, l := range n.links {
		out = append(out, l.cfg)
	}
	return out
}

// Sent returns every segment written so far.
func (n *Network) Sent() []Sent {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Sent(nil), n.sent...)
}

// Link is a fake link.
type Link struct {
	net  *Network
	cfg  rawsock.LinkConfig
	in   chan []byte
	done chan struct{}
	once sync.Once
	fds  [2]*os.File // a pipe held open until Close
}

// WriteIP hands the packet to the peer, which may answer later.
func (l *Link) WriteIP(pkt []byte, dst net.HardwareAddr) error {
	var ip wire.IPInfo
	payload, err := wire.ParseIP(pkt, &ip)
	if err != nil {
		return fmt.Errorf("fake link: bad packet written: %v", err)
	}
	var seg wire.Segment
	if err := wire.ParseTCP(payload, &seg); err != nil {
		return fmt.Errorf("fake link: bad segment written: %v", err)
	}
	if !wire.TCPChecksumValid(ip.Src, ip.Dst, payload) {
		return fmt.Errorf("fake link: bad TCP checksum written")
	}
	n := l.net
	nth := 1
	n.mu.Lock()
	if !n.Forgetful {
		n.sent = append(n.sent, Sent{Time: time.Now(), Seg: seg, IP: ip, To: append(net.HardwareAddr(nil), dst...)})
		key := fmt.Sprintf("%s:%d>%s:%d", ip.Src, seg.SrcPort, ip.Dst, seg.DstPort)
		nth = 0
		if seg.Flags == wire.SYN {
			n.synSeen[key]++
			nth = n.synSeen[key]
		}
	}
	n.mu.Unlock()
	if seg.Flags != wire.SYN {
		return nil
	}
	quote := append([]byte(nil), pkt...)
	if seg.DstPort == PortICMPLimited && !n.icmpAllowed() {
		return nil
	}
	for _, a := range answer(ip, seg, nth, quote) {
		a := a
		go func() {
			if a.delay > 0 {
				time.Sleep(a.delay)
			}
			if n.dropReply() {
				return
			}
			select {
			case l.in <- a.pkt:
			case <-l.done:
			}
		}()
	}
	return nil
}

type reply struct {
	pkt   []byte
	delay time.Duration
}

// answer is the scripted peer.
func answer(ip wire.IPInfo, syn wire.Segment, nth int, quote []byte) []reply {
	router := Router4
	if ip.Version == 6 {
		router = Router6
	}
	tcp := func(flags wire.Flags, seq, ack uint32) []byte {
		s := wire.SegmentSpec{Src: ip.Dst, Dst: ip.Src, TTL: 63, SrcPort: syn.DstPort, DstPort: syn.SrcPort,
			Seq: seq, Ack: ack, Flags: flags, Window: 65160}
		if flags&wire.SYN != 0 {
			s.Options = wire.Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasWScale: true, WScale: 7}
		}
		b := make([]byte, wire.MaxSegmentLen)
		n, err := wire.EncodeSegment(b, &s)
		if err != nil {
			panic(err)
		}
		return b[:n]
	}
	unreach := func(code uint8) []byte { return spoof.ICMPError(router, ip.Src, ip.Version == 6, 3, code, quote) }
	if ip.Version == 6 {
		unreach = func(code uint8) []byte {
			c := map[uint8]uint8{3: 4, 1: 3, 0: 0}[code]
			return spoof.ICMPError(router, ip.Src, true, 1, c, quote)
		}
	}
	switch syn.DstPort {
	case PortOpen:
		return []reply{{pkt: tcp(wire.SYN|wire.ACK, 0x5000, syn.Seq+1)}}
	case PortClosed:
		return []reply{{pkt: tcp(wire.RST|wire.ACK, 0, syn.Seq+1)}}
	case PortICMPPort, PortICMPLimited:
		return []reply{{pkt: unreach(3)}}
	case PortICMPHost:
		return []reply{{pkt: unreach(1)}}
	case PortICMPNet:
		return []reply{{pkt: unreach(0)}}
	case PortDropFirst:
		if nth > 1 {
			return []reply{{pkt: tcp(wire.SYN|wire.ACK, 0x5000, syn.Seq+1)}}
		}
	case PortBadThenOK:
		return []reply{
			{pkt: tcp(wire.SYN|wire.ACK, 0x5000, syn.Seq+7)},
			{pkt: tcp(wire.SYN|wire.ACK, 0x5000, syn.Seq+1), delay: 20 * time.Millisecond},
		}
	case PortDelayed:
		return []reply{{pkt: tcp(wire.SYN|wire.ACK, 0x5000, syn.Seq+1), delay: 50 * time.Millisecond}}
	case PortSpoofFirst:
		bad := append([]byte(nil), quote...)
		setSeq(bad, ip.Version == 6, syn.Seq+1)
		return []reply{
			{pkt: tcp(wire.RST, syn.Seq+1, 0)},
			{pkt: spoof.ICMPError(router, ip.Src, ip.Version == 6, map[bool]uint8{false: 3, true: 1}[ip.Version == 6], 0, bad)},
			{pkt: tcp(wire.RST|wire.ACK, 0, syn.Seq+1), delay: 30 * time.Millisecond},
		}
	}
	return nil
}

// setSeq rewrites the TCP sequence number of an encoded segment.
func setSeq(pkt []byte, v6 bool, seq uint32) {
	off := 20
	if v6 {
		off = 40
	}
	binary.BigEndian.PutUint32(pkt[off+4:], seq)
}

// Receive delivers the peer's answers until ctx is done or Close.
func (l *Link) Receive(ctx context.Context, fn func(pkt []byte, info rawsock.RecvInfo)) error {
	for {
		select {
		case pkt := <-l.in:
			fn(pkt, rawsock.RecvInfo{Time: time.Now()})
		case <-ctx.Done():
			return nil
		case <-l.done:
			return nil
		}
	}
}

// Close stops the link.
func (l *Link) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = errors.Join(l.fds[0].Close(), l.fds[1].Close())
	})
	return err
}
