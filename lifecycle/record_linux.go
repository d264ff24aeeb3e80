package lifecycle

import (
	"net/netip"
	"sync"
	"syscall"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

// recorder collects what a tap sees.
type recorder struct {
	mu      sync.Mutex
	segs    []probe.Segment
	ignored int
	local   netip.AddrPort
}

// add records pkt, one frame of the tap. The direction comes from the
// addresses (a frame to ourselves on lo is outgoing either way), so
// outgoing is not needed.
func (r *recorder) add(pkt []byte, info rawsock.RecvInfo, _ bool) {
	var ip wire.IPInfo
	payload, err := wire.ParseIP(pkt, &ip)
	if err != nil || ip.Protocol != wire.ProtocolTCP || ip.Fragment {
		r.count()
		return
	}
	var s wire.Segment
	if wire.ParseTCP(payload, &s) != nil {
		r.count()
		return
	}
	dir := probe.Received
	if ip.Src == r.local.Addr() && s.SrcPort == r.local.Port() {
		dir = probe.Sent
	}
	// What we sent may carry a checksum the NIC fills later; what we
	// received must verify unless the kernel says it is not ready (§5.3).
	if dir == probe.Received && !info.ChecksumNotReady && !info.ChecksumValid &&
		!wire.TCPChecksumValid(ip.Src, ip.Dst, payload) {
		r.count()
		return
	}
	r.mu.Lock()
	r.segs = append(r.segs, probe.Segment{Time: info.Time, Dir: dir, Flags: s.Flags, Seq: s.Seq, Ack: s.Ack,
		Len: s.PayloadLen, Window: s.Window, TTL: ip.TTL, Options: s.Options})
	r.mu.Unlock()
}

func (r *recorder) count() {
	r.mu.Lock()
	r.ignored++
	r.mu.Unlock()
}

func (r *recorder) snapshot() ([]probe.Segment, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]probe.Segment(nil), r.segs...), r.ignored
}

// fill sets the result's SYN-level fields from the recorded segments.
func (h *Handshaker) fill(res *probe.Result, segs []probe.Segment, a Analysis) {
	var iss uint32
	haveSYN := false
	for i := range segs {
		s := &segs[i]
		switch {
		case s.Dir == probe.Sent && s.Flags&(wire.SYN|wire.ACK) == wire.SYN:
			if !haveSYN {
				iss, haveSYN = s.Seq, true
				res.ISS = iss
			}
			res.Attempts = append(res.Attempts, s.Time)
			res.Events = append(res.Events, probe.Event{Time: s.Time, Dir: probe.Sent, Flags: s.Flags, Seq: s.Seq,
				Effect: probe.EffectProbe, Retransmit: len(res.Attempts) > 1})
		case s.Dir == probe.Received && haveSYN && res.SYNACK == nil && s.Flags&(wire.SYN|wire.ACK) == wire.SYN|wire.ACK && s.Ack == iss+1:
			res.SYNACK = &probe.SYNACK{Seq: s.Seq, TTL: s.TTL, Window: s.Window, Options: s.Options, ECE: s.Flags&wire.ECE != 0, CWR: s.Flags&wire.CWR != 0}
			res.Responder = res.Addr
			res.RTT = s.Time.Sub(res.Attempts[len(res.Attempts)-1])
			res.Events = append(res.Events, probe.Event{Time: s.Time, Dir: probe.Received, From: res.Addr, Flags: s.Flags,
				Seq: s.Seq, Ack: s.Ack, TTL: s.TTL, Effect: probe.EffectDecided})
		case s.Dir == probe.Received && haveSYN && res.SYNACK == nil && s.Flags&wire.RST != 0:
			res.Responder = res.Addr
			res.RTT = s.Time.Sub(res.Attempts[len(res.Attempts)-1])
			res.Events = append(res.Events, probe.Event{Time: s.Time, Dir: probe.Received, From: res.Addr, Flags: s.Flags,
				Seq: s.Seq, Ack: s.Ack, TTL: s.TTL, Effect: probe.EffectDecided, Errno: syscall.ECONNREFUSED})
		}
	}
	if !a.Start.IsZero() {
		res.Started = a.Start
	}
}
