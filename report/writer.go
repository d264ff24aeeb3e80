package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/probe/wire"
)

// Writer receives results as probes finish. Close ends the output (the
// JSON document closes there) and must be called once, even after an
// interrupt.
type Writer interface {
	Write(r *probe.Result) error
	Close() error
}

// NewJSON returns a Writer that prints one JSON document holding every
// result at Close.
func NewJSON(w io.Writer) Writer { return &jsonWriter{w: w} }

type jsonWriter struct {
	w   io.Writer
	doc Document
}

func (j *jsonWriter) Write(r *probe.Result) error {
	j.doc.Results = append(j.doc.Results, FromProbe(r))
	return nil
}

func (j *jsonWriter) Close() error {
	j.doc.Schema, j.doc.Version = Schema, Version
	if j.doc.Results == nil {
		j.doc.Results = []*Result{}
	}
	enc := json.NewEncoder(j.w)
	enc.SetIndent("", "  ")
	return enc.Encode(&j.doc)
}

// NewNDJSON returns a Writer that prints each result as one line of JSON
// as soon as it is decided.
func NewNDJSON(w io.Writer) Writer { return &ndjsonWriter{enc: json.NewEncoder(w)} }

type ndjsonWriter struct{ enc *json.Encoder }

func (n *ndjsonWriter) Write(r *probe.Result) error { return n.enc.Encode(FromProbe(r)) }
func (n *ndjsonWriter) Close() error                { return nil }

// NewText returns a Writer for people: one line per probe and, when
// verbose, the timeline of every packet sent and seen beneath it.
func NewText(w io.Writer, verbose bool) Writer { return &textWriter{w: w, verbose: verbose} }

type textWriter struct {
	w       io.Writer
	verbose bool
}

func (t *textWriter) Write(r *probe.Result) error {
	b := bufio.NewWriter(t.w)
	b.WriteString(Line(r))
	b.WriteByte('\n')
	if t.verbose {
		for i := range r.Events {
			b.WriteString("    ")
			b.WriteString(timelineLine(r, &r.Events[i]))
			b.WriteByte('\n')
		}
	}
	return b.Flush()
}

func (t *textWriter) Close() error { return nil }

// Line is the one-line summary of r: target, outcome, errno, who answered,
// how fast.
func Line(r *probe.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Target, r.Outcome)
	if r.Errno != 0 && r.Outcome != probe.Interrupted {
		fmt.Fprintf(&b, " %s", probe.ErrnoName(r.Errno))
	}
	switch {
	case r.Outcome == probe.Open:
		fmt.Fprintf(&b, " rtt=%s from %s", fmtDur(r.RTT), r.Responder)
	case r.Outcome == probe.Timeout:
		fmt.Fprintf(&b, " after %s, %d SYNs unanswered", fmtDur(r.Finished.Sub(r.Started)), len(r.Attempts))
	case r.Outcome == probe.LocalError:
		fmt.Fprintf(&b, " (%s; nothing sent)", r.Reason)
	case r.Outcome == probe.Interrupted:
	case r.Soft:
		fmt.Fprintf(&b, " (%s from %s, soft: reported at the deadline after %s)", r.Reason, r.Responder, fmtDur(r.Finished.Sub(r.Started)))
	default:
		fmt.Fprintf(&b, " (%s from %s) rtt=%s", r.Reason, r.Responder, fmtDur(r.RTT))
	}
	if r.Expect != "" {
		if Met(r) {
			fmt.Fprintf(&b, " [expect %s: ok]", r.Expect)
		} else {
			fmt.Fprintf(&b, " [expect %s: FAILED]", r.Expect)
		}
	}
	return b.String()
}

func timelineLine(r *probe.Result, e *probe.Event) string {
	at := "+" + fmtOffset(e.Time.Sub(r.Started))
	var b strings.Builder
	b.WriteString(at)
	if e.Dir == probe.Sent {
		target := fmt.Sprintf("%s", netipPort(r))
		switch {
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

// fmtDur prints a duration with a precision that suits its size.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.3fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.3fs", d.Seconds())
	}
}

func fmtOffset(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.3fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}
