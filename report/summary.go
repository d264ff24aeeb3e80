package report

import (
	"math"
	"sort"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Summary sums up the repetitions of one target (-c N), like tcping's
// closing lines.
type Summary struct {
	Target  string `json:"target"`
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	Sent    int    `json:"sent"`
	Open    int    `json:"open"`
	// LossPct is the share of probes that did not find the port open, in
	// percent.
	LossPct float64 `json:"loss_pct"`
	// Outcomes counts each outcome seen.
	Outcomes map[string]int `json:"outcomes"`
	// Met counts the probes that met their expectation.
	Met int `json:"met"`
	// RTT is over the open probes; nil when none was open.
	RTT *RTTStats `json:"rtt"`
}

// RTTStats are round-trip statistics in milliseconds.
type RTTStats struct {
	MinMs    float64 `json:"min_ms"`
	AvgMs    float64 `json:"avg_ms"`
	MaxMs    float64 `json:"max_ms"`
	StddevMs float64 `json:"stddev_ms"`
}

// Summarizer accumulates Summaries in the order targets first appear.
type Summarizer struct {
	order []string
	by    map[string]*acc
}

type acc struct {
	s    Summary
	rtts []time.Duration
}

// Add counts one result.
func (z *Summarizer) Add(r *probe.Result) {
	if z.by == nil {
		z.by = map[string]*acc{}
	}
	key := r.Target + "\x00" + addrString(r.Addr)
	a := z.by[key]
	if a == nil {
		a = &acc{s: Summary{Target: r.Target, Address: addrString(r.Addr), Port: r.Port, Outcomes: map[string]int{}}}
		z.by[key] = a
		z.order = append(z.order, key)
	}
	a.s.Sent++
	a.s.Outcomes[string(r.Outcome)]++
	if Met(r) {
		a.s.Met++
	}
	if r.Outcome == probe.Open {
		a.s.Open++
		a.rtts = append(a.rtts, r.RTT)
	}
}

// Summaries returns the statistics so far, one per target.
func (z *Summarizer) Summaries() []Summary {
	out := make([]Summary, 0, len(z.order))
	for _, k := range z.order {
		a := z.by[k]
		s := a.s
		if s.Sent > 0 {
			s.LossPct = math.Round(float64(s.Sent-s.Open)/float64(s.Sent)*1000) / 10
		}
		s.RTT = rttStats(a.rtts)
		out = append(out, s)
	}
	return out
}

// rttStats computes min/avg/max and the population standard deviation,
// as ping does.
func rttStats(d []time.Duration) *RTTStats {
	if len(d) == 0 {
		return nil
	}
	st := &RTTStats{MinMs: math.Inf(1), MaxMs: math.Inf(-1)}
	var sum, sq float64
	for _, x := range d {
		v := float64(x) / 1e6
		sum += v
		sq += v * v
		st.MinMs = math.Min(st.MinMs, v)
		st.MaxMs = math.Max(st.MaxMs, v)
	}
	n := float64(len(d))
	st.AvgMs = sum / n
	if v := sq/n - st.AvgMs*st.AvgMs; v > 0 {
		st.StddevMs = math.Sqrt(v)
	}
	round := func(f float64) float64 { return math.Round(f*1000) / 1000 }
	st.MinMs, st.AvgMs, st.MaxMs, st.StddevMs = round(st.MinMs), round(st.AvgMs), round(st.MaxMs), round(st.StddevMs)
	return st
}

func sortedKeys(m map[string]int) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
