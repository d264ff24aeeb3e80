package probe

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

// Link is a raw link as the Prober uses it; *rawsock.Link is one.
type Link interface {
	WriteIP(pkt []byte, dst net.HardwareAddr) error
	Receive(ctx context.Context, fn func(pkt []byte, info rawsock.RecvInfo)) error
	Close() error
}

// BatchLink is a Link that can send many packets in one system call;
// *rawsock.Link is one. The Prober uses it when a link has it.
type BatchLink interface {
	WriteIPBatch(pkts [][]byte, dst []net.HardwareAddr) (int, error)
}

// BatchReceiver is a Link that hands over the packets of one read in a
// group; *rawsock.Link is one. The Prober then takes its lock once per
// group instead of once per packet.
type BatchReceiver interface {
	ReceiveBatch(ctx context.Context, fn func(pkts [][]byte, infos []rawsock.RecvInfo)) error
}

// StatsLink is a Link with the kernel's receive counters; *rawsock.Link is
// one. The Prober reads them to learn of dropped replies.
type StatsLink interface {
	Stats() (rawsock.LinkStats, error)
}

// Network is what the Prober needs from the host: routes, next hops, raw
// links and source ports. Host is the real one; tests supply fakes.
type Network interface {
	RouteTo(dst netip.Addr, opt rawsock.RouteOptions) (rawsock.Route, error)
	ResolveNeighbor(ctx context.Context, r rawsock.Route) (net.HardwareAddr, error)
	OpenLink(ifi *net.Interface, cfg rawsock.LinkConfig) (Link, error)
	ReservePort(src netip.Addr) (port uint16, release func(), err error)
}

// ReplyNetwork is a Network that tells where else replies may arrive: the
// kernel takes a segment for a local address on any interface (the weak
// host model), subject to IPv4's rp_filter. Host is one; a Prober whose
// Network is not listens only on the interfaces its probes leave by.
type ReplyNetwork interface {
	ReplyInterfaces() ([]net.Interface, error)
	RPFilter(ifname string) int
}

// Router is one run's route lookups over one kernel socket
// (rawsock.Router); it answers as Network.RouteTo does.
type Router interface {
	RouteTo(dst netip.Addr, opt rawsock.RouteOptions) (rawsock.Route, error)
	Close() error
}

// RouterNetwork is a Network that makes Routers: a Run that plans many
// destinations asks through one. Host is one.
type RouterNetwork interface {
	NewRouter() (Router, error)
}

// Host is the Network of the machine the process runs on.
type Host struct {
	// NeighborTries and NeighborInterval bound next-hop resolution; zero
	// means the kernel's defaults (3 tries, 1 s apart).
	NeighborTries    int
	NeighborInterval time.Duration
	// NeighborTimeout bounds one next hop's whole resolution, like a
	// connect timeout bounds connect(2)'s (the probe's give-up time, as
	// --timeout cuts it); zero: only tries and interval bound it.
	NeighborTimeout time.Duration
}

// RouteTo asks the kernel for the route to dst.
func (Host) RouteTo(dst netip.Addr, opt rawsock.RouteOptions) (rawsock.Route, error) {
	return rawsock.RouteTo(dst, opt)
}

// NewRouter opens a Router in the calling thread's network namespace.
func (Host) NewRouter() (Router, error) {
	rt, err := rawsock.NewRouter()
	if err != nil {
		return nil, err
	}
	return rt, nil
}

// ResolveNeighbor finds the next hop's link-layer address.
func (h Host) ResolveNeighbor(ctx context.Context, r rawsock.Route) (net.HardwareAddr, error) {
	n, err := h.ResolveNeighborTrace(ctx, r)
	return n.HardwareAddr, err
}

// ResolveNeighborTrace finds the next hop's link-layer address and says
// which solicitations it sent (rawsock.ResolveNeighborTrace), within
// NeighborTimeout.
func (h Host) ResolveNeighborTrace(ctx context.Context, r rawsock.Route) (rawsock.Neighbor, error) {
	tries, iv := h.solicitTries()
	if h.NeighborTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.NeighborTimeout)
		defer cancel()
	}
	return rawsock.ResolveNeighborTrace(ctx, r, tries, iv)
}

// solicitTries is how often and how far apart next hops are solicited.
func (h Host) solicitTries() (int, time.Duration) {
	tries, iv := h.NeighborTries, h.NeighborInterval
	if tries <= 0 {
		tries = 3
	}
	if iv <= 0 {
		iv = time.Second
	}
	return tries, iv
}

// NeighborTracer is a Network whose next-hop resolution also says what it
// sent (ARP requests, neighbour solicitations), so a result can show them;
// Host is one.
type NeighborTracer interface {
	ResolveNeighborTrace(ctx context.Context, r rawsock.Route) (rawsock.Neighbor, error)
}

// OpenLink opens a raw link on ifi.
func (Host) OpenLink(ifi *net.Interface, cfg rawsock.LinkConfig) (Link, error) {
	return rawsock.Open(ifi, cfg)
}

// ReplyInterfaces lists the interfaces replies may arrive on.
func (Host) ReplyInterfaces() ([]net.Interface, error) { return rawsock.ReplyInterfaces() }

// RPFilter is the IPv4 reverse-path filter of ifname.
func (Host) RPFilter(ifname string) int { return rawsock.RPFilter(ifname) }

// ReservePort holds a free source port on src.
func (Host) ReservePort(src netip.Addr) (uint16, func(), error) {
	return rawsock.ReservePort(src)
}

var (
	_ ReplyNetwork  = Host{}
	_ Link          = (*rawsock.Link)(nil)
	_ BatchLink     = (*rawsock.Link)(nil)
	_ StatsLink     = (*rawsock.Link)(nil)
	_ BatchReceiver = (*rawsock.Link)(nil)

	_ NeighborTracer = Host{}
)
