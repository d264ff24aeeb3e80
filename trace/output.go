package trace

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Schema is the JSON document's schema name, shared with probe results.
const Schema = "tcpprobe/v1"

// JSON is a trace as --json prints it (docs/schema/result-v1.json, $defs
// trace).
type JSON struct {
	Schema     string     `json:"schema"`
	Type       string     `json:"type"` // "trace"
	Target     string     `json:"target"`
	Address    string     `json:"address"`
	Port       uint16     `json:"port"`
	Source     string     `json:"source"`
	SourcePort uint16     `json:"source_port"`
	Interface  string     `json:"interface"`
	ISS        uint32     `json:"iss"`
	Paris      bool       `json:"paris"` // every query used one flow
	Hops       []HopJSON  `json:"hops"`
	Verdict    VerdictJSN `json:"verdict"`
	// LastRespondingHop is the highest hop that answered (0: none).
	LastRespondingHop int     `json:"last_responding_hop"`
	DiesAfter         *string `json:"dies_after"`
	// DestinationHops is the destination's distance from the distance
	// probe; 0 when it did not answer or was not asked.
	DestinationHops int           `json:"destination_hops"`
	Ignored         []IgnoredJSON `json:"ignored"`
	Started         time.Time     `json:"started"`
	DurationMs      float64       `json:"duration_ms"`
	ToolVersion     string        `json:"tool_version,omitempty"`
}

// HopJSON is one hop.
type HopJSON struct {
	TTL     int         `json:"ttl"`
	Queries []QueryJSON `json:"queries"`
}

// QueryJSON is one query.
type QueryJSON struct {
	From           *string  `json:"from"`
	RTTMs          *float64 `json:"rtt_ms"`
	Kind           string   `json:"kind"`
	ICMPType       *uint8   `json:"icmp_type"`
	ICMPCode       *uint8   `json:"icmp_code"`
	Errno          string   `json:"errno,omitempty"`
	Reason         string   `json:"reason,omitempty"`
	MPLS           []Label  `json:"mpls"`
	QuoteRewritten bool     `json:"quote_rewritten"`
	Rewritten      []string `json:"rewritten_fields,omitempty"`
}

// VerdictJSN is the verdict.
type VerdictJSN struct {
	Outcome   string `json:"outcome"`
	Errno     string `json:"errno"`
	Hop       int    `json:"hop"`
	Responder string `json:"responder"`
	Reason    string `json:"reason"`
	Summary   string `json:"summary"`
}

// IgnoredJSON is one ignored answer.
type IgnoredJSON struct {
	From string `json:"from"`
	Why  string `json:"why"`
}

func addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.WithZone("").String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ToJSON converts r; version is the tool's version.
func ToJSON(r *Result, version string) *JSON {
	out := &JSON{Schema: Schema, Type: "trace", Target: r.Target, Address: addr(r.Dst), Port: r.Port,
		Source: addr(r.Src), SourcePort: r.SrcPort, Interface: r.Interface, ISS: r.ISS, Paris: true,
		Hops: []HopJSON{}, LastRespondingHop: r.LastResponding, DestinationHops: r.DestinationHops,
		Ignored: []IgnoredJSON{}, Started: r.Started, DurationMs: ms(r.Finished.Sub(r.Started)),
		ToolVersion: version}
	out.Verdict = VerdictJSN{Outcome: r.Verdict.Outcome, Errno: probe.ErrnoName(r.Verdict.Errno),
		Hop: r.Verdict.Hop, Responder: addr(r.Verdict.Responder), Reason: r.Verdict.Reason, Summary: r.Verdict.Line}
	if r.DiesAfter.IsValid() {
		s := addr(r.DiesAfter)
		out.DiesAfter = &s
	}
	for _, h := range r.Hops {
		hj := HopJSON{TTL: h.TTL, Queries: []QueryJSON{}}
		for _, q := range h.Queries {
			qj := QueryJSON{Kind: q.Kind, MPLS: q.MPLS, QuoteRewritten: q.QuoteRewritten, Rewritten: q.Rewritten}
			if qj.MPLS == nil {
				qj.MPLS = []Label{}
			}
			if q.Kind != KindNone {
				s, rtt := addr(q.From), ms(q.RTT)
				qj.From, qj.RTTMs = &s, &rtt
				if q.Errno != 0 {
					qj.Errno = probe.ErrnoName(q.Errno)
				}
				qj.Reason = q.Reason
			}
			if q.Kind == KindTimeExceeded || q.Kind == KindUnreachable {
				t, c := q.ICMPType, q.ICMPCode
				qj.ICMPType, qj.ICMPCode = &t, &c
			}
			hj.Queries = append(hj.Queries, qj)
		}
		out.Hops = append(out.Hops, hj)
	}
	for _, ig := range r.Ignored {
		out.Ignored = append(out.Ignored, IgnoredJSON{From: addr(ig.From), Why: ig.Why})
	}
	return out
}

// WriteJSON writes r as one indented JSON document.
func WriteJSON(w io.Writer, r *Result, version string) error {
	b, err := json.MarshalIndent(ToJSON(r, version), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteText writes r like traceroute: a header saying the flow is held
// constant, one line per hop, then the verdict.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	dst := netip.AddrPortFrom(r.Dst, r.Port)
	if r.Src.IsValid() {
		fmt.Fprintf(&b, "trace to %s (%s), TCP SYN from %s, one flow for every query (Paris: ECMP routers keep it on one path)\n",
			r.Target, dst, netip.AddrPortFrom(r.Src, r.SrcPort))
	} else {
		fmt.Fprintf(&b, "trace to %s (%s)\n", r.Target, dst)
	}
	for _, h := range r.Hops {
		fmt.Fprintf(&b, "%3d ", h.TTL)
		var last netip.Addr
		for _, q := range h.Queries {
			if q.Kind == KindNone {
				b.WriteString(" *")
				continue
			}
			if q.From != last {
				fmt.Fprintf(&b, " %s", addr(q.From))
				last = q.From
			}
			fmt.Fprintf(&b, "  %.3f ms", ms(q.RTT))
			switch q.Kind {
			case KindUnreachable:
				fmt.Fprintf(&b, " !%s", shortReason(q.Reason))
			case KindSYNACK:
				b.WriteString(" [open]")
			case KindRST:
				b.WriteString(" [closed]")
			}
			for _, l := range q.MPLS {
				fmt.Fprintf(&b, " <MPLS:L=%d,E=%d,S=%t,T=%d>", l.Label, l.TC, l.S, l.TTL)
			}
			if q.QuoteRewritten {
				fmt.Fprintf(&b, " [quote rewritten: %s]", strings.Join(q.Rewritten, ","))
			}
		}
		b.WriteByte('\n')
	}
	for _, ig := range r.Ignored {
		fmt.Fprintf(&b, "ignored: %s from %s\n", ig.Why, addr(ig.From))
	}
	fmt.Fprintf(&b, "verdict: %s\n", r.Verdict.Line)
	_, err := io.WriteString(w, b.String())
	return err
}
