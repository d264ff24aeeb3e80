package report

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

// Schema names the version of the JSON result format. Fields may be added
// within a version; none is renamed or removed.
const Schema = "tcpprobe/v1"

// Version is the tool's version, set by the command at start-up.
var Version = "dev"

// Document is what --json prints: every result of the run.
type Document struct {
	Schema  string    `json:"schema"`
	Version string    `json:"tool_version"`
	Results []*Result `json:"results"`
	// Summaries holds one entry per target when the run repeated its probes
	// (-c N), and is absent otherwise.
	Summaries []Summary `json:"summaries,omitempty"`
	// Stats counts what the run saw that no result holds; absent in
	// --mode connect.
	Stats *Stats `json:"stats,omitempty"`
}

// Stats are the run's counters of packets no probe could use and of
// replies the kernel could not hand over.
type Stats struct {
	Unmatched     uint64 `json:"unmatched"`      // well-formed packets for no probe of the run
	Malformed     uint64 `json:"malformed"`      // packets that did not parse
	Dropped       uint64 `json:"dropped"`        // received packets the kernel dropped (socket buffer full)
	Reprobed      uint64 `json:"reprobed"`       // probes run again because replies were dropped
	Unsure        uint64 `json:"unsure"`         // results that gave up while replies were being dropped
	ReceiveErrors uint64 `json:"receive_errors"` // reads a link failed (interface down)
	// ICMP rate limits: timeouts probed again slowly because ICMP errors
	// came back through their next hop for other probes meanwhile, and
	// timeouts that may still be such an error (marked in their events).
	RateLimitReprobed uint64 `json:"icmp_rate_limit_reprobed"`
	RateLimitUnsure   uint64 `json:"icmp_rate_limit_unsure"`
	// ReceivePath counts by reason the frames the kernel's receive path
	// would have dropped before TCP (package rx's words).
	ReceivePath map[string]uint64 `json:"receive_path,omitempty"`
}

// StatsFrom converts the Prober's counters.
func StatsFrom(s probe.Stats) Stats {
	return Stats{Unmatched: s.Unmatched, Malformed: s.Malformed, Dropped: s.Dropped,
		Reprobed: s.Reprobed, Unsure: s.Unsure, ReceiveErrors: s.ReceiveErrors,
		RateLimitReprobed: s.RateLimitReprobed, RateLimitUnsure: s.RateLimitUnsure, ReceivePath: s.ReceivePath}
}

// Result is one probe in JSON. Durations are milliseconds as numbers.
type Result struct {
	Schema      string   `json:"schema"`
	Target      string   `json:"target"`
	Address     string   `json:"address"`
	Port        uint16   `json:"port"`
	Family      string   `json:"family"`
	Interface   string   `json:"interface"`
	Source      string   `json:"source"`
	SourcePort  uint16   `json:"source_port"`
	Profile     string   `json:"profile"`
	Schedule    Schedule `json:"schedule"`
	ICMPPolicy  string   `json:"icmp_policy"`
	Outcome     string   `json:"outcome"`
	Errno       string   `json:"errno"`
	ErrnoNumber int      `json:"errno_number"`
	Reason      string   `json:"reason"`
	Soft        bool     `json:"soft"`
	Responder   string   `json:"responder"`
	RTTMs       *float64 `json:"rtt_ms"`
	// ConnectMs is first SYN → deciding packet, what connect() would have
	// taken; AnsweredAttempt the SYN the deciding packet answered (1-based,
	// 0 without one), AnsweredBy how that was told ("tsecr", "last-syn").
	ConnectMs       *float64  `json:"connect_ms"`
	AnsweredAttempt int       `json:"answered_attempt"`
	AnsweredBy      string    `json:"answered_by"`
	ISS             uint32    `json:"iss"`
	Attempts        []Attempt `json:"attempts"`
	Events          []Event   `json:"events"`
	SYNACK          *SYNACK   `json:"syn_ack"`
	Teardown        string    `json:"teardown"`
	Ignored         int       `json:"ignored"`
	// IgnoredUnlisted counts, by why, ignored events past the 64 listed.
	IgnoredUnlisted []IgnoredCount `json:"ignored_unlisted,omitempty"`
	Started         time.Time      `json:"started"`
	Finished        time.Time      `json:"finished"`
	DurationMs      float64        `json:"duration_ms"`
	Expect          string         `json:"expect"`
	Met             bool           `json:"met"`
	ToolVersion     string         `json:"tool_version"`
	// Mode is how the result was obtained: "raw" (own SYNs) or "connect"
	// (the kernel's connect(2): no events, attempts or SYN-ACK details).
	Mode string `json:"mode"`
	// Seq is the repetition this result belongs to with -c N (from 1);
	// absent when each target is probed once.
	Seq int `json:"seq,omitempty"`

	// Lifecycle: what --handshake full / --scan ack add (lifecycle.go).
	*Lifecycle
	// Diagnosis says where and why (--diagnose); absent otherwise.
	Diagnosis *Diagnosis `json:"diagnosis,omitempty"`
}

// IgnoredCount is how many ignored events of one kind were not listed.
type IgnoredCount struct {
	Why   string `json:"why"`
	Count int    `json:"count"`
}

// Schedule is the SYN schedule a probe followed.
type Schedule struct {
	SYNOffsetsMs []float64 `json:"syn_offsets_ms"`
	GiveUpMs     float64   `json:"give_up_ms"`
}

// Attempt is one SYN sent.
type Attempt struct {
	AtMs float64   `json:"at_ms"`
	Time time.Time `json:"time"`
}

// Event is one packet sent or seen.
type Event struct {
	AtMs     float64 `json:"at_ms"`
	Dir      string  `json:"dir"`            // "sent" or "received"
	Kind     string  `json:"kind"`           // TCP flags ("SYN", "SYN|ACK", "RST") or "icmp"
	Seq      *uint32 `json:"seq,omitempty"`  // TCP sequence number (for ICMP: the quoted one)
	Ack      *uint32 `json:"ack,omitempty"`  // TCP acknowledgment number, when ACK is set
	From     string  `json:"from,omitempty"` // sender of a received packet
	TTL      uint8   `json:"ttl,omitempty"`
	ICMPType *uint8  `json:"icmp_type,omitempty"`
	ICMPCode *uint8  `json:"icmp_code,omitempty"`
	Reason   string  `json:"reason,omitempty"`
	Errno    string  `json:"errno,omitempty"`
	Effect   string  `json:"effect"`
	Why      string  `json:"why,omitempty"`
}

// SYNACK is what the target's SYN-ACK showed.
type SYNACK struct {
	TTL           uint8   `json:"ttl"`
	Window        uint16  `json:"window"`
	MSS           *uint16 `json:"mss"`
	WScale        *uint8  `json:"wscale"`
	SACKPermitted bool    `json:"sack_permitted"`
	Timestamps    bool    `json:"timestamps"`
	ECN           bool    `json:"ecn"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// FromEntry converts an entry to its JSON form.
func FromEntry(e Entry) *Result {
	out := FromProbe(e.Result)
	out.Seq = e.Seq
	if e.Mode != "" {
		out.Mode = e.Mode
	}
	return out
}

// FromProbe converts a probe result to its JSON form (mode raw, no Seq).
func FromProbe(r *probe.Result) *Result {
	out := &Result{
		Schema:      Schema,
		Target:      r.Target,
		Address:     addrString(r.Addr),
		Port:        r.Port,
		Family:      "ipv4",
		Interface:   r.Interface,
		Source:      addrString(r.Src),
		SourcePort:  r.SrcPort,
		Profile:     r.Profile,
		ICMPPolicy:  r.ICMP.String(),
		Outcome:     string(r.Outcome),
		Errno:       probe.ErrnoName(r.Errno),
		ErrnoNumber: int(r.Errno),
		Reason:      r.Reason,
		Soft:        r.Soft,
		Responder:   addrString(r.Responder),
		ISS:         r.ISS,
		Attempts:    []Attempt{},
		Events:      []Event{},
		Ignored:     r.Ignored,
		Started:     r.Started,
		Finished:    r.Finished,
		DurationMs:  ms(r.Finished.Sub(r.Started)),
		Expect:      r.Expect,
		Met:         Met(r),
		ToolVersion: Version,
		Mode:        ModeRaw,
	}
	if r.Addr.Is6() && !r.Addr.Is4In6() {
		out.Family = "ipv6"
	}
	out.Schedule.SYNOffsetsMs = []float64{}
	for _, d := range r.Schedule.SYNs {
		out.Schedule.SYNOffsetsMs = append(out.Schedule.SYNOffsetsMs, ms(d))
	}
	out.Schedule.GiveUpMs = ms(r.Schedule.GiveUp)
	if r.Outcome == probe.Open || r.Outcome == probe.Refused || (r.Outcome == probe.Unreachable && !r.Soft) {
		v := ms(r.RTT)
		out.RTTMs = &v
	}
	if r.AnsweredAttempt > 0 {
		v := ms(r.Connect)
		out.ConnectMs = &v
		out.AnsweredAttempt, out.AnsweredBy = r.AnsweredAttempt, r.AnsweredBy
	}
	for _, c := range r.IgnoredUnlisted {
		out.IgnoredUnlisted = append(out.IgnoredUnlisted, IgnoredCount{Why: c.Why, Count: c.Count})
	}
	for _, a := range r.Attempts {
		out.Attempts = append(out.Attempts, Attempt{AtMs: ms(a.Sub(r.Started)), Time: a})
	}
	for i := range r.Events {
		out.Events = append(out.Events, event(&r.Events[i], r.Started))
	}
	if s := r.SYNACK; s != nil {
		sa := &SYNACK{TTL: s.TTL, Window: s.Window, SACKPermitted: s.Options.SACKPermitted, Timestamps: s.Options.HasTimestamps, ECN: s.ECE}
		if s.Options.HasMSS {
			v := s.Options.MSS
			sa.MSS = &v
		}
		if s.Options.HasWScale {
			v := s.Options.WScale
			sa.WScale = &v
		}
		out.SYNACK = sa
	}
	if r.Teardown {
		out.Teardown = "rst"
	}
	out.Lifecycle = lifecycleOf(r)
	out.Diagnosis = diagnosisJSON(r.Diagnosis)
	return out
}

func event(e *probe.Event, start time.Time) Event {
	out := Event{AtMs: ms(e.Time.Sub(start)), Dir: "sent", Effect: string(e.Effect), Why: e.Why, Reason: e.Reason}
	if e.Dir == probe.Received {
		out.Dir = "received"
		out.From = addrString(e.From)
		out.TTL = e.TTL
	}
	seq := e.Seq
	out.Seq = &seq
	if e.ICMP {
		out.Kind = "icmp"
		t, c := e.ICMPType, e.ICMPCode
		out.ICMPType, out.ICMPCode = &t, &c
		out.Errno = probe.ErrnoName(e.Errno)
		return out
	}
	out.Kind = e.Flags.String()
	if e.Flags&wire.ACK != 0 {
		ack := e.Ack
		out.Ack = &ack
	}
	if e.Effect == probe.EffectDecided {
		out.Errno = probe.ErrnoName(e.Errno)
	}
	return out
}

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
