package report

import (
	"net/netip"
	"strconv"

	"github.com/tcpprobe/tcpprobe/probe"
)

// solicitations counts the ARP requests or neighbour solicitations in r's
// timeline (a next hop that never answered) and names them.
func solicitations(r *probe.Result) (n int, what string) {
	for i := range r.Events {
		switch r.Events[i].Reason {
		case probe.ReasonARPRequest:
			n, what = n+1, "ARP request"
		case probe.ReasonNDPRequest:
			n, what = n+1, "neighbour solicitation"
		}
	}
	return n, what
}

// appendUnsent appends what left this host when no SYN did: "nothing
// sent", or the solicitations that went unanswered.
func appendUnsent(b []byte, r *probe.Result) []byte {
	n, what := solicitations(r)
	if n == 0 {
		return append(b, "nothing sent"...)
	}
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ' ')
	b = append(b, what...)
	if n != 1 {
		b = append(b, 's')
	}
	return append(b, " unanswered, no SYN sent"...)
}

// appendFrom appends " from ADDR", or nothing when who sent the deciding
// packet is unknown (connect(2) mode without the ICMP message).
func appendFrom(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return b
	}
	b = append(b, " from "...)
	return appendAddrText(b, a)
}
