package trace

import (
	"fmt"
	"net/netip"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

// NeedsTrace reports whether --diagnose traces res: every result that is
// not open, except those decided before anything left (local) or cut short.
func NeedsTrace(res *probe.Result) bool {
	return res.Outcome != probe.Open && res.Outcome != probe.Interrupted && res.Outcome != probe.LocalError
}

// cookieMSS are the MSS values a syncookie can carry (Linux msstab:
// net/ipv4/syncookies.c and net/ipv6/syncookies.c).
var cookieMSS = map[uint16]bool{536: true, 1300: true, 1440: true, 1460: true, 1220: true, 1420: true, 8940: true}

// CookieCandidate reports whether synack, the answer to a SYN that carried
// sent, may come from a Linux syncookie (lab-notes "Syncookies"): its MSS is
// one of the cookie table's and, without timestamps, it drops the window
// scale and SACK the SYN asked for. With timestamps the encoding hides in
// TSval, which one SYN-ACK cannot show: CookieConfirmed needs several.
func CookieCandidate(sent, synack wire.Options) bool {
	if !synack.HasMSS || !cookieMSS[synack.MSS] {
		return false
	}
	if sent.HasTimestamps {
		return synack.HasTimestamps
	}
	return (sent.HasWScale || sent.SACKPermitted) && !synack.HasWScale && !synack.SACKPermitted
}

// CookieConfirmed reports whether the SYN-ACKs of tr, a trace whose
// queries all reached the destination on one flow, show the syncookie
// encoding. A cookie SYN-ACK's TSval is (now in ms, low 6 bits cleared) |
// the SYN's options (window scale, SACK, ECN), plus an offset that is the
// same for every SYN-ACK of one 4-tuple (this kernel adds it, so the bits
// themselves are hidden): SYN-ACKs of one flow sent a few ms apart then
// carry TSvals that agree modulo 64, where a normal SYN-ACK's TSval moves
// by the milliseconds between them. Without timestamps, every SYN-ACK must
// lack the window scale and SACK the SYN asked for.
func CookieConfirmed(tr *Result, sent wire.Options) bool {
	var qs []Query
	for _, h := range tr.Hops {
		for _, q := range h.Queries {
			if q.Kind == KindSYNACK && q.SYNACK != nil {
				if !CookieCandidate(sent, *q.SYNACK) {
					return false
				}
				qs = append(qs, q)
			}
		}
	}
	if len(qs) < 2 {
		return false
	}
	if !sent.HasTimestamps {
		return true
	}
	telling := false
	for _, q := range qs[1:] {
		if (q.SYNACK.TSVal-qs[0].SYNACK.TSVal)%64 != 0 {
			return false
		}
		// Sends whose spacing is a multiple of 64 ms would agree anyway.
		if d := q.Sent.Sub(qs[0].Sent).Milliseconds() % 64; d >= 3 && d <= 61 {
			telling = true
		}
	}
	return telling
}

// DiagnoseOpen returns the diagnosis of an open result from its own
// packets, or nil when there is nothing to say; cookie says a confirmation
// trace showed the syncookie encoding too.
func DiagnoseOpen(res *probe.Result, cookie bool) *probe.Diagnosis {
	dst := addr(res.Addr)
	if cookie {
		return &probe.Diagnosis{Cause: probe.CauseSYNCookie, Address: dst,
			Summary: fmt.Sprintf("%s answers with syncookies (its SYN-ACK encodes our options in TSval/MSS): its SYN queue is full or it forces cookies (tcp_syncookies=2); the connection works but loses options such as window scale without timestamps", dst)}
	}
	if Retransmitted(res) {
		k := len(res.Attempts) - 1
		return &probe.Diagnosis{Cause: probe.CauseRetransmission, Address: dst,
			Summary: fmt.Sprintf("the first %d SYN(s) went unanswered and SYN %d was answered: packet loss on the path, or %s's listen/accept queue was full and had room again", k, k+1, dst)}
	}
	return nil
}

// Diagnose returns the diagnosis of res, a result that is not open, from tr,
// its trace (nil when res was decided locally).
func Diagnose(res *probe.Result, tr *Result) *probe.Diagnosis {
	if res.Outcome == probe.LocalError || tr == nil || tr.Verdict.Outcome == string(probe.LocalError) {
		why := res.Reason
		if tr != nil && res.Outcome != probe.LocalError {
			why = tr.Verdict.Reason
		}
		return &probe.Diagnosis{Cause: probe.CauseLocal,
			Summary: fmt.Sprintf("nothing left this host (%s): check the route and the next hop with `ip route get %s`", why, addr(res.Addr))}
	}
	v := tr.Verdict
	d := &probe.Diagnosis{Hop: v.Hop, Address: addr(v.Responder), Trace: v.Line}
	dst := addr(tr.Dst)
	switch {
	case v.Outcome == string(probe.Timeout) && rateLimited(res, tr) > 0:
		k := rateLimited(res, tr)
		d.Cause, d.Hop, d.Address = probe.CauseICMPRateLimited, k, addr(res.Responder)
		d.Summary = fmt.Sprintf("%s (hop %d) rejected the probe's SYN (%s) but sent nothing for the trace's, which die there: it rate-limits its ICMP errors", d.Address, k, res.Reason)
	case v.Outcome == string(probe.Open):
		d.Cause = probe.CauseIntermittent
		d.Summary = fmt.Sprintf("the probe's SYNs went unanswered but the trace's reached %s open at hop %d: packet loss, or a listen/accept queue that was full then and has room now", dst, v.Hop)
	case v.Responder == tr.Dst && v.Outcome == string(probe.Refused):
		d.Cause = probe.CauseRefused
		d.Summary = fmt.Sprintf("%s (hop %d) refuses port %d (%s): nothing listens there", dst, v.Hop, tr.Port, v.Reason)
	case v.Outcome == string(probe.Unreachable) || v.Outcome == string(probe.Refused):
		silent, total := partial(tr, v)
		if res.Outcome == probe.Timeout || silent > 0 {
			d.Cause = probe.CauseICMPRateLimited
			d.Summary = fmt.Sprintf("%s (hop %d) rejects the SYN (%s, %s) but its ICMP errors reach only some SYNs (%d of %d trace queries at that hop got none; the probe saw %s): the router rate-limits them",
				d.Address, v.Hop, shortReason(v.Reason), probe.ErrnoName(v.Errno), silent, total, res.Outcome)
			break
		}
		d.Cause = probe.CauseRejectedByHop
		d.Summary = fmt.Sprintf("%s (hop %d) rejects the SYN: %s (%s)", d.Address, v.Hop, shortReason(v.Reason), probe.ErrnoName(v.Errno))
	case tr.LastResponding > 0 && tr.LastResponding == lastTTL(tr):
		d.Cause, d.Hop, d.Address = probe.CauseMaxHops, tr.LastResponding, addr(tr.DiesAfter)
		why := "a path longer than the trace looked (raise --max-hops)"
		if loops(tr) {
			why = "a routing loop (one router answers at several hops)"
		}
		d.Summary = fmt.Sprintf("routers answered up to the last hop tried (%s at hop %d) and %s never did: %s", d.Address, d.Hop, dst, why)
	case tr.LastResponding == 0:
		d.Cause, d.Hop, d.Address = probe.CauseFilteredAfterHop, 0, ""
		d.Summary = "no hop answered: the SYN (or every ICMP error about it) dies before the first router answers"
	case tr.DestinationHops > 0 && tr.DestinationHops <= tr.LastResponding+1:
		d.Cause, d.Hop, d.Address = probe.CauseDestinationSilent, tr.DestinationHops, dst
		d.Summary = fmt.Sprintf("every hop answers up to %s (hop %d) and %s (hop %d) answers another port, but never this SYN: a firewall on the host drops it, or its listen/accept queue is full",
			addr(tr.DiesAfter), tr.LastResponding, dst, tr.DestinationHops)
	default:
		d.Cause, d.Hop, d.Address = probe.CauseFilteredAfterHop, tr.LastResponding, addr(tr.DiesAfter)
		d.Summary = fmt.Sprintf("the SYN dies after %s (hop %d): nothing answers from hop %d on; a filter at or right after it drops the SYN", d.Address, d.Hop, d.Hop+1)
	}
	return d
}

// partial counts the queries of the hop that decided v that got no answer.
func partial(tr *Result, v Verdict) (silent, total int) {
	for _, h := range tr.Hops {
		if len(h.Queries) == 0 {
			continue
		}
		hasDecider := false
		for _, q := range h.Queries {
			if terminal(q.Kind) && q.From == v.Responder {
				hasDecider = true
			}
		}
		if !hasDecider {
			continue
		}
		for _, q := range h.Queries {
			total++
			if q.Kind == KindNone {
				silent++
			}
		}
		return silent, total
	}
	return 0, 0
}

// Retransmitted reports whether res was decided by an answer to a SYN after
// the first.
func Retransmitted(res *probe.Result) bool {
	return res.Outcome == probe.Open && len(res.Attempts) > 1
}

// rateLimited returns the hop of the router that decided res with an ICMP
// error when the trace found it, as the last hop that answered, silent
// about every query past it: the router stopped sending errors. 0 when
// that is not the case.
func rateLimited(res *probe.Result, tr *Result) int {
	if res.Outcome != probe.Unreachable && res.Outcome != probe.Refused || !res.Responder.IsValid() ||
		res.Responder == tr.Dst || res.Responder != tr.DiesAfter {
		return 0
	}
	return tr.LastResponding
}

func lastTTL(tr *Result) int {
	if n := len(tr.Hops); n > 0 {
		return tr.Hops[n-1].TTL
	}
	return 0
}

// loops reports whether one address answered at two hops that are not
// neighbours: packets went round in circles.
func loops(tr *Result) bool {
	seen := map[netip.Addr]int{}
	for _, h := range tr.Hops {
		for _, q := range h.Queries {
			if q.Kind == KindNone {
				continue
			}
			if k, ok := seen[q.From]; ok && h.TTL-k > 1 {
				return true
			}
			if _, ok := seen[q.From]; !ok {
				seen[q.From] = h.TTL
			}
		}
	}
	return false
}
