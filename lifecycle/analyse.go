package lifecycle

import (
	"fmt"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

// TimeWaitLen is how long Linux keeps a closed connection's 4-tuple in
// TIME_WAIT: TCP_TIMEWAIT_LEN (include/net/tcp.h), 60 s, fixed at build
// time. It is the 2·MSL of RFC 9293 §3.4.2 with an MSL of 30 s; the
// tcp_fin_timeout sysctl does not change it (that bounds FIN_WAIT_2).
const TimeWaitLen = 60 * time.Second

// Segment notes set by Analyse.
const (
	NoteSYNACKRetransmit = "syn-ack-retransmit" // the server re-sent its SYN-ACK after our final ACK
	NoteFinalACK         = "final-ack"          // our ACK completing the handshake
	NoteFIN              = "fin"
	NoteFINRetransmit    = "fin-retransmit" // the server re-sent its FIN: our last ACK was lost
	NoteTimeWaitACK      = "time-wait-ack"  // our ACK of a re-sent FIN, from TIME_WAIT
	NoteLastACK          = "last-ack"       // the ACK of the second FIN
	NoteACKOfFIN         = "ack-of-fin"     // the server acknowledged our FIN
	NoteDataAfterFIN     = "data-after-fin" // the server's data after our FIN (half-close)
	NoteRST              = "rst"
)

// Analysis is what Analyse makes of a recorded connection.
type Analysis struct {
	Handshake probe.Handshake
	Close     probe.Close
	Start     time.Time // our first SYN (zero if none was recorded)
}

// seqLT is serial-number comparison (RFC 1982): a before b.
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }

// seqLE is a before or equal to b.
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }

// Analyse reads segs, every TCP segment of one connection in capture order
// (Note fields are overwritten), and says how the handshake went and how
// the connection closed. closeMode is --close ("fin" or "rst").
func Analyse(segs []probe.Segment, closeMode string) Analysis {
	var a Analysis
	h, c := &a.Handshake, &a.Close
	c.Requested = closeMode
	var (
		iss, irs           uint32
		haveSYN, haveSA    bool
		ack                = -1 // index of our final ACK
		rcvNxt, sndNxt     uint32
		ourFIN, srvFIN     = -1, -1
		ourFINEnd          uint32 // sequence number just after our FIN
		srvFINSeq          uint32
		srvFINEnd          uint32
		srvAckedFIN        bool
		weAckedFIN         bool
		serverSpoke        bool // the server sent anything but SYN-ACKs
		refinned           bool // a re-sent FIN waits for our ACK
		firstClose, lastAt time.Time
	)
	for i := range segs {
		s := &segs[i]
		s.Note = ""
		syn, fin, rst, hasACK := s.Flags&wire.SYN != 0, s.Flags&wire.FIN != 0, s.Flags&wire.RST != 0, s.Flags&wire.ACK != 0
		lastAt = s.Time
		if s.Dir == probe.Sent {
			switch {
			case syn && !hasACK:
				if !haveSYN {
					haveSYN, iss, sndNxt = true, s.Seq, s.Seq+1
					a.Start = s.Time
				}
				continue
			case rst:
				if c.ResetBy == probe.Nobody {
					c.ResetBy = probe.Client
				}
				s.Note = NoteRST
				if firstClose.IsZero() {
					firstClose = s.Time
				}
				continue
			}
			if haveSA && ack < 0 && hasACK && s.Ack == irs+1 {
				ack = i
				s.Note = NoteFinalACK
				h.Established = true
				h.ConnectTime = s.Time.Sub(a.Start)
			}
			if s.Len > 0 {
				if end := s.Seq + uint32(s.Len); seqLT(sndNxt, end) {
					h.BytesSent += int(end - sndNxt)
					sndNxt = end
				}
			}
			if fin {
				if ourFIN < 0 {
					ourFIN = i
					ourFINEnd = s.Seq + uint32(s.Len) + 1
					c.ClientFIN = s.Time
					s.Note = NoteFIN
					if firstClose.IsZero() {
						firstClose = s.Time
					}
				}
			}
			if srvFIN >= 0 && hasACK && s.Ack == srvFINEnd {
				switch {
				case refinned:
					c.AnsweredFromTimeWait = true
					s.Note = NoteTimeWaitACK
				case !weAckedFIN && !fin && ourFIN >= 0:
					s.Note = NoteLastACK
				}
				weAckedFIN, refinned = true, false
			}
			continue
		}
		// From the server.
		switch {
		case syn && hasACK:
			if !haveSA && haveSYN && s.Ack == iss+1 {
				haveSA, irs, rcvNxt = true, s.Seq, s.Seq+1
				continue
			}
			if haveSA && s.Seq == irs && ack >= 0 {
				h.SYNACKAfterACK++
				s.Note = NoteSYNACKRetransmit
			}
			continue
		case rst:
			s.Note = NoteRST
			if c.ResetBy == probe.Nobody {
				c.ResetBy = probe.Server
				if ack >= 0 && !serverSpoke && ourFIN < 0 && h.BytesSent == 0 {
					h.RSTAfterACK = true
				}
			}
			if firstClose.IsZero() {
				firstClose = s.Time
			}
			continue
		}
		serverSpoke = true
		if s.Len > 0 {
			if end := s.Seq + uint32(s.Len); seqLT(rcvNxt, end) {
				n := int(end - rcvNxt) // new bytes only, not a retransmission's
				h.BytesReceived += n
				if h.FirstByte == 0 && ack >= 0 {
					h.FirstByte = s.Time.Sub(segs[ack].Time)
				}
				if ourFIN >= 0 {
					c.HalfClose = true
					c.DataAfterFIN += n
					s.Note = NoteDataAfterFIN
				}
				rcvNxt = end
			}
		}
		if ourFIN >= 0 && hasACK && seqLE(ourFINEnd, s.Ack) && !srvAckedFIN {
			srvAckedFIN = true
			c.ServerACKOfFIN = s.Time
			if s.Note == "" {
				s.Note = NoteACKOfFIN
			}
		}
		if fin {
			finSeq := s.Seq + uint32(s.Len)
			if srvFIN < 0 {
				srvFIN = i
				srvFINSeq = finSeq
				srvFINEnd = finSeq + 1
				c.ServerFIN = s.Time
				s.Note = NoteFIN
				if firstClose.IsZero() {
					firstClose = s.Time
				}
			} else if finSeq == srvFINSeq {
				c.FINRetransmits++
				s.Note = NoteFINRetransmit
				refinned = true
			}
		}
	}
	switch {
	case ourFIN >= 0 && (srvFIN < 0 || ourFIN < srvFIN):
		c.FirstFIN = probe.Client
	case srvFIN >= 0:
		c.FirstFIN = probe.Server
	}
	if h.RSTAfterACK || h.SYNACKAfterACK > 0 {
		h.AcceptQueueFull = true
		switch {
		case h.RSTAfterACK:
			h.Evidence = "the server answered our final ACK with an RST before any data: its accept queue was full (tcp_abort_on_overflow=1)"
		case h.SYNACKAfterACK == 1:
			h.Evidence = "the server re-sent its SYN-ACK after our final ACK: it did not take the ACK (accept queue full with tcp_abort_on_overflow=0, or the ACK was lost)"
		default:
			h.Evidence = fmt.Sprintf("the server re-sent its SYN-ACK %d times after our final ACK, each answered: its accept queue was full (tcp_abort_on_overflow=0)", h.SYNACKAfterACK)
		}
	}
	c.RSTOnClose = c.ResetBy == probe.Server && !h.RSTAfterACK
	c.NoServerFIN = ourFIN >= 0 && srvFIN < 0 && c.ResetBy == probe.Nobody
	c.Graceful = ourFIN >= 0 && srvFIN >= 0 && srvAckedFIN && weAckedFIN && c.ResetBy == probe.Nobody
	if c.Graceful {
		c.TimeWait = c.FirstFIN
		c.TimeWaitFor = TimeWaitLen
	}
	if !firstClose.IsZero() {
		c.Duration = lastAt.Sub(firstClose)
	}
	return a
}
