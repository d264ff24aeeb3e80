package report

import (
	"net/netip"
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
