package report

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

// Line is the one-line summary of r: target, outcome, errno, who answered,
// how fast.
func Line(r *probe.Result) string { return string(appendLine(nil, r)) }

// appendLine appends Line(r) to b without fmt: a sweep prints 65,535 of
// them.
func appendLine(b []byte, r *probe.Result) []byte {
	b = append(b, r.Target...)
	b = appendAddrNote(b, r.Target, r.Addr)
	b = append(b, ' ')
	b = append(b, r.Outcome...)
	if r.Errno != 0 && r.Outcome != probe.Interrupted {
		b = append(b, ' ')
		b = append(b, probe.ErrnoName(r.Errno)...)
	}
	switch {
	case r.Outcome == probe.Open:
		b = append(b, ' ')
		b = appendTimes(b, r)
		b = appendFrom(b, r.Responder)
	case r.Outcome == probe.Timeout && r.Reason == probe.ReasonNeighborTimeout:
		b = append(b, " after "...)
		b = appendDur(b, r.Finished.Sub(r.Started))
		b = append(b, " ("...)
		b = append(b, r.Reason...)
		b = append(b, ": "...)
		b = appendUnsent(b, r)
		b = append(b, ')')
	case r.Outcome == probe.Filtered && r.Reason == probe.ReasonTimeout: // --scan ack
		b = append(b, " (no answer to the ACK)"...)
	case r.Outcome == probe.Timeout:
		b = append(b, " after "...)
		b = appendDur(b, r.Finished.Sub(r.Started))
		b = append(b, ", "...)
		b = strconv.AppendInt(b, int64(len(r.Attempts)), 10)
		b = append(b, " SYNs unanswered"...)
	case r.Outcome == probe.LocalError:
		b = append(b, " ("...)
		b = append(b, r.Reason...)
		b = append(b, "; "...)
		b = appendUnsent(b, r)
		b = append(b, ')')
	case r.Outcome == probe.Interrupted:
	case r.Soft:
		b = append(b, " ("...)
		b = append(b, r.Reason...)
		b = appendFrom(b, r.Responder)
		b = append(b, ", soft: reported at the deadline after "...)
		b = appendDur(b, r.Finished.Sub(r.Started))
		b = append(b, ')')
	default:
		b = append(b, " ("...)
		b = append(b, r.Reason...)
		b = appendFrom(b, r.Responder)
		b = append(b, ") "...)
		b = appendTimes(b, r)
	}
	if r.Expect != "" {
		b = append(b, " [expect "...)
		b = append(b, r.Expect...)
		if Met(r) {
			b = append(b, ": ok]"...)
		} else {
			b = append(b, ": FAILED]"...)
		}
	}
	return b
}

// appendTimes appends "rtt=X", or, when the answered SYN was not the
// first, "connect=C rtt=X (answered SYN N)": connect() would have taken C.
func appendTimes(b []byte, r *probe.Result) []byte {
	if r.AnsweredAttempt > 1 && r.Connect != r.RTT {
		b = append(b, "connect="...)
		b = appendDur(b, r.Connect)
		b = append(b, " rtt="...)
		b = appendDur(b, r.RTT)
		b = append(b, " (answered SYN "...)
		b = strconv.AppendInt(b, int64(r.AnsweredAttempt), 10)
		return append(b, ')')
	}
	b = append(b, "rtt="...)
	return appendDur(b, r.RTT)
}

// appendAddrText appends a as fmt's %s prints it ("invalid IP" for the
// zero Addr).
func appendAddrText(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, "invalid IP"...)
	}
	return a.AppendTo(b)
}

func timelineLine(r *probe.Result, e *probe.Event) string {
	at := "+" + fmtOffset(e.Time.Sub(r.Started))
	var b strings.Builder
	b.WriteString(at)
	if e.Dir == probe.Sent {
		target := netipPort(r)
		switch {
		case e.Flags == 0 && e.Reason != "": // an ARP request or neighbour solicitation
			fmt.Fprintf(&b, " %s → %s", e.Reason, e.From)
		case e.Flags == wire.SYN:
			fmt.Fprintf(&b, " SYN → %s seq=%d", target, e.Seq)
			if e.Retransmit {
				b.WriteString(" (retransmission)")
			}
		default:
			fmt.Fprintf(&b, " %s → %s seq=%d", e.Flags, target, e.Seq)
		}
	} else if e.ICMP {
		fmt.Fprintf(&b, " ← %s (type %d code %d) from %s quoting seq=%d", e.Reason, e.ICMPType, e.ICMPCode, e.From, e.Seq)
	} else {
		fmt.Fprintf(&b, " ← %s from %s seq=%d", e.Flags, e.From, e.Seq)
		if e.Flags&wire.ACK != 0 {
			ok := "✓"
			if e.Ack != r.ISS+1 {
				ok = "✗ want " + fmt.Sprint(r.ISS+1)
			}
			fmt.Fprintf(&b, " ack=%d %s", e.Ack, ok)
		}
		fmt.Fprintf(&b, " ttl=%d", e.TTL)
		if e.Effect == probe.EffectDecided && e.Flags&wire.SYN != 0 && r.SYNACK != nil {
			o := r.SYNACK.Options
			fmt.Fprintf(&b, " win=%d", r.SYNACK.Window)
			if o.HasMSS {
				fmt.Fprintf(&b, " mss=%d", o.MSS)
			}
			if o.HasWScale {
				fmt.Fprintf(&b, " wscale=%d", o.WScale)
			}
			if o.SACKPermitted {
				b.WriteString(" sack")
			}
			if o.HasTimestamps {
				b.WriteString(" ts")
			}
		}
	}
	switch e.Effect {
	case probe.EffectDecided:
		if e.Errno != 0 {
			fmt.Fprintf(&b, " → %s", probe.ErrnoName(e.Errno))
		}
	case probe.EffectTeardown:
		b.WriteString(" (teardown)")
	case probe.EffectAnswer:
		b.WriteString(" (answering an unacceptable SYN-ACK)")
	case probe.EffectSoft:
		fmt.Fprintf(&b, " → %s saved as a soft error", probe.ErrnoName(e.Errno))
	case probe.EffectPMTU:
		b.WriteString(" (path MTU; ignored)")
	case probe.EffectIgnored:
		fmt.Fprintf(&b, " ignored: %s", e.Why)
	}
	return b.String()
}

func netipPort(r *probe.Result) string {
	if r.Addr.Is6() {
		return fmt.Sprintf("[%s]:%d", r.Addr, r.Port)
	}
	return fmt.Sprintf("%s:%d", r.Addr, r.Port)
}

// appendDur appends d as "0.493ms" below a millisecond, "12.35ms" below a
// second, "6.001s" above.
func appendDur(b []byte, d time.Duration) []byte {
	switch {
	case d < time.Millisecond:
		return append(strconv.AppendFloat(b, float64(d)/1e6, 'f', 3, 64), "ms"...)
	case d < time.Second:
		return append(strconv.AppendFloat(b, float64(d)/1e6, 'f', 2, 64), "ms"...)
	default:
		return append(strconv.AppendFloat(b, d.Seconds(), 'f', 3, 64), 's')
	}
}

func fmtOffset(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.3fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}
