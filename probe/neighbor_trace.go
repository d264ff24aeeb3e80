package probe

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

// Reasons of a probe whose next hop did not answer, beside ReasonNeighbor
// (every solicitation went unanswered: EHOSTUNREACH, as connect(2)).
const (
	// ReasonNeighborTimeout: the probe's give-up time (--timeout) ended
	// the resolution before the solicitations did; the probe timed out
	// with nothing but them sent.
	ReasonNeighborTimeout = "neighbor-timeout"
	// ReasonNeighborNotPermitted: the next hop was not in the kernel's
	// neighbour table and soliciting it needs CAP_NET_RAW, which the
	// process no longer has (privilege is dropped after the first run's
	// next hops are known): EPERM, nothing sent. Nothing is known of the
	// target; connect(2) would make the kernel resolve it.
	ReasonNeighborNotPermitted = "neighbor-not-permitted"
)

// Reasons of the events that show a resolution's solicitations.
const (
	ReasonARPRequest = "arp-request"
	ReasonNDPRequest = "neighbor-solicitation"
	WhyUnanswered    = "unanswered"
)

// resolve finds r's next hop through the Network, with the record of the
// solicitations it sent where the Network keeps one (NeighborTracer).
func (c *neighCache) resolve(ctx context.Context, r rawsock.Route) (net.HardwareAddr, rawsock.Neighbor, error) {
	tr, ok := c.p.net.(NeighborTracer)
	if !ok {
		mac, err := c.p.net.ResolveNeighbor(ctx, r)
		return mac, rawsock.Neighbor{}, err
	}
	var (
		n   rawsock.Neighbor
		err error
	)
	if sn, ok := c.p.net.(SolicitingNetwork); ok && c.p.solicitor(r.Interface.Index) != nil {
		n, err = sn.ResolveNeighborVia(ctx, r, c.p.solicitor(r.Interface.Index))
	} else {
		n, err = tr.ResolveNeighborTrace(ctx, r)
	}
	var ne *rawsock.NeighborError
	if errors.As(err, &ne) {
		n = ne.Neighbor
	}
	return n.HardwareAddr, n, err
}

// neighborResult is the result of a target whose next hop never answered,
// over the time the resolution took, with each solicitation in its
// timeline: a local error (EHOSTUNREACH, as connect(2) after the same
// wait) once every solicitation went unanswered, a timeout when the
// give-up time came first.
func (r *runState) neighborResult(pl *planned, nr *neighResult) *Result {
	res := r.localResult(pl, LocalError, syscall.EHOSTUNREACH, ReasonNeighbor)
	switch {
	case errors.Is(nr.err, os.ErrPermission):
		res.Errno, res.Reason = syscall.EPERM, ReasonNeighborNotPermitted
	case errors.Is(nr.err, context.DeadlineExceeded) && r.p.life.Err() == nil:
		res.Outcome, res.Errno, res.Reason = Timeout, syscall.ETIMEDOUT, ReasonNeighborTimeout
	}
	res.Started, res.Finished = nr.started, nr.finished
	reason := ReasonARPRequest
	if nr.trace.Protocol == "ndp" {
		reason = ReasonNDPRequest
	}
	for _, t := range nr.trace.Sent {
		res.Events = append(res.Events, Event{Time: t, Dir: Sent, From: pl.rt.r.NextHop, Reason: reason, Effect: EffectIgnored, Why: WhyUnanswered})
	}
	return res
}
