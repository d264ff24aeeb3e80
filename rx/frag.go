package rx

import (
	"net/netip"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// Reassembly follows net/ipv4/inet_fragment.c (inet_frag_queue_insert,
// inet_frag_find), net/ipv4/ip_fragment.c (ip_frag_queue, ip_frag_too_far)
// and net/ipv6/reassembly.c (ip6_frag_queue):
//
//   - A queue is keyed by (source, destination, identification, protocol)
//     for IPv4 and (source, destination, identification) for IPv6, and
//     lives ipfrag_time / ip6frag_time from its first fragment.
//   - A fragment that lies within a run of fragments already queued is a
//     duplicate: it is dropped and the queue kept. One that overlaps
//     anything queued otherwise kills the whole datagram (ip_defrag since
//     Linux 4.19; RFC 5722 for IPv6).
//   - A last fragment whose end is below what is queued, or a second last
//     fragment with another end, or data past a known end kills the queue;
//     so does a fragment of zero length. An IPv4 fragment with MF whose
//     length is not a multiple of 8 is cut down to one; the IPv6 one is
//     dropped alone (with a parameter problem), as is an IPv6 fragment
//     ending past 65535.
//   - Above ipfrag_high_thresh bytes held, every fragment is dropped
//     (inet_frag_find returns no queue).
//   - IPv4: a queue that saw more than ipfrag_max_dist fragments from its
//     source go to other queues since its own last one starts over.
//
// tcpprobe adds one rule of its own: a single source may hold at most a
// quarter of the threshold, so a flood from one address cannot stop the
// reassembly of another's replies. Memory is counted as the bytes held
// plus fragOverhead per fragment, in place of the kernel's skb truesize.

// fragOverhead is what one queued fragment costs besides its data, about
// a small skb's truesize overhead.
const fragOverhead = 768

// fragKey identifies a datagram being reassembled.
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8 // IPv4 only
	v6       bool
}

type fragment struct {
	off, end int
	data     []byte
}

// fragRun is a range of fragments queued back to back, as the kernel
// groups them (fragrun_create, fragrun_append_to_last).
type fragRun struct{ off, end int }

type fragQueue struct {
	key     fragKey
	expires time.Time
	frags   []fragment
	runs    []fragRun
	tail    int // index in runs of the run holding the last fragment
	length  int // the datagram's length once known (q.len)
	meat    int // bytes queued
	first   bool
	last    bool
	mem     int
	rid     uint32 // IPv4: the source's fragment count at this queue's last fragment

	head      []byte // first fragment: IPv4 header, or IPv6 headers up to the fragment header
	headNHOff int    // IPv6: offset of the Next Header byte naming the fragment header
	headNext  uint8  // IPv6: the fragment header's next header
}

type fragPeer struct {
	rid    uint32
	mem    int
	queues int
}

type reassembler struct {
	cfg        *Config
	queues     map[fragKey]*fragQueue
	peers      map[netip.Addr]*fragPeer
	mem        [2]int // bytes held, IPv4 and IPv6
	nextExpiry time.Time
	buf        []byte // the last datagram completed

	// The first fragment's parts of the last datagram completed.
	head      []byte
	headNHOff int
	headNext  uint8
}

func (r *reassembler) init(cfg *Config) {
	r.cfg = cfg
	r.queues = make(map[fragKey]*fragQueue)
	r.peers = make(map[netip.Addr]*fragPeer)
}

// add4 queues the IPv4 fragment b (header of hlen bytes) and returns the
// datagram's data once complete (r.head then holds the first fragment's
// header).
func (r *reassembler) add4(b []byte, hlen int, now time.Time) ([]byte, Drop) {
	h := wire.IPv4(b)
	key := fragKey{src: h.Src(), dst: h.Dst(), id: uint32(h.ID()), proto: h.Protocol()}
	off := h.FragmentOffset()
	data := b[hlen:]
	end := off + len(data)
	more := h.MF()
	if more && end&7 != 0 {
		end &^= 7
		data = data[:end-off]
	}
	var head []byte
	if off == 0 {
		head = b[:hlen]
	}
	return r.add(key, off, end, more, data, head, 0, 0, now)
}

// add6 queues the IPv6 fragment whose fragment header is x (nhoff: the
// offset of the Next Header byte naming it) and returns the datagram's
// data once complete.
func (r *reassembler) add6(b []byte, x *wire.ExtHeader, nhoff int, now time.Time) ([]byte, Drop) {
	h := wire.IPv6(b)
	key := fragKey{src: h.Src(), dst: h.Dst(), id: x.FragID, v6: true}
	data := b[x.Off+x.Len:]
	off := x.FragOffset
	end := off + len(data)
	if end > 0xffff || (x.More && end&7 != 0) {
		return nil, DropFragInvalid // dropped alone, with a parameter problem
	}
	var head []byte
	if off == 0 {
		head = b[:x.Off]
	}
	return r.add(key, off, end, x.More, data, head, nhoff, x.Next, now)
}

func (r *reassembler) add(key fragKey, off, end int, more bool, data, head []byte, nhoff int, next uint8, now time.Time) ([]byte, Drop) {
	r.expireDue(now)
	fam, thresh, timeout := 0, r.cfg.IPFragHighThresh, r.cfg.IPFragTime
	if key.v6 {
		fam, thresh, timeout = 1, r.cfg.IP6FragHighThresh, r.cfg.IP6FragTime
	}
	// inet_frag_find.
	if thresh <= 0 || r.mem[fam] > thresh {
		return nil, DropFragMemory
	}
	peer := r.peers[key.src]
	if peer != nil && peer.mem > thresh/4 {
		return nil, DropFragMemory
	}
	q := r.queues[key]
	if q == nil {
		if peer == nil {
			peer = &fragPeer{}
			r.peers[key.src] = peer
		}
		q = &fragQueue{key: key, expires: now.Add(timeout)}
		r.queues[key] = q
		peer.queues++
		if r.nextExpiry.IsZero() || q.expires.Before(r.nextExpiry) {
			r.nextExpiry = q.expires
		}
	}
	// ip_frag_too_far / ip_frag_reinit.
	if !key.v6 && r.cfg.IPFragMaxDist > 0 {
		start := q.rid
		peer.rid++
		q.rid = peer.rid
		if len(q.frags) > 0 && peer.rid-start > uint32(r.cfg.IPFragMaxDist) {
			r.reinit(q, now.Add(timeout))
		}
	}
	// ip_frag_queue / ip6_frag_queue: the datagram's end.
	if !more {
		if end < q.length || (q.last && end != q.length) {
			r.kill(q)
			return nil, DropFragInvalid
		}
		q.last, q.length = true, end
	} else if end > q.length {
		if q.last {
			r.kill(q)
			return nil, DropFragInvalid
		}
		q.length = end
	}
	if end == off {
		r.kill(q)
		return nil, DropFragInvalid
	}
	switch q.insert(off, end) {
	case insertDup:
		return nil, DropFragDuplicate
	case insertOverlap:
		r.kill(q)
		return nil, DropFragOverlap
	}
	f := fragment{off: off, end: end, data: append([]byte(nil), data...)}
	i := len(q.frags)
	for i > 0 && q.frags[i-1].off > off {
		i--
	}
	q.frags = append(q.frags, fragment{})
	copy(q.frags[i+1:], q.frags[i:])
	q.frags[i] = f
	cost := len(data) + fragOverhead
	q.mem += cost
	r.mem[fam] += cost
	peer.mem += cost
	q.meat += end - off
	if off == 0 {
		q.first = true
		q.head = append(q.head[:0], head...)
		q.headNHOff, q.headNext = nhoff, next
	}
	if !q.first || !q.last || q.meat != q.length {
		return nil, DropFragQueued
	}
	// Complete: ip_frag_reasm / ip6_frag_reasm.
	if cap(r.buf) < q.length {
		r.buf = make([]byte, q.length)
	}
	r.buf = r.buf[:q.length]
	for _, f := range q.frags {
		copy(r.buf[f.off:f.end], f.data)
	}
	r.head = append(r.head[:0], q.head...)
	r.headNHOff, r.headNext = q.headNHOff, q.headNext
	r.kill(q)
	return r.buf, DropNone
}

type insertResult uint8

const (
	insertOK insertResult = iota
	insertDup
	insertOverlap
)

// insert is inet_frag_queue_insert over the queue's runs.
func (q *fragQueue) insert(off, end int) insertResult {
	if len(q.runs) == 0 {
		q.runs, q.tail = append(q.runs, fragRun{off, end}), 0
		return insertOK
	}
	if t := &q.runs[q.tail]; t.end < end {
		// The common case: after the last fragment.
		switch {
		case off < t.end:
			return insertOverlap
		case off == t.end:
			t.end = end
		default:
			q.runs = append(q.runs, fragRun{off, end})
			q.tail = len(q.runs) - 1
		}
		return insertOK
	}
	for _, run := range q.runs {
		if end <= run.off || off >= run.end {
			continue
		}
		if off >= run.off && end <= run.end {
			return insertDup
		}
		return insertOverlap
	}
	// A new run before the tail; keep runs in offset order.
	i := len(q.runs)
	for i > 0 && q.runs[i-1].off > off {
		i--
	}
	q.runs = append(q.runs, fragRun{})
	copy(q.runs[i+1:], q.runs[i:])
	q.runs[i] = fragRun{off, end}
	if q.tail >= i {
		q.tail++
	}
	return insertOK
}

// reinit is ip_frag_reinit: the queue forgets its fragments and its timer
// starts again.
func (r *reassembler) reinit(q *fragQueue, expires time.Time) {
	r.release(q)
	*q = fragQueue{key: q.key, expires: expires, rid: q.rid, head: q.head[:0]}
	if expires.Before(r.nextExpiry) {
		r.nextExpiry = expires
	}
}

// release gives back what q's fragments hold.
func (r *reassembler) release(q *fragQueue) {
	fam := 0
	if q.key.v6 {
		fam = 1
	}
	r.mem[fam] -= q.mem
	if p := r.peers[q.key.src]; p != nil {
		p.mem -= q.mem
	}
	q.mem = 0
}

// kill is inet_frag_kill: the queue and its fragments are gone.
func (r *reassembler) kill(q *fragQueue) {
	r.release(q)
	delete(r.queues, q.key)
	if p := r.peers[q.key.src]; p != nil {
		p.queues--
		if p.queues <= 0 {
			delete(r.peers, q.key.src)
		}
	}
}

func (r *reassembler) expireDue(now time.Time) {
	if !r.nextExpiry.IsZero() && !now.Before(r.nextExpiry) {
		r.expire(now)
	}
}

// expire kills the queues whose time is up at now (ip_expire,
// ip6_frag_expire) and returns how many.
func (r *reassembler) expire(now time.Time) int {
	n := 0
	r.nextExpiry = time.Time{}
	for _, q := range r.queues {
		if !now.Before(q.expires) {
			r.kill(q)
			n++
			continue
		}
		if r.nextExpiry.IsZero() || q.expires.Before(r.nextExpiry) {
			r.nextExpiry = q.expires
		}
	}
	return n
}
