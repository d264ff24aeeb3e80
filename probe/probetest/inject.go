package probetest

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// Inject delivers a copy of pkt (an IP packet) to every open link of n, as
// if it had arrived from the wire. It is how tests feed the Prober's real
// receive path with arbitrary bytes: forged, truncated or malformed. It
// returns false if no link was open to take it.
func (n *Network) Inject(pkt []byte) bool {
	n.mu.Lock()
	links := append([]*Link(nil), n.links...)
	n.mu.Unlock()
	delivered := false
	for _, l := range links {
		cp := append([]byte(nil), pkt...)
		select {
		case l.in <- cp:
			delivered = true
		case <-l.done:
		}
	}
	return delivered
}

// WaitSYN waits until the Prober has sent a SYN to dst and returns it (the
// first one), or fails when ctx ends first.
func (n *Network) WaitSYN(ctx context.Context, dst netip.AddrPort) (Sent, error) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		n.mu.Lock()
		for _, s := range n.sent {
			if s.Seg.Flags == wire.SYN && s.IP.Dst == dst.Addr() && s.Seg.DstPort == dst.Port() {
				n.mu.Unlock()
				return s, nil
			}
		}
		n.mu.Unlock()
		select {
		case <-t.C:
		case <-ctx.Done():
			return Sent{}, fmt.Errorf("probetest: no SYN to %s was sent: %w", dst, ctx.Err())
		}
	}
}

// OpenLinks returns how many links are open (opened and not closed).
func (n *Network) OpenLinks() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, l := range n.links {
		select {
		case <-l.done:
		default:
			c++
		}
	}
	return c
}
