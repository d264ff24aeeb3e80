package probe

import (
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// Outcomes of an ACK probe (--scan ack): a bare ACK is a segment for no
// connection (RFC 9293 §3.10.7.1), answered with <SEQ=SEG.ACK><RST> by any
// live TCP, listening or not.
const (
	// Unfiltered: an RST with SEQ equal to our ACK number came back; the
	// path delivers TCP to a live host on that port.
	Unfiltered Outcome = "unfiltered"
	// Filtered: silence until the deadline, or an ICMP error about the ACK
	// (Errno and Reason say which).
	Filtered Outcome = "filtered"
)

// Reasons of the connection-life modes.
const (
	ReasonEstablished     = "established"       // --handshake full: the handshake completed
	ReasonAcceptQueueFull = "accept-queue-full" // the server ignored or reset our final ACK
)

// Lifecycle is what --handshake full or --scan ack learned beyond the SYN:
// the whole conversation as captured on the wire, and what it means. It is
// nil for a plain SYN probe.
type Lifecycle struct {
	// Mode is "handshake" (--handshake full) or "ack-scan" (--scan ack).
	Mode string
	// Segments are every TCP segment of the 4-tuple both ways, in capture
	// order, with the kernel's timestamps.
	Segments []Segment
	// Handshake is what the three-way handshake and the data showed.
	Handshake *Handshake
	// Close is how the connection ended.
	Close *Close
}

// Segment is one captured TCP segment of a connection.
type Segment struct {
	Time     time.Time
	Dir      Direction // Sent: from us; Received: from the target
	Flags    wire.Flags
	Seq, Ack uint32
	Len      int // payload bytes
	Window   uint16
	TTL      uint8
	Options  wire.Options // as parsed; SYN and SYN-ACK carry the interesting ones
	// Note is what the analyser made of it: "syn-ack-retransmit",
	// "fin-retransmit", "time-wait-ack", "data-after-fin", "final-ack", ….
	Note string
}

// Handshake is what --handshake full saw of the connection's opening and
// data.
type Handshake struct {
	Established bool          // the kernel's connect() succeeded
	ConnectTime time.Duration // our SYN to our final ACK
	// SYNACKAfterACK counts SYN-ACKs the server re-sent after our final
	// ACK: it did not take the ACK (lost, or its accept queue was full).
	SYNACKAfterACK int
	// RSTAfterACK: the server answered our final ACK with an RST before any
	// data moved (tcp_abort_on_overflow=1 with a full accept queue).
	RSTAfterACK bool
	// AcceptQueueFull is the verdict from the two signs above: the server
	// completed its half of the handshake but never moved the connection to
	// its accept queue. Evidence says which sign.
	AcceptQueueFull bool
	Evidence        string

	BytesSent     int
	BytesReceived int
	// FirstByte is from our final ACK to the first byte received (0: none).
	FirstByte time.Duration
	// BannerPattern is --expect-banner; BannerMatched says whether what
	// arrived matched it before the deadline.
	BannerPattern string
	BannerMatched bool
	// Banner is the start of what arrived (at most 256 bytes).
	Banner []byte
	// Err is the error that ended the data phase, if any (ECONNRESET, …).
	Err syscall.Errno
}

// Who names a side of the connection in a Close.
type Who string

// Sides of a connection.
const (
	Client Who = "client" // tcpprobe's end
	Server Who = "server" // the target's end
	Nobody Who = ""
)

// Close is how the connection ended (RFC 9293 §3.6, Stevens' four-way
// close).
type Close struct {
	// Requested is --close: "fin" or "rst".
	Requested string
	// FirstFIN is who sent the first FIN (Nobody if no FIN was seen).
	FirstFIN Who
	// ClientFIN and ServerFIN are when each side's FIN was first seen;
	// ServerACKOfFIN when the server acknowledged ours (zero: never).
	ClientFIN, ServerFIN, ServerACKOfFIN time.Time
	// HalfClose: the server kept sending data after our FIN (it may, RFC
	// 9293 §3.6); DataAfterFIN counts those bytes.
	HalfClose    bool
	DataAfterFIN int
	// ResetBy is who sent an RST (Nobody if none); RSTOnClose says the
	// server's RST ended the connection in place of a FIN (e.g. it closed
	// with unread data, RFC 2525 §2.17).
	ResetBy    Who
	RSTOnClose bool
	// NoServerFIN: the server sent no FIN within the close deadline (it
	// holds its half open).
	NoServerFIN bool
	// FINRetransmits counts FINs the server re-sent: our last ACK did not
	// reach it. AnsweredFromTimeWait: our side acknowledged the re-sent FIN
	// again (the kernel's TIME_WAIT socket did, RFC 9293 §3.6.1).
	FINRetransmits       int
	AnsweredFromTimeWait bool
	// TimeWait is who holds the 4-tuple in TIME_WAIT afterwards (the side
	// that closed first, once both FINs were acknowledged); TimeWaitFor is
	// how long: Linux's TCP_TIMEWAIT_LEN, a fixed 60 s (2·MSL), not the
	// tcp_fin_timeout sysctl, which bounds FIN_WAIT_2.
	TimeWait    Who
	TimeWaitFor time.Duration
	// TimeWaitSeen is what the local kernel's sock_diag said of the 4-tuple
	// right after the close: its state ("TIME-WAIT", …) and the time left
	// on its timer. Empty when the socket was already gone.
	TimeWaitSeen string
	TimeWaitLeft time.Duration
	// Graceful: both FINs were sent and acknowledged, and no RST.
	Graceful bool
	// Duration is from the first FIN or RST to the last segment seen.
	Duration time.Duration
}
