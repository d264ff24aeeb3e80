package report

import (
	"encoding/json"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Lifecycle is the JSON of what --handshake full and --scan ack add to a
// result; Result embeds it, so its fields sit at the top level of the
// result object and are absent for a plain SYN probe.
type Lifecycle struct {
	// Life is "handshake" or "ack-scan".
	Life      string     `json:"life,omitempty"`
	Segments  []Segment  `json:"segments,omitempty"`
	Handshake *Handshake `json:"handshake,omitempty"`
	Close     *Close     `json:"close,omitempty"`
}

// Segment is one recorded TCP segment.
type Segment struct {
	AtMs   float64 `json:"at_ms"`
	Dir    string  `json:"dir"`  // "sent" or "received"
	Kind   string  `json:"kind"` // TCP flags, e.g. "FIN|ACK"
	Seq    uint32  `json:"seq"`
	Ack    uint32  `json:"ack"`
	Len    int     `json:"len"`
	Window uint16  `json:"window"`
	Note   string  `json:"note,omitempty"`
}

// Handshake is the handshake and data of --handshake full.
type Handshake struct {
	Established     bool     `json:"established"`
	ConnectMs       float64  `json:"connect_ms"`
	SYNACKAfterACK  int      `json:"syn_ack_after_ack"`
	RSTAfterACK     bool     `json:"rst_after_ack"`
	AcceptQueueFull bool     `json:"accept_queue_full"`
	Evidence        string   `json:"evidence,omitempty"`
	BytesSent       int      `json:"bytes_sent"`
	BytesReceived   int      `json:"bytes_received"`
	FirstByteMs     *float64 `json:"first_byte_ms"`
	BannerPattern   string   `json:"banner_pattern,omitempty"`
	BannerMatched   *bool    `json:"banner_matched,omitempty"`
	Banner          string   `json:"banner"`
	Error           string   `json:"error,omitempty"`
}

// Close is how the connection ended.
type Close struct {
	Requested            string   `json:"requested"`
	FirstFIN             string   `json:"first_fin"` // "client", "server" or ""
	ClientFINMs          *float64 `json:"client_fin_ms"`
	ServerFINMs          *float64 `json:"server_fin_ms"`
	ServerACKOfFINMs     *float64 `json:"server_ack_of_fin_ms"`
	HalfClose            bool     `json:"half_close"`
	DataAfterFIN         int      `json:"data_after_fin"`
	ResetBy              string   `json:"reset_by"`
	RSTOnClose           bool     `json:"rst_on_close"`
	NoServerFIN          bool     `json:"no_server_fin"`
	FINRetransmits       int      `json:"fin_retransmits"`
	AnsweredFromTimeWait bool     `json:"answered_from_time_wait"`
	Graceful             bool     `json:"graceful"`
	TimeWait             string   `json:"time_wait"` // who keeps the 4-tuple: "client", "server" or ""
	TimeWaitMs           float64  `json:"time_wait_ms"`
	LocalState           string   `json:"local_state"`         // sock_diag's state of our 4-tuple after the close
	LocalStateLeftMs     float64  `json:"local_state_left_ms"` // time left on its timer
	DurationMs           float64  `json:"duration_ms"`
}

// lifecycleOf converts r.Life (nil when absent).
func lifecycleOf(r *probe.Result) *Lifecycle {
	l := r.Life
	if l == nil {
		return nil
	}
	out := &Lifecycle{Life: l.Mode}
	at := func(t time.Time) *float64 {
		if t.IsZero() {
			return nil
		}
		v := ms(t.Sub(r.Started))
		return &v
	}
	for _, s := range l.Segments {
		dir := "sent"
		if s.Dir == probe.Received {
			dir = "received"
		}
		out.Segments = append(out.Segments, Segment{AtMs: ms(s.Time.Sub(r.Started)), Dir: dir, Kind: s.Flags.String(),
			Seq: s.Seq, Ack: s.Ack, Len: s.Len, Window: s.Window, Note: s.Note})
	}
	if h := l.Handshake; h != nil {
		j := &Handshake{Established: h.Established, ConnectMs: ms(h.ConnectTime), SYNACKAfterACK: h.SYNACKAfterACK,
			RSTAfterACK: h.RSTAfterACK, AcceptQueueFull: h.AcceptQueueFull, Evidence: h.Evidence,
			BytesSent: h.BytesSent, BytesReceived: h.BytesReceived, BannerPattern: h.BannerPattern, Banner: string(h.Banner)}
		if h.FirstByte > 0 {
			v := ms(h.FirstByte)
			j.FirstByteMs = &v
		}
		if h.BannerPattern != "" {
			m := h.BannerMatched
			j.BannerMatched = &m
		}
		if h.Err != 0 {
			j.Error = errnoText(h.Err)
		}
		out.Handshake = j
	}
	if c := l.Close; c != nil {
		out.Close = &Close{Requested: c.Requested, FirstFIN: string(c.FirstFIN),
			ClientFINMs: at(c.ClientFIN), ServerFINMs: at(c.ServerFIN), ServerACKOfFINMs: at(c.ServerACKOfFIN),
			HalfClose: c.HalfClose, DataAfterFIN: c.DataAfterFIN, ResetBy: string(c.ResetBy), RSTOnClose: c.RSTOnClose,
			NoServerFIN: c.NoServerFIN, FINRetransmits: c.FINRetransmits, AnsweredFromTimeWait: c.AnsweredFromTimeWait,
			Graceful: c.Graceful, TimeWait: string(c.TimeWait), TimeWaitMs: ms(c.TimeWaitFor),
			LocalState: c.TimeWaitSeen, LocalStateLeftMs: ms(c.TimeWaitLeft), DurationMs: ms(c.Duration)}
	}
	return out
}

// appendLifecycle appends the fields lifecycleOf(r) adds to a result, as
// encoding/json writes the embedded struct: the NDJSON fast path's twin.
func appendLifecycle(b []byte, r *probe.Result) []byte {
	l := lifecycleOf(r)
	if l == nil {
		return b
	}
	q, err := json.Marshal(l)
	if err != nil || len(q) <= 2 {
		return b
	}
	b = append(b, ',')
	return append(b, q[1:len(q)-1]...) // the fields without their braces
}

// appendLifeText appends the text output's lines for r.Life: the close in
// one line and, when verbose, every recorded segment.
func appendLifeText(b []byte, r *probe.Result, verbose bool) []byte {
	l := lifecycleOf(r)
	if l == nil {
		return b
	}
	if verbose {
		for _, s := range l.Segments {
			arrow := "→"
			if s.Dir == "received" {
				arrow = "←"
			}
			b = fmt.Appendf(b, "    +%sms %s %s seq=%d ack=%d len=%d win=%d", strconv.FormatFloat(s.AtMs, 'f', 3, 64), arrow, s.Kind, s.Seq, s.Ack, s.Len, s.Window)
			if s.Note != "" {
				b = append(b, " ("+s.Note+")"...)
			}
			b = append(b, '\n')
		}
	}
	if h := l.Handshake; h != nil {
		b = fmt.Appendf(b, "    handshake: connect %.3fms, sent %d bytes, received %d", h.ConnectMs, h.BytesSent, h.BytesReceived)
		if h.BannerMatched != nil {
			b = fmt.Appendf(b, ", banner %q matched=%v", h.BannerPattern, *h.BannerMatched)
		}
		if h.AcceptQueueFull {
			b = append(b, ", accept-queue-full: "+h.Evidence...)
		}
		if h.Error != "" {
			b = append(b, ", error "+h.Error...)
		}
		b = append(b, '\n')
	}
	if c := l.Close; c != nil {
		b = fmt.Appendf(b, "    close (%s): first FIN from %s", c.Requested, orNone(c.FirstFIN))
		switch {
		case c.Graceful:
			b = append(b, ", graceful"...)
		case c.RSTOnClose:
			b = append(b, ", the server reset the connection (RST on close)"...)
		case c.ResetBy == "client":
			b = append(b, ", aborted with our RST"...)
		case c.NoServerFIN:
			b = append(b, ", no FIN from the server before the deadline (it holds its half open)"...)
		}
		if c.HalfClose {
			b = fmt.Appendf(b, ", half-close: %d bytes after our FIN", c.DataAfterFIN)
		}
		if c.FINRetransmits > 0 {
			b = fmt.Appendf(b, ", the server re-sent its FIN %d times (our last ACK lost)", c.FINRetransmits)
			if c.AnsweredFromTimeWait {
				b = append(b, ", answered from TIME_WAIT"...)
			}
		}
		if c.TimeWait != "" {
			b = fmt.Appendf(b, ", TIME_WAIT kept by the %s for %s", c.TimeWait, time.Duration(c.TimeWaitMs*float64(time.Millisecond)))
		}
		if c.LocalState != "" {
			b = fmt.Appendf(b, " (local socket %s, %.0fms left)", c.LocalState, c.LocalStateLeftMs)
		}
		b = append(b, '\n')
	}
	return b
}

// errnoText names the errnos a data phase ends with, which the SYN-level
// table of probe.ErrnoName does not hold.
func errnoText(e syscall.Errno) string {
	switch e {
	case syscall.ECONNRESET:
		return "ECONNRESET"
	case syscall.EPIPE:
		return "EPIPE"
	case syscall.ECONNABORTED:
		return "ECONNABORTED"
	case syscall.EIO:
		return "EIO"
	}
	return probe.ErrnoName(e)
}

func orNone(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}
