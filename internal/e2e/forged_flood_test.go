package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/report"
)

// Issue 11's flood: how many forged ICMP errors, and what tcpprobe may
// spend on them.
const (
	floodCount   = 200_000
	floodPort    = 30000
	floodMaxRSS  = 64 << 20 // bytes
	floodMaxJSON = 1 << 20  // bytes
	floodBound   = 15 * time.Second
)

// TestForgedICMPFlood sends 200,000 forged ICMP host unreachables quoting
// the probe's 4-tuple with a wrong sequence number (ISS+7) while the probe
// waits, then a good SYN-ACK (and one to every retransmitted SYN after the
// flood). The probe must end open; tcpprobe's maximum RSS must stay within
// 64 MB and its JSON within 1 MB (a fixed number of ignored events kept,
// the rest counted); its timeline must be in time order and its RTT not
// negative (issue 11, "Bounded memory under any flood").
func TestForgedICMPFlood(t *testing.T) {
	l := labtest.New(t)
	var flooded atomic.Bool
	startForger(t, l, map[uint16]spoof.Answer{floodPort: func(s spoof.SYN, n int) []spoof.Send {
		k := kit{s: s, n: n}
		if n > 1 {
			if flooded.Load() {
				return one(k.synAck())
			}
			return nil
		}
		flood := one(k.icmp(hostUnreach, k.quoteSeq(k.iss()+7)))
		flood[0].Repeat = floodCount
		// The SYN-ACK leaves once the flood is out (one answer's frames
		// leave in order); from then on retransmitted SYNs are answered too.
		return append(flood, spoof.Send{After: forgeDelay, Packet: k.synAck().Bytes(), Then: func() { flooded.Store(true) }})
	}})
	dst := netip.AddrPortFrom(forgedTarget(false), floodPort)

	ctx, cancel := context.WithTimeout(context.Background(), floodBound+30*time.Second)
	defer cancel()
	cmd := l.Command(ctx, l.Client, bin, "--json", "--profile", "linux", "--timeout", floodBound.String(), dst.String())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		t.Fatalf("tcpprobe: %v\nstderr: %s", err, errb.String())
	}
	took := time.Since(start)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss << 10 // KiB on Linux
	}
	t.Logf("tcpprobe ran %v, exit %d, max RSS %.1f MB, JSON %d bytes", took.Round(time.Millisecond), cmd.ProcessState.ExitCode(), float64(rss)/(1<<20), out.Len())

	if !flooded.Load() {
		t.Errorf("the forger never finished its flood of %d ICMP errors", floodCount)
	}
	if rss == 0 {
		t.Errorf("no rusage for tcpprobe: cannot check its memory")
	} else if rss > floodMaxRSS {
		t.Errorf("tcpprobe's max RSS is %.1f MB under a flood of %d forged ICMP errors, want ≤ %d MB", float64(rss)/(1<<20), floodCount, floodMaxRSS>>20)
	}
	if out.Len() > floodMaxJSON {
		t.Errorf("tcpprobe's JSON is %d bytes under a flood of %d forged ICMP errors, want ≤ %d", out.Len(), floodCount, floodMaxJSON)
	}
	var doc report.Document
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc.Results) != 1 {
		t.Fatalf("tcpprobe's output is not one JSON result (%v)\nstderr: %s", err, errb.String())
	}
	r := doc.Results[0]
	if r.Outcome != "open" || r.Reason != "syn-ack" {
		t.Errorf("verdict %s (%s, %s), want open (syn-ack): a forged ICMP error with a wrong quoted sequence number decided", r.Outcome, r.Errno, r.Reason)
	}
	if r.RTTMs != nil && *r.RTTMs < 0 {
		t.Errorf("rtt_ms %v is negative", *r.RTTMs)
	}
	for i := 1; i < len(r.Events); i++ {
		if r.Events[i].AtMs < r.Events[i-1].AtMs {
			t.Errorf("timeline out of time order: event %d at %v ms after event %d at %v ms", i, r.Events[i].AtMs, i-1, r.Events[i-1].AtMs)
			break
		}
	}
}
