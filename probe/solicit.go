package probe

import (
	"context"
	"net"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

// SolicitingNetwork is a Network that can keep an interface's neighbour
// solicitation sockets open (rawsock.Solicitor) and resolve through them
// once it may no longer open its own; Host is one. A Prober whose
// Config.Ready drops privileges opens them with its links, so a next hop
// met mid-run (a route moved to another gateway) can still be resolved.
type SolicitingNetwork interface {
	OpenSolicitor(ifi *net.Interface) (*rawsock.Solicitor, error)
	ResolveNeighborVia(ctx context.Context, r rawsock.Route, sol *rawsock.Solicitor) (rawsock.Neighbor, error)
}

// OpenSolicitor opens ifi's ARP and NDP sockets.
func (Host) OpenSolicitor(ifi *net.Interface) (*rawsock.Solicitor, error) {
	return rawsock.OpenSolicitor(ifi)
}

// ResolveNeighborVia is ResolveNeighborTrace through sol's sockets when it
// may not open its own.
func (h Host) ResolveNeighborVia(ctx context.Context, r rawsock.Route, sol *rawsock.Solicitor) (rawsock.Neighbor, error) {
	tries, iv := h.solicitTries()
	if h.NeighborTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.NeighborTimeout)
		defer cancel()
	}
	return rawsock.ResolveNeighborVia(ctx, r, tries, iv, sol)
}

// keepSolicitor opens ifi's solicitation sockets for the Prober's life,
// when privileges are still to be dropped (Config.Ready not yet called)
// and the Network can; p.linkMu is held. Without them a next hop met after
// the drop resolves only from the kernel's neighbour table.
func (p *Prober) keepSolicitor(ifi *net.Interface) {
	sn, ok := p.net.(SolicitingNetwork)
	if !ok || p.cfg.Ready == nil || p.sols[ifi.Index] != nil || p.readyCalled.Load() {
		return
	}
	if sol, err := sn.OpenSolicitor(ifi); err == nil {
		if p.sols == nil {
			p.sols = map[int]*rawsock.Solicitor{}
		}
		p.sols[ifi.Index] = sol
	}
}

// solicitor returns the kept solicitation sockets of interface index.
func (p *Prober) solicitor(index int) *rawsock.Solicitor {
	p.linkMu.Lock()
	defer p.linkMu.Unlock()
	return p.sols[index]
}
