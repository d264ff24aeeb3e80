package rawsock

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// Solicitor is an interface's ARP and NDP sockets, opened while the process
// still may (before it drops its privileges), so that a next hop it meets
// later (a route that moved to another gateway mid-run) can still be
// solicited. A resolution uses them only when it cannot open sockets of its
// own, one resolution at a time.
type Solicitor struct {
	mu  sync.Mutex   // held by the resolution using the sockets
	arp *packet.Conn // nil when it could not be opened
	ndp *ndp.Conn    // nil when it could not be opened (no IPv6 on the interface)
}

// OpenSolicitor opens ifi's solicitation sockets; it fails only when it
// could open neither.
func OpenSolicitor(ifi *net.Interface) (*Solicitor, error) {
	s := &Solicitor{}
	var errs []error
	var err error
	if s.arp, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil); err != nil {
		s.arp = nil
		errs = append(errs, socketError("ARP", ifi, err))
	}
	if s.ndp, _, err = ndp.Listen(ifi, ndp.LinkLocal); err != nil {
		s.ndp = nil
		errs = append(errs, socketError("NDP", ifi, err))
	}
	if s.arp == nil && s.ndp == nil {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Close closes the sockets.
func (s *Solicitor) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.arp != nil {
		errs = append(errs, s.arp.Close())
	}
	if s.ndp != nil {
		errs = append(errs, s.ndp.Close())
	}
	return errors.Join(errs...)
}

// drain reads away what a kept socket queued while nobody read it, so a
// resolution sees only answers to its own solicitations.
func drain(setDeadline func(time.Time) error, read func() error) {
	if setDeadline(time.Now()) != nil {
		return
	}
	for i := 0; i < 1<<12 && read() == nil; i++ {
	}
}

// keptARP returns sol's ARP socket, locked (call unlock when done), when
// err, the failure to open one of the resolution's own, is a permission
// error and sol has one.
func keptARP(sol *Solicitor, err error) (c *packet.Conn, unlock func(), ok bool) {
	if sol == nil || sol.arp == nil || !errors.Is(err, os.ErrPermission) {
		return nil, nil, false
	}
	sol.mu.Lock()
	buf := make([]byte, 1500)
	drain(sol.arp.SetReadDeadline, func() error { _, _, err := sol.arp.ReadFrom(buf); return err })
	return sol.arp, sol.mu.Unlock, true
}

// keptNDP is keptARP for the NDP socket.
func keptNDP(sol *Solicitor, err error) (c *ndp.Conn, unlock func(), ok bool) {
	if sol == nil || sol.ndp == nil || !errors.Is(err, os.ErrPermission) {
		return nil, nil, false
	}
	sol.mu.Lock()
	drain(sol.ndp.SetReadDeadline, func() error { _, _, _, err := sol.ndp.ReadFrom(); return err })
	return sol.ndp, sol.mu.Unlock, true
}
