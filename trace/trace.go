package trace

import (
	"net/netip"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// Kinds of answer to one query, as the JSON "kind" field names them.
const (
	KindTimeExceeded = "time-exceeded"
	KindUnreachable  = "unreachable"
	KindSYNACK       = "syn-ack"
	KindRST          = "rst"
	KindNone         = "none"
)

// Defaults of Config.
const (
	DefaultMaxHops = 30
	// DefaultQueries and DefaultParallel stay inside the ICMP rate limit
	// of a default Linux router (icmp_ratelimit 1000 ms, time exceeded
	// and unreachable in icmp_ratemask: a burst of 6 errors to one host,
	// then 1 a second): a hop's queries meet one router and take 3 of its
	// 6; the hops in flight meet different routers, except past a router
	// that ends the trace, where the lowest hop's queries go first.
	DefaultQueries  = 3
	DefaultGap      = 5
	DefaultParallel = 4
	DefaultWait     = time.Second
	// DefaultSendGap spaces the queries of one hop: a destination that
	// already holds a half-open connection from the previous query would
	// otherwise answer with a challenge ACK, or not at all, instead of a
	// SYN-ACK.
	DefaultSendGap = 5 * time.Millisecond
)

// Config is one trace.
type Config struct {
	Target string // as the user gave it
	Dst    netip.Addr
	Port   uint16

	Interface  string     // leave through this interface only
	Source     netip.Addr // source address (must be this host's)
	SourcePort uint16     // 0: a free random port

	FirstHop int // first TTL (0: 1)
	MaxHops  int // last TTL (0: DefaultMaxHops)
	Queries  int // SYNs per hop (0: DefaultQueries)
	Gap      int // stop after this many silent hops in a row (0: DefaultGap)
	Parallel int // hops in flight at once (0: DefaultParallel)
	// Wait is how long a query waits for its answer (0: DefaultWait).
	Wait time.Duration
	// SendGap spaces the queries of one hop (0: DefaultSendGap; <0: none).
	SendGap time.Duration
	// Options are the SYN's TCP options.
	Options wire.Options
	// NoDistance skips the distance probe: after a trace whose destination
	// never answered, one SYN to the next port tells whether the host
	// answers at all and how many hops away it is.
	NoDistance bool
	// Ready, if set, is called once the trace's socket is open and its
	// next hop known, before the first SYN: nothing after needs privilege,
	// so it is where a caller drops it. An error ends the trace.
	Ready func() error
}

func (c *Config) defaults() {
	if c.FirstHop <= 0 {
		c.FirstHop = 1
	}
	if c.MaxHops <= 0 {
		c.MaxHops = DefaultMaxHops
	}
	if c.MaxHops < c.FirstHop {
		c.MaxHops = c.FirstHop
	}
	if c.Queries <= 0 {
		c.Queries = DefaultQueries
	}
	if c.Gap <= 0 {
		c.Gap = DefaultGap
	}
	if c.Parallel <= 0 {
		c.Parallel = DefaultParallel
	}
	if c.Wait <= 0 {
		c.Wait = DefaultWait
	}
	if c.SendGap == 0 {
		c.SendGap = DefaultSendGap
	}
}

// Label is one MPLS label stack entry an ICMP message carried (RFC 4950).
type Label struct {
	Label int  `json:"label"`
	TC    int  `json:"tc"`
	S     bool `json:"s"`
	TTL   int  `json:"ttl"`
}

// Query is one SYN of a hop and what answered it.
type Query struct {
	Sent time.Time  // when the SYN left (right after the send call)
	Seq  uint32     // its sequence number
	Kind string     // Kind*; KindNone when nothing answered
	From netip.Addr // who answered
	RTT  time.Duration
	// ICMPType and ICMPCode of an ICMP answer.
	ICMPType, ICMPCode uint8
	// Errno is what the answer means to connect(2) (Linux's table):
	// ECONNREFUSED for an RST, the ICMP error's errno; 0 otherwise.
	Errno syscall.Errno
	// Reason names an ICMP answer (icmp-admin-prohibited, …).
	Reason string
	MPLS   []Label
	// QuoteRewritten says the header an ICMP answer quotes differs from
	// the SYN that was sent (other than TTL and IP checksum): a NAT or
	// middlebox rewrote it on the way; Rewritten names the fields.
	QuoteRewritten bool
	Rewritten      []string
	// SYNACK holds a SYN-ACK's options and TTL.
	SYNACK *wire.Options
	TTL    uint8 // received TTL / hop limit
}

// Hop is one TTL.
type Hop struct {
	TTL     int
	Queries []Query
}

// Answered reports whether any query of the hop was answered.
func (h *Hop) Answered() bool {
	for i := range h.Queries {
		if h.Queries[i].Kind != KindNone {
			return true
		}
	}
	return false
}

// Ignored is an answer that failed validation, listed and never used.
type Ignored struct {
	From netip.Addr
	Why  string
}

// Verdict is where and why the SYN ends.
type Verdict struct {
	// Outcome is probe's machine word: open, refused, unreachable,
	// timeout or local-error.
	Outcome string
	Errno   syscall.Errno
	// Hop is the hop that decided (0 when nothing did, or local).
	Hop       int
	Responder netip.Addr
	// Reason is the deciding message's machine word (icmp-admin-prohibited,
	// syn-ack, rst, timeout, a route error).
	Reason string
	// Line is the one-line verdict for people.
	Line string
}

// Result is a whole trace.
type Result struct {
	Target    string
	Dst       netip.Addr
	Port      uint16
	Src       netip.Addr
	SrcPort   uint16
	Interface string
	ISS       uint32
	Hops      []Hop
	Verdict   Verdict
	// LastResponding is the highest hop that answered (0: none).
	LastResponding int
	// DiesAfter is who answered at LastResponding when the SYN never
	// reached an answer that decides (invalid otherwise).
	DiesAfter netip.Addr
	// DestinationHops is how far away the destination answered the
	// distance probe (initial TTL − received TTL + 1); 0 when it did not.
	DestinationHops int
	Ignored         []Ignored
	Started         time.Time
	Finished        time.Time
}
