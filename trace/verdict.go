package trace

import (
	"fmt"
	"net/netip"
	"strings"
	"syscall"

	"github.com/tcpprobe/tcpprobe/probe"
)

// terminal reports whether an answer of kind k ends the trace.
func terminal(k string) bool {
	return k == KindSYNACK || k == KindRST || k == KindUnreachable
}

// terminalHop returns the index in r.Hops of the first hop with an answer
// that ends the trace, or -1.
func terminalHop(hops []Hop) int {
	for i := range hops {
		for _, q := range hops[i].Queries {
			if terminal(q.Kind) {
				return i
			}
		}
	}
	return -1
}

// firstSeen returns the first hop at which a answered anything, or 0.
func firstSeen(hops []Hop, a netip.Addr) int {
	for _, h := range hops {
		for _, q := range h.Queries {
			if q.Kind != KindNone && q.From == a {
				return h.TTL
			}
		}
	}
	return 0
}

// shortReason turns icmp-admin-prohibited into admin-prohibited.
func shortReason(r string) string {
	r = strings.TrimPrefix(r, "icmp6-")
	return strings.TrimPrefix(r, "icmp-")
}

// decide fills r.Verdict, r.LastResponding and r.DiesAfter from r.Hops,
// which hold every hop sent up to the one that ended the trace.
func decide(r *Result) {
	r.LastResponding, r.DiesAfter = 0, netip.Addr{}
	for _, h := range r.Hops {
		if h.Answered() {
			r.LastResponding = h.TTL
		}
	}
	if i := terminalHop(r.Hops); i >= 0 {
		h := r.Hops[i]
		// The first query that ended it; an answer from the destination
		// wins over one from a router at the same hop.
		var q Query
		for _, c := range h.Queries {
			if terminal(c.Kind) && (q.Kind == "" || (c.Kind != KindUnreachable && q.Kind == KindUnreachable)) {
				q = c
			}
		}
		v := &r.Verdict
		v.Responder, v.Hop, v.Errno = q.From, h.TTL, q.Errno
		switch q.Kind {
		case KindSYNACK:
			v.Outcome, v.Reason, v.Errno = string(probe.Open), probe.ReasonSYNACK, 0
			v.Line = fmt.Sprintf("open at hop %d", h.TTL)
		case KindRST:
			v.Outcome, v.Reason = string(probe.Refused), probe.ReasonRST
			v.Line = fmt.Sprintf("refused by %s at hop %d", q.From, h.TTL)
		default:
			v.Outcome, v.Reason = string(probe.OutcomeOf(q.Errno)), q.Reason
			if q.From != r.Dst {
				// A router that already answered at a lower hop (a
				// REJECT in its FORWARD chain lets a TTL that ends there
				// expire first) is that hop.
				if k := firstSeen(r.Hops, q.From); k > 0 && k < v.Hop {
					v.Hop = k
				}
			}
			if q.From == r.Dst && q.Errno == syscall.ECONNREFUSED {
				v.Line = fmt.Sprintf("refused by %s at hop %d: %s", q.From, v.Hop, shortReason(q.Reason))
			} else {
				v.Line = fmt.Sprintf("rejected by %s (hop %d): %s", q.From, v.Hop, shortReason(q.Reason))
			}
		}
		return
	}
	v := &r.Verdict
	v.Outcome, v.Errno, v.Reason = string(probe.Timeout), syscall.ETIMEDOUT, probe.ReasonTimeout
	last := 0
	if n := len(r.Hops); n > 0 {
		last = r.Hops[n-1].TTL
	}
	if r.LastResponding == 0 {
		v.Line = fmt.Sprintf("no hop answered: hops %s silent", span(firstTTL(r.Hops), last))
		return
	}
	for _, q := range r.Hops[hopIndex(r.Hops, r.LastResponding)].Queries {
		if q.Kind != KindNone {
			r.DiesAfter = q.From
			break
		}
	}
	v.Hop, v.Responder = r.LastResponding, r.DiesAfter
	if r.LastResponding == last {
		v.Line = fmt.Sprintf("no answer from %s within %d hops (last: %s at hop %d)", r.Dst, last, r.DiesAfter, last)
		return
	}
	v.Line = fmt.Sprintf("the SYN dies after %s (hop %d): hops %s silent", r.DiesAfter, r.LastResponding, span(r.LastResponding+1, last))
}

func firstTTL(hops []Hop) int {
	if len(hops) == 0 {
		return 1
	}
	return hops[0].TTL
}

func hopIndex(hops []Hop, ttl int) int {
	for i := range hops {
		if hops[i].TTL == ttl {
			return i
		}
	}
	return 0
}

// span prints "3–7", or "3" for one hop.
func span(a, b int) string {
	if a >= b {
		return fmt.Sprint(a)
	}
	return fmt.Sprintf("%d–%d", a, b)
}

// hopsFromTTL guesses the hops a packet took from its received TTL: the
// initial TTL is the smallest of 32, 64, 128 and 255 not below it.
func hopsFromTTL(ttl uint8) int {
	for _, init := range []int{32, 64, 128, 255} {
		if int(ttl) <= init {
			return init - int(ttl) + 1
		}
	}
	return 0
}
