package probe

import (
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// Outcome is a probe's verdict, as a stable machine word.
type Outcome string

// The outcomes of design §1.
const (
	Open        Outcome = "open"
	Refused     Outcome = "refused"
	Unreachable Outcome = "unreachable"
	Timeout     Outcome = "timeout"
	LocalError  Outcome = "local-error"
	Interrupted Outcome = "interrupted"
)

// Reasons that are not ICMP message names (those come from package icmp).
const (
	ReasonSYNACK        = "syn-ack"
	ReasonRST           = "rst"
	ReasonTimeout       = "timeout"
	ReasonInterrupted   = "interrupted"
	ReasonNoRoute       = "no-route"
	ReasonRouteUnreach  = "route-unreachable"
	ReasonRouteProhibit = "route-prohibit"
	ReasonRouteBlackhol = "route-blackhole"
	ReasonNeighbor      = "neighbor-unreachable"
	ReasonLocal         = "local-error"
	// ReasonSimultaneous: opened by a simultaneous open (our SYN-ACK acked).
	ReasonSimultaneous = "simultaneous-open"
	// ReasonRSTSynRecv: an RST after a simultaneous open (SYN_RECV).
	ReasonRSTSynRecv = "rst-syn-recv"
)

// Direction says whether an event is a packet we sent or one we saw.
type Direction uint8

// Directions of an Event.
const (
	Sent Direction = iota
	Received
)

// Effect is what an event did to the probe.
type Effect string

// Effects of an Event.
const (
	EffectProbe    Effect = "probe"    // a SYN we sent
	EffectDecided  Effect = "decided"  // this packet decided the outcome
	EffectTeardown Effect = "teardown" // our RST ending a half-open connection
	EffectAnswer   Effect = "answer"   // our RST answering an unacceptable SYN-ACK (spec §2.1)
	EffectSoft     Effect = "soft"     // a soft error saved for the deadline
	EffectPMTU     Effect = "pmtu"     // path-MTU information; never ends a probe
	EffectIgnored  Effect = "ignored"  // not acceptable; Why says why
	EffectSynRecv  Effect = "syn-recv" // a SYN without ACK: simultaneous open, now in SYN_RECV
)

// Why an event was ignored.
const (
	IgnoredBadACK        = "bad-ack"          // SYN-ACK or RST whose ACK is not ISS+1
	IgnoredRSTNoACK      = "rst-without-ack"  // RST without the ACK flag
	IgnoredBareACK       = "bare-ack"         // acceptable ACK without SYN or RST
	IgnoredNoFlags       = "no-syn-no-rst"    // neither SYN, RST nor ACK
	IgnoredBadChecksum   = "bad-checksum"     // TCP or ICMP checksum does not verify
	IgnoredQuoteSeq      = "icmp-quote-seq"   // quoted sequence number is not ISS
	IgnoredICMPType      = "icmp-not-for-tcp" // message class Ignore under the profile
	IgnoredAfterDecision = "late"             // arrived after the outcome was decided
	IgnoredPAWS          = "paws"             // TSecr echoes no TSval we sent (TcpExtPAWSActive)
	IgnoredOutOfWindow   = "out-of-window"    // SYN_RECV: outside the receive window
	IgnoredRSTSeq        = "rst-seq"          // SYN_RECV: RST whose SEQ is not IRS+1 (challenge ACK)
	IgnoredSYNChallenge  = "syn-challenge"    // SYN_RECV: a SYN other than the peer's own SYN-ACK
)

// IgnoredCount is how many events of one kind a probe saw past the
// maxKeptEvents it lists.
type IgnoredCount struct {
	Why   string // an Ignored* word, a receive-path drop word, or an Effect for PMTU and soft errors
	Count int
}

// Event is one packet sent or seen, with its time and what it did. Its
// fields are ordered largest first, so it takes 120 bytes, not 136.
type Event struct {
	Time       time.Time
	From       netip.Addr // sender, for received events
	Reason     string     // ICMP message name, e.g. icmp-host-unreachable
	Effect     Effect
	Why        string // for EffectIgnored
	Errno      syscall.Errno
	Seq, Ack   uint32
	Dir        Direction
	Flags      wire.Flags // TCP flags, for TCP events
	TTL        uint8      // received TTL / hop limit
	ICMPType   uint8
	ICMPCode   uint8
	ICMP       bool
	Retransmit bool // a SYN after the first
}

// SYNACK is what the target's SYN-ACK said about it.
type SYNACK struct {
	Seq     uint32
	TTL     uint8
	Window  uint16
	Options wire.Options
	ECE     bool
	CWR     bool
}

// Result is everything one probe learned.
type Result struct {
	Target    string // as the user gave it
	Index     int    // the target's position in the slice given to Run
	Addr      netip.Addr
	Port      uint16
	Interface string
	Src       netip.Addr
	SrcPort   uint16
	Profile   string
	Schedule  Schedule
	ICMP      ICMPPolicy
	ISS       uint32

	Outcome   Outcome
	Errno     syscall.Errno // 0 for open
	Reason    string
	Soft      bool       // the errno is a soft error saved and reported at the deadline
	Responder netip.Addr // who sent the deciding packet
	// RTT is the deciding packet's time minus the answered SYN's send
	// time; Connect is it minus the first SYN's: what connect() would have
	// taken. Neither is negative; both are 0 without a deciding packet.
	RTT     time.Duration
	Connect time.Duration
	// AnsweredAttempt is the SYN (1-based, as in Attempts) the deciding
	// packet answered, 0 without one; AnsweredBy says how it was found
	// (AnsweredByTSecr, AnsweredByLastSYN).
	AnsweredAttempt int
	AnsweredBy      string
	SYNACK          *SYNACK
	Teardown        bool // we sent <SEQ=ISS+1><RST>

	Attempts []time.Time // each SYN's send time
	Events   []Event     // in time order
	Ignored  int         // packets matched to this probe but not acceptable
	// IgnoredUnlisted counts, by why, the events that did not decide the
	// probe and were not listed in Events: at most 64 are (maxKeptEvents),
	// so a flood of forged packets costs a probe a bounded amount.
	IgnoredUnlisted []IgnoredCount

	Started, Finished time.Time
	Expect            string // assertion attached by the caller, if any

	Life      *Lifecycle // --handshake full / --scan ack only (probe/lifecycle.go)
	Diagnosis *Diagnosis // --diagnose: where and why (nil when not asked)
}

// Err returns nil for an open port and otherwise an error wrapping the
// errno, so errors.Is(r.Err(), syscall.ECONNREFUSED) works.
func (r *Result) Err() error {
	if r.Outcome == Open {
		return nil
	}
	return &ProbeError{Target: r.Target, Outcome: r.Outcome, Reason: r.Reason, Errno: r.Errno}
}

// ProbeError is a probe that did not find the port open.
type ProbeError struct {
	Target  string
	Outcome Outcome
	Reason  string
	Errno   syscall.Errno
}

func (e *ProbeError) Error() string {
	if e.Errno == 0 {
		return fmt.Sprintf("%s: %s (%s)", e.Target, e.Outcome, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %v (%s)", e.Target, e.Outcome, e.Errno, e.Reason)
}

// Unwrap returns the errno.
func (e *ProbeError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// OutcomeOf maps an errno delivered by an ICMP error or an RST to the
// outcome: ECONNREFUSED, and ECONNRESET (an RST after a simultaneous
// open), are a refusal; anything else is unreachable.
func OutcomeOf(errno syscall.Errno) Outcome {
	if errno == syscall.ECONNREFUSED || errno == syscall.ECONNRESET {
		return Refused
	}
	return Unreachable
}
