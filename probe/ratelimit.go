package probe

import (
	"fmt"
	"time"
)

// Routers rate-limit the ICMP errors they send: Linux allows each
// destination one error per net.ipv4.icmp_ratelimit (1000 ms) after a burst
// of six (inet_peer_xrlim_allow), and icmp_msgs_per_sec over all. When
// many probes through one next hop are rejected by ICMP at once, most of
// those errors are never sent: their probes see silence and would time
// out. The Prober watches for that (issue 12): a probe that times out
// while ICMP errors came back through its next hop for other probes is run
// again, one such probe per next hop per icmpRateInterval. When slow
// re-probes keep timing out too, the silence is real (a DROP beside the
// REJECTs) and the next hop is not re-probed further.
const (
	// icmpRateInterval spaces the slow re-probes through one next hop:
	// the sustained rate of Linux's default icmp_ratelimit.
	icmpRateInterval = 1100 * time.Millisecond
	// maxSlowMisses is how many slow re-probes in a row may time out
	// again before a next hop's silences are taken as real.
	maxSlowMisses = 3
)

// WhyICMPRateLimit is the Why of an event that says a timeout may be an
// ICMP error a router's rate limit ate.
const WhyICMPRateLimit = "icmp-rate-limit"

// gateway is what the Prober learned of one next hop: whether ICMP errors
// came back through it and how its slow re-probes fared; p.mu.
type gateway struct {
	key      neighKey
	lastICMP time.Time // last accepted ICMP error for a probe through it
	nextSlot time.Time // when the next slow re-probe may start
	misses   int       // slow re-probes in a row still unanswered a slot later
	last     *entry    // the slow re-probe started last
	queue    []*entry  // slow re-probes waiting for their slot
}

// gatewayFor returns the state of next hop k; p.mu is held.
func (p *Prober) gatewayFor(k neighKey) *gateway {
	g := p.gateways[k]
	if g == nil {
		g = &gateway{key: k}
		p.gateways[k] = g
	}
	return g
}

// sawICMP notes that an ICMP error for e was accepted at t; p.mu is held.
func (p *Prober) sawICMP(e *entry, t time.Time) {
	if e.gw != nil && t.After(e.gw.lastICMP) {
		e.gw.lastICMP = t
	}
}

// slowReprobe reports whether e's result (a timeout) should wait for a
// slow re-probe: ICMP errors came back through its next hop for other
// probes while it waited, and that next hop's slow re-probes have not yet
// shown its silences to be real. It returns the slot the re-probe starts
// at, zero when the result stands; a result that stands is marked. p.mu is
// held.
func (p *Prober) slowReprobe(e *entry, res *Result, now time.Time) time.Time {
	g := e.gw
	if g == nil || res.Reason != ReasonTimeout || res.Soft || g.lastICMP.IsZero() || g.lastICMP.Before(res.Started) {
		return time.Time{}
	}
	if e.reprobes >= maxReprobes || g.misses >= maxSlowMisses {
		p.markRateLimited(g, res)
		return time.Time{}
	}
	// The first slot waits for the limit to refill after the last error.
	slot := now
	for _, t := range []time.Time{g.nextSlot, g.lastICMP.Add(icmpRateInterval)} {
		if t.After(slot) {
			slot = t
		}
	}
	g.nextSlot = slot.Add(icmpRateInterval)
	g.queue = append(g.queue, e)
	return slot
}

// startSlowReprobe starts the slow re-probe e at its slot, unless the next hop's
// earlier slow re-probes show that its silences are real: then every
// re-probe still waiting there ends with its earlier result, marked. p.mu
// is held.
func (p *Prober) startSlowReprobe(e *entry, now time.Time, acts *[]action) {
	g := e.gw
	if l := g.last; l != nil {
		// A rate-limited error comes back within a round trip once the
		// limit allows; still nothing a slot later is a real silence.
		if !l.m.Done() || l.m.Result().Reason == ReasonTimeout {
			g.misses++
		} else {
			g.misses = 0
		}
	}
	if g.misses < maxSlowMisses {
		g.queue = removeEntry(g.queue, e)
		g.last = e
		e.pending = false
		p.stats.RateLimitReprobed++
		p.dispatch(e, e.m.Start(now), acts)
		return
	}
	for _, q := range g.queue {
		if !q.pending {
			continue
		}
		q.pending = false
		p.unschedule(q)
		p.markRateLimited(g, q.prev)
		p.release()
		q.run.handOver(q, q.prev)
	}
	clear(g.queue)
	g.queue = g.queue[:0]
}

// markRateLimited adds the event that says res's timeout may be an ICMP
// error a router's rate limit ate; p.mu is held.
func (p *Prober) markRateLimited(g *gateway, res *Result) {
	p.stats.RateLimitUnsure++
	res.Events = append(res.Events, Event{Time: res.Finished, Dir: Received, Effect: EffectIgnored,
		Why: fmt.Sprintf("%s: ICMP errors came back through next hop %s for other probes while this one waited; routers rate-limit those errors, so this timeout may be one of them (lower --rate)", WhyICMPRateLimit, g.key.addr)})
}

func removeEntry(s []*entry, e *entry) []*entry {
	for i, x := range s {
		if x == e {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}
