package probe

import (
	"fmt"
	"net"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

// routeAnswer is the kernel's route to a destination, asked again before a
// retransmission.
type routeAnswer struct {
	r   rawsock.Route
	err error
}

// follow makes a retransmission, a, leave by the route the kernel gives now,
// ans, as the kernel's own retransmission would (it looks its route up
// again when a routing change made the cached one stale): a route that
// fails is the error; a new next hop on the probe's link is sent to
// (a.mac) once resolved, so the SYN never goes to a next hop the route no
// longer has. It reports whether a can be sent now; when not, and without
// an error, a is sent from its own goroutine once the next hop is
// resolved. A route that now leaves by another interface is an error
// too: a probe keeps to the link it started on. p.mu is not held.
func (s *sender) follow(a *action, ans *routeAnswer) (send bool, err error) {
	p, e := s.p, a.e
	if ans.err != nil {
		return false, ans.err
	}
	r := &ans.r
	if r.Interface.Index != e.link.ifi.Index {
		return false, fmt.Errorf("the route to %s now leaves by %s; this probe keeps to %s", e.key.remote, r.Interface.Name, e.link.ifi.Name)
	}
	if e.gw != nil && r.NextHop == e.gw.key.addr || r.Local {
		return true, nil // the same next hop
	}
	nr, ready := p.neigh.lookup(*r, e.run.started)
	if ready {
		if nr.err != nil {
			return false, nr.err
		}
		a.mac = hardwareAddr(nr.mac)
		return true, nil
	}
	later := *a
	p.workers.Add(1)
	go func() {
		defer p.workers.Done()
		p.sendResolved(later, nr)
	}()
	return false, nil
}

// sendResolved sends a once nr, its new next hop, is resolved, if it is
// still the probe's latest SYN; otherwise (or when the resolution failed)
// the SYN is recorded as not sent. p.mu is not held.
func (p *Prober) sendResolved(a action, nr *neighResult) {
	e := a.e
	p.mu.Lock()
	attempt := e.m.Attempts()
	p.mu.Unlock()
	select {
	case <-nr.done:
	case <-p.life.Done():
		return
	}
	p.mu.Lock()
	send := false
	switch {
	case nr.err != nil:
		p.sendFailed(&a, nr.err)
	case e.m.Done() || e.m.Attempts() != attempt:
		p.sendFailed(&a, fmt.Errorf("its new next hop was resolved after the probe moved on"))
	default:
		a.mac, send = hardwareAddr(nr.mac), true
	}
	p.mu.Unlock()
	if send {
		newSender(p).transmit([]action{a})
	}
}

// hardwareAddr is mac when it is an Ethernet address, nil (no link layer)
// otherwise.
func hardwareAddr(mac net.HardwareAddr) net.HardwareAddr {
	if len(mac) == 6 {
		return mac
	}
	return nil
}
