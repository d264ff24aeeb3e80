package report

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

// AppendEntry appends e as one line of NDJSON: exactly the bytes
// encoding/json's Encoder writes for FromEntry(e), newline included, built
// without reflection and without converting the result first. The NDJSON
// writer uses it so a sweep of 65,535 ports does not spend its time in
// encoding/json.
func AppendEntry(b []byte, e Entry) []byte {
	r := e.Result
	b = append(b, `{"schema":`...)
	b = appendString(b, Schema)
	b = append(b, `,"target":`...)
	b = appendString(b, r.Target)
	b = append(b, `,"address":`...)
	b = appendAddr(b, r.Addr)
	b = append(b, `,"port":`...)
	b = strconv.AppendUint(b, uint64(r.Port), 10)
	b = append(b, `,"family":`...)
	if r.Addr.Is6() && !r.Addr.Is4In6() {
		b = append(b, `"ipv6"`...)
	} else {
		b = append(b, `"ipv4"`...)
	}
	b = append(b, `,"interface":`...)
	b = appendString(b, r.Interface)
	b = append(b, `,"source":`...)
	b = appendAddr(b, r.Src)
	b = append(b, `,"source_port":`...)
	b = strconv.AppendUint(b, uint64(r.SrcPort), 10)
	b = append(b, `,"profile":`...)
	b = appendString(b, r.Profile)
	b = append(b, `,"schedule":{"syn_offsets_ms":[`...)
	for i, d := range r.Schedule.SYNs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMs(b, d)
	}
	b = append(b, `],"give_up_ms":`...)
	b = appendMs(b, r.Schedule.GiveUp)
	b = append(b, `},"icmp_policy":`...)
	b = appendString(b, r.ICMP.String())
	b = append(b, `,"outcome":`...)
	b = appendString(b, string(r.Outcome))
	b = append(b, `,"errno":`...)
	b = appendString(b, probe.ErrnoName(r.Errno))
	b = append(b, `,"errno_number":`...)
	b = strconv.AppendInt(b, int64(r.Errno), 10)
	b = append(b, `,"reason":`...)
	b = appendString(b, r.Reason)
	b = append(b, `,"soft":`...)
	b = strconv.AppendBool(b, r.Soft)
	b = append(b, `,"responder":`...)
	b = appendAddr(b, r.Responder)
	b = append(b, `,"rtt_ms":`...)
	if r.Outcome == probe.Open || r.Outcome == probe.Refused || (r.Outcome == probe.Unreachable && !r.Soft) {
		b = appendMs(b, r.RTT)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"connect_ms":`...)
	if r.AnsweredAttempt > 0 {
		b = appendMs(b, r.Connect)
		b = append(b, `,"answered_attempt":`...)
		b = strconv.AppendInt(b, int64(r.AnsweredAttempt), 10)
		b = append(b, `,"answered_by":`...)
		b = appendString(b, r.AnsweredBy)
	} else {
		b = append(b, `null,"answered_attempt":0,"answered_by":""`...)
	}
	b = append(b, `,"iss":`...)
	b = strconv.AppendUint(b, uint64(r.ISS), 10)
	b = append(b, `,"attempts":[`...)
	for i, a := range r.Attempts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"at_ms":`...)
		b = appendMs(b, a.Sub(r.Started))
		b = append(b, `,"time":`...)
		b = appendTime(b, a)
		b = append(b, '}')
	}
	b = append(b, `],"events":[`...)
	for i := range r.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEvent(b, &r.Events[i], r.Started)
	}
	b = append(b, `],"syn_ack":`...)
	if s := r.SYNACK; s != nil {
		b = append(b, `{"ttl":`...)
		b = strconv.AppendUint(b, uint64(s.TTL), 10)
		b = append(b, `,"window":`...)
		b = strconv.AppendUint(b, uint64(s.Window), 10)
		b = append(b, `,"mss":`...)
		if s.Options.HasMSS {
			b = strconv.AppendUint(b, uint64(s.Options.MSS), 10)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"wscale":`...)
		if s.Options.HasWScale {
			b = strconv.AppendUint(b, uint64(s.Options.WScale), 10)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"sack_permitted":`...)
		b = strconv.AppendBool(b, s.Options.SACKPermitted)
		b = append(b, `,"timestamps":`...)
		b = strconv.AppendBool(b, s.Options.HasTimestamps)
		b = append(b, `,"ecn":`...)
		b = strconv.AppendBool(b, s.ECE)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"teardown":`...)
	if r.Teardown {
		b = append(b, `"rst"`...)
	} else {
		b = append(b, `""`...)
	}
	b = append(b, `,"ignored":`...)
	b = strconv.AppendInt(b, int64(r.Ignored), 10)
	if len(r.IgnoredUnlisted) > 0 {
		b = append(b, `,"ignored_unlisted":[`...)
		for i, c := range r.IgnoredUnlisted {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"why":`...)
			b = appendString(b, c.Why)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, int64(c.Count), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"started":`...)
	b = appendTime(b, r.Started)
	b = append(b, `,"finished":`...)
	b = appendTime(b, r.Finished)
	b = append(b, `,"duration_ms":`...)
	b = appendMs(b, r.Finished.Sub(r.Started))
	b = append(b, `,"expect":`...)
	b = appendString(b, r.Expect)
	b = append(b, `,"met":`...)
	b = strconv.AppendBool(b, Met(r))
	b = append(b, `,"tool_version":`...)
	b = appendString(b, Version)
	b = append(b, `,"mode":`...)
	mode := ModeRaw
	if e.Mode != "" {
		mode = e.Mode
	}
	b = appendString(b, mode)
	if e.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendInt(b, int64(e.Seq), 10)
	}
	b = appendLifecycle(b, r)
	b = appendDiagnosis(b, r.Diagnosis)
	return append(b, "}\n"...)
}

// appendEvent is event(e, start) as encoding/json writes it.
func appendEvent(b []byte, e *probe.Event, start time.Time) []byte {
	b = append(b, `{"at_ms":`...)
	b = appendMs(b, e.Time.Sub(start))
	if e.Dir == probe.Received {
		b = append(b, `,"dir":"received"`...)
	} else {
		b = append(b, `,"dir":"sent"`...)
	}
	b = append(b, `,"kind":`...)
	if e.ICMP {
		b = append(b, `"icmp"`...)
	} else {
		b = appendString(b, flagNames[e.Flags])
	}
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, uint64(e.Seq), 10)
	if !e.ICMP && e.Flags&wire.ACK != 0 {
		b = append(b, `,"ack":`...)
		b = strconv.AppendUint(b, uint64(e.Ack), 10)
	}
	if e.Dir == probe.Received {
		if e.From.IsValid() {
			b = append(b, `,"from":`...)
			b = appendAddr(b, e.From)
		}
		if e.TTL != 0 {
			b = append(b, `,"ttl":`...)
			b = strconv.AppendUint(b, uint64(e.TTL), 10)
		}
	}
	if e.ICMP {
		b = append(b, `,"icmp_type":`...)
		b = strconv.AppendUint(b, uint64(e.ICMPType), 10)
		b = append(b, `,"icmp_code":`...)
		b = strconv.AppendUint(b, uint64(e.ICMPCode), 10)
	}
	if e.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, e.Reason)
	}
	if e.ICMP || e.Effect == probe.EffectDecided {
		if n := probe.ErrnoName(e.Errno); n != "" {
			b = append(b, `,"errno":`...)
			b = appendString(b, n)
		}
	}
	b = append(b, `,"effect":`...)
	b = appendString(b, string(e.Effect))
	if e.Why != "" {
		b = append(b, `,"why":`...)
		b = appendString(b, e.Why)
	}
	return append(b, '}')
}

// flagNames holds wire.Flags.String of every flag byte, so events need no
// allocation for their kind.
var flagNames = func() (t [256]string) {
	for i := range t {
		t[i] = wire.Flags(i).String()
	}
	return t
}()

// appendString appends s as a JSON string the way encoding/json writes it
// (HTML characters escaped); strings of plain printable ASCII, the usual
// case, take the fast path.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendAddr appends a's text as a JSON string, "" for the zero Addr.
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, `""`...)
	}
	if a.Zone() != "" { // a zone is free text: escape it like any string
		return appendString(b, a.String())
	}
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

// appendTime appends t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds), falling back to it for what it treats specially: years
// outside 0–9999, zone offsets with seconds.
func appendTime(b []byte, t time.Time) []byte {
	if _, off := t.Zone(); off%60 != 0 || uint(t.Year()) > 9999 {
		q, err := t.MarshalJSON()
		if err != nil {
			return append(b, "null"...) // encoding/json would fail the whole line
		}
		return append(b, q...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendMs appends d in milliseconds with microsecond precision, exactly
// as encoding/json writes ms(d), without float formatting: a sweep
// writes six of these per result.
func appendMs(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us >= 1e12 || us <= -1e12 {
		// Past ~11 days a float64 of milliseconds no longer holds every
		// microsecond: format as encoding/json does (never 'e' below 1e21).
		return strconv.AppendFloat(b, ms(d), 'f', -1, 64)
	}
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return b
	}
	digits := [4]byte{'.', byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := len(digits)
	for digits[n-1] == '0' {
		n--
	}
	return append(b, digits[:n]...)
}
