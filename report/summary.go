package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"sort"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Summary sums up the repetitions of one target at one address (-c N),
// like ping's and tcping's closing lines. A name probed at several
// addresses (--all-addresses) has one Summary per address.
type Summary struct {
	// Type is "summary": in NDJSON it tells a summary from a result.
	Type    string `json:"type"`
	Target  string `json:"target"`
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	// Probes counts the results, Sent those that put a SYN on the wire
	// (not a local-error, not interrupted before their first SYN).
	Probes int `json:"probes"`
	Sent   int `json:"sent"`
	// Answered counts the probes a reply decided: a SYN-ACK, an RST or
	// an ICMP error (open, refused, unreachable).
	Answered int `json:"answered"`
	Open     int `json:"open"`
	// LossPct is the share of sent probes that no reply decided, in
	// percent: (Sent - Answered) / Sent.
	LossPct float64 `json:"loss_pct"`
	// Outcomes counts each outcome seen.
	Outcomes map[string]int `json:"outcomes"`
	// Met counts the probes that met their expectation.
	Met int `json:"met"`
	// RTT is over the open probes; nil when none was open.
	RTT *RTTStats `json:"rtt"`
	// RTTAnswered is over every answered probe with a round trip (open,
	// refused, and unreachable by an ICMP error that ended it at once);
	// nil when there was none.
	RTTAnswered *RTTStats `json:"rtt_answered"`
}

// RTTStats are round-trip statistics in milliseconds.
type RTTStats struct {
	MinMs    float64 `json:"min_ms"`
	AvgMs    float64 `json:"avg_ms"`
	MaxMs    float64 `json:"max_ms"`
	StddevMs float64 `json:"stddev_ms"`
}

// Summarizer accumulates Summaries, one per target and address, in the
// order their first results come.
type Summarizer struct {
	order []string
	by    map[string]*acc
}

type acc struct {
	s           Summary
	open, answd rtts
}

// rtts accumulates round trips without keeping them.
type rtts struct {
	n        int
	sum, sq  float64
	min, max float64
}

func (r *rtts) add(d time.Duration) {
	v := float64(d) / 1e6
	if r.n == 0 || v < r.min {
		r.min = v
	}
	if r.n == 0 || v > r.max {
		r.max = v
	}
	r.n++
	r.sum += v
	r.sq += v * v
}

// stats are min/avg/max and the population standard deviation, as ping
// computes them; nil without samples.
func (r *rtts) stats() *RTTStats {
	if r.n == 0 {
		return nil
	}
	n := float64(r.n)
	st := &RTTStats{MinMs: r.min, AvgMs: r.sum / n, MaxMs: r.max}
	if v := r.sq/n - st.AvgMs*st.AvgMs; v > 0 {
		st.StddevMs = math.Sqrt(v)
	}
	round := func(f float64) float64 { return math.Round(f*1000) / 1000 }
	st.MinMs, st.AvgMs, st.MaxMs, st.StddevMs = round(st.MinMs), round(st.AvgMs), round(st.MaxMs), round(st.StddevMs)
	return st
}

// Add counts one result.
func (z *Summarizer) Add(r *probe.Result) {
	if z.by == nil {
		z.by = map[string]*acc{}
	}
	key := r.Target + "\x00" + addrString(r.Addr)
	a := z.by[key]
	if a == nil {
		a = &acc{s: Summary{Type: "summary", Target: r.Target, Address: addrString(r.Addr), Port: r.Port, Outcomes: map[string]int{}}}
		z.by[key] = a
		z.order = append(z.order, key)
	}
	a.s.Probes++
	a.s.Outcomes[string(r.Outcome)]++
	if Met(r) {
		a.s.Met++
	}
	sent := r.Outcome != probe.LocalError && !(r.Outcome == probe.Interrupted && len(r.Attempts) == 0)
	if sent {
		a.s.Sent++
	}
	switch r.Outcome {
	case probe.Open:
		a.s.Open++
		a.open.add(r.RTT)
		fallthrough
	case probe.Refused, probe.Unreachable:
		a.s.Answered++
		if !r.Soft {
			a.answd.add(r.RTT)
		}
	}
}

// Summaries returns the statistics so far, one per target and address.
func (z *Summarizer) Summaries() []Summary {
	out := make([]Summary, 0, len(z.order))
	for _, k := range z.order {
		a := z.by[k]
		s := a.s
		if s.Sent > 0 {
			s.LossPct = math.Round(float64(s.Sent-s.Answered)/float64(s.Sent)*1000) / 10
		}
		s.RTT = a.open.stats()
		s.RTTAnswered = a.answd.stats()
		out = append(out, s)
	}
	return out
}

// writeSummaryText prints a ping-like block per target and address:
// probes sent, answered, loss, outcomes, round trips.
func writeSummaryText(w io.Writer, sums []Summary) error {
	b := bufio.NewWriter(w)
	for _, s := range sums {
		a, _ := netip.ParseAddr(s.Address)
		head := appendAddrNote([]byte(s.Target), s.Target, a)
		fmt.Fprintf(b, "--- %s ---\n", head)
		fmt.Fprintf(b, "%d probes sent, %d answered, %.1f%% loss", s.Sent, s.Answered, s.LossPct)
		if len(s.Outcomes) > 0 {
			b.WriteString(" (")
			for i, o := range sortedKeys(s.Outcomes) {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(b, "%s %d", o, s.Outcomes[o])
			}
			b.WriteString(")")
		}
		b.WriteByte('\n')
		if r := s.RTTAnswered; r != nil {
			fmt.Fprintf(b, "rtt min/avg/max/stddev = %.3f/%.3f/%.3f/%.3f ms\n", r.MinMs, r.AvgMs, r.MaxMs, r.StddevMs)
		}
		if r := s.RTT; r != nil && s.Open != s.Answered {
			fmt.Fprintf(b, "open rtt min/avg/max/stddev = %.3f/%.3f/%.3f/%.3f ms\n", r.MinMs, r.AvgMs, r.MaxMs, r.StddevMs)
		}
	}
	return b.Flush()
}

// appendSummaryNDJSON appends one JSON line per summary.
func appendSummaryNDJSON(b []byte, sums []Summary) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	for i := range sums {
		if err := enc.Encode(&sums[i]); err != nil {
			return b, err
		}
	}
	return buf.Bytes(), nil
}

// appendAddrNote appends " (ADDR)" when target does not already name a:
// a name, or an address written another way, is followed by the address
// it was probed at.
func appendAddrNote(b []byte, target string, a netip.Addr) []byte {
	if !a.IsValid() {
		return b
	}
	var buf [64]byte
	lit := a.AppendTo(buf[:0])
	t := target
	if len(t) > 0 && t[0] == '[' {
		t = t[1:]
	}
	if len(t) >= len(lit) && t[:len(lit)] == string(lit) && (len(t) == len(lit) || t[len(lit)] == ':' || t[len(lit)] == ']') {
		return b
	}
	b = append(b, " ("...)
	b = append(b, lit...)
	return append(b, ')')
}

func sortedKeys(m map[string]int) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
