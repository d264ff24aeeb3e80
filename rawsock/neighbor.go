package rawsock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Neighbor is what a next-hop resolution found and did: the link-layer
// address, and the solicitations (ARP requests or neighbour solicitations)
// it sent to learn it, so a result can show them.
type Neighbor struct {
	// HardwareAddr is the next hop's address; nil when it was not learned
	// or the link has no link layer.
	HardwareAddr net.HardwareAddr
	// FromTable says the address came from the kernel's neighbour table:
	// nothing was sent.
	FromTable bool
	// Protocol is "arp" or "ndp" when solicitations were sent.
	Protocol string
	// Sent holds the time each solicitation left (right after its send
	// call returned), in order.
	Sent []time.Time
	// Answered is when the answer came; zero if none did.
	Answered time.Time
}

// Unanswered is how many solicitations went unanswered: all of them when
// no answer came, else all but the last (an answer does not say which
// request it answers).
func (n *Neighbor) Unanswered() int {
	if n.Answered.IsZero() || len(n.Sent) == 0 {
		return len(n.Sent)
	}
	return len(n.Sent) - 1
}

// NeighborError says that a next hop's link-layer address could not be
// learned. Err is syscall.EHOSTUNREACH when every solicitation went
// unanswered (what connect(2) fails with after a neighbour failure), or the
// context's error when the caller's time ran out first (a --timeout shorter
// than the solicitations, or an interrupt).
type NeighborError struct {
	NextHop   netip.Addr
	Interface string
	Tries     int
	Interval  time.Duration
	Neighbor  Neighbor // what was sent before it failed
	Err       error
}

// Error says what failed and what to check.
func (e *NeighborError) Error() string {
	what := "ARP"
	if e.Neighbor.Protocol == "ndp" || e.NextHop.Is6() {
		what = "neighbour solicitation"
	}
	if e.Neighbor.Answered.IsZero() && len(e.Neighbor.Sent) > 0 && e.Err != nil && !isErrno(e.Err) {
		return fmt.Sprintf("rawsock: %s for %s on %s: %d sent, none answered before the time ran out: %v",
			what, e.NextHop, e.Interface, len(e.Neighbor.Sent), e.Err)
	}
	if !isErrno(e.Err) {
		return fmt.Sprintf("rawsock: %s for %s on %s: %v", what, e.NextHop, e.Interface, e.Err)
	}
	return fmt.Sprintf("rawsock: %s for %s on %s got no answer after %d tries %v apart: %v; check that the host is up and on that link (`ip neigh show dev %s`)",
		what, e.NextHop, e.Interface, e.Tries, e.Interval, e.Err, e.Interface)
}

// Unwrap returns Err, so errors.Is(err, syscall.EHOSTUNREACH) and
// errors.Is(err, context.DeadlineExceeded) work.
func (e *NeighborError) Unwrap() error { return e.Err }

// isErrno reports whether err is a system error number, not a context's.
func isErrno(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno)
}
