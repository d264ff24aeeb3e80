package probe_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/probe/probetest"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

// sendLag is how long after a stamped write begins its frame leaves, and
// callLag how long after that the call returns (on veth the peers' whole
// stacks run inside it): the Prober decides to send before either. The
// first frame to a port takes firstLag to leave instead (a first send
// faulting its memory in, or one queued behind a batch's others).
const (
	sendLag  = 500 * time.Microsecond
	firstLag = 5 * time.Millisecond
	callLag  = 2 * time.Millisecond
)

// stampNet is the fake network with links that say when each frame left.
type stampNet struct{ *probetest.Network }

func (n stampNet) OpenLink(ifi *net.Interface, cfg rawsock.LinkConfig) (probe.Link, error) {
	l, err := n.Network.OpenLink(ifi, cfg)
	return &stampLink{Link: l, seen: map[uint16]bool{}}, err
}

type stampLink struct {
	probe.Link
	mu   sync.Mutex      // guards seen
	seen map[uint16]bool // destination ports sent to
}

func (l *stampLink) WriteIPStamped(pkt []byte, dst net.HardwareAddr) (time.Time, error) {
	lag := sendLag
	var ip wire.IPInfo
	var seg wire.Segment
	if b, err := wire.ParseIP(pkt, &ip); err == nil && wire.ParseTCP(b, &seg) == nil {
		l.mu.Lock()
		if !l.seen[seg.DstPort] {
			l.seen[seg.DstPort], lag = true, firstLag
		}
		l.mu.Unlock()
	}
	time.Sleep(lag)
	left := time.Now()
	err := l.WriteIP(pkt, dst) // the fake peer may answer at once
	time.Sleep(callLag)
	return left, err
}

func (l *stampLink) WriteIPBatchStamped(pkts [][]byte, dst []net.HardwareAddr, times []time.Time) (int, error) {
	for i := range pkts {
		t, err := l.WriteIPStamped(pkts[i], dst[i])
		if err != nil {
			return i, err
		}
		times[i] = t
	}
	return len(pkts), nil
}

// TestSentTimes: a Prober on links that stamp their frames puts those
// times in its results: the attempts, the SYN and RST events, the start,
// and the RTT of the answer, also when the answer is handled before the
// send call that carried the SYN has returned (PortOpen answers at once).
func TestSentTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := probetest.New()
		prof := short(t)
		pr, err := probe.New(probe.Config{Profile: prof, Network: stampNet{net}, Options: probe.DefaultOptions()})
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		// What a streaming writer sees: the result as it is handed on.
		got := map[string]*probe.Result{}
		targets := []probe.Target{target(probetest.Server4, probetest.PortOpen), target(probetest.Server4, probetest.PortDelayed),
			target(probetest.Server4, probetest.PortDropFirst), target(probetest.Server4, probetest.PortClosed)}
		if err := pr.Run(context.Background(), targets, func(r *probe.Result) {
			c := *r
			c.Attempts = slices.Clone(r.Attempts)
			c.Events = slices.Clone(r.Events)
			got[r.Target] = &c
		}); err != nil {
			t.Fatal(err)
		}
		sent := map[uint16][]probetest.Sent{} // by destination port, in order
		for _, s := range net.Sent() {
			sent[s.Seg.DstPort] = append(sent[s.Seg.DstPort], s)
		}
		for _, tc := range []struct {
			port    uint16
			outcome probe.Outcome
			rtt     time.Duration
			syns    int
			rsts    int
		}{
			{probetest.PortOpen, probe.Open, 0, 1, 1},
			{probetest.PortDelayed, probe.Open, 50 * time.Millisecond, 1, 1},
			{probetest.PortDropFirst, probe.Open, 0, 2, 1},
			// Decided by the peer's RST while the SYN's send call still
			// runs: the result waits for the SYN's time.
			{probetest.PortClosed, probe.Refused, 0, 1, 0},
		} {
			r := got[netip.AddrPortFrom(probetest.Server4, tc.port).String()]
			if r == nil || r.Outcome != tc.outcome {
				t.Fatalf("port %d: %+v, want %s", tc.port, r, tc.outcome)
			}
			wire4 := sent[tc.port]
			var syns, rsts []time.Time
			for _, s := range wire4 {
				if s.Seg.Flags == wire.SYN {
					syns = append(syns, s.Time)
				} else {
					rsts = append(rsts, s.Time)
				}
			}
			if len(syns) != tc.syns || len(r.Attempts) != tc.syns || len(rsts) != tc.rsts {
				t.Fatalf("port %d: %d SYNs and %d RSTs left, %d attempts; want %d, %d, %d", tc.port, len(syns), len(rsts), len(r.Attempts), tc.syns, tc.rsts, tc.syns)
			}
			for i := range syns {
				if !r.Attempts[i].Equal(syns[i]) {
					t.Errorf("port %d: attempt %d at %v, its SYN left at %v", tc.port, i+1, r.Attempts[i], syns[i])
				}
			}
			// A first SYN takes firstLag to leave, its retransmission
			// sendLag: the schedule must run from the first SYN's
			// departure, not from the decision to send it, or the second
			// SYN would leave early.
			for k := 1; k < len(syns); k++ {
				if gap := syns[k].Sub(syns[0]); gap < prof.Schedule.SYNs[k] {
					t.Errorf("port %d: SYN %d left %v after the first, want at least the schedule's %v", tc.port, k+1, gap, prof.Schedule.SYNs[k])
				}
			}
			if !r.Started.Equal(syns[0]) {
				t.Errorf("port %d: started %v, the first SYN left at %v", tc.port, r.Started, syns[0])
			}
			// The fake link stamps a reply when it is read, which may be
			// after the peer sent it: the RTT runs from the answered
			// SYN's departure to that time, at least the peer's delay.
			if want := r.Finished.Sub(syns[len(syns)-1]); r.RTT != want || r.RTT < tc.rtt {
				t.Errorf("port %d: RTT %v, want %v (the answer at %v less the answered SYN's departure %v), at least %v",
					tc.port, r.RTT, want, r.Finished, syns[len(syns)-1], tc.rtt)
			}
			n := 0
			for _, ev := range r.Events {
				if ev.Dir != probe.Sent {
					continue
				}
				var want time.Time
				switch {
				case ev.Flags == wire.SYN && n < len(syns):
					want = syns[n]
					n++
				case ev.Flags == wire.RST && len(rsts) > 0:
					want = rsts[0]
				}
				if !ev.Time.Equal(want) {
					t.Errorf("port %d: sent %v event at %v, its frame left at %v", tc.port, ev.Flags, ev.Time, want)
				}
			}
		}
	})
}

// TestMachineSentAt: the corrections a Machine takes and those it refuses.
func TestMachineSentAt(t *testing.T) {
	t0 := time.Unix(1000, 0)
	local := netip.MustParseAddrPort("198.18.1.2:40000")
	remote := netip.MustParseAddrPort("198.18.2.2:80")
	synack := func(m *probe.Machine) probe.TCPInfo {
		return probe.TCPInfo{Seg: &wire.Segment{Flags: wire.SYN | wire.ACK, Ack: m.ISS() + 1}, From: remote.Addr(), ChecksumOK: true}
	}
	tests := []struct {
		name    string
		at      time.Duration // the correction, after t0
		attempt int
		started time.Duration
		rtt     time.Duration
	}{
		{"the SYN left later", 300 * time.Microsecond, 1, 300 * time.Microsecond, 700 * time.Microsecond},
		{"after its answer: not its time", 2 * time.Millisecond, 1, 0, time.Millisecond},
		{"no such attempt", 300 * time.Microsecond, 2, 0, time.Millisecond},
		{"attempt 0 (they count from 1)", 300 * time.Microsecond, 0, 0, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := probe.NewMachine(probe.Classic(), local, remote, 7)
			m.Start(t0)
			m.HandleTCP(synack(m), t0.Add(time.Millisecond)) // answered before the time came
			m.SentAt(tt.attempt, t0.Add(tt.at))
			r := m.Result()
			if got := r.Started.Sub(t0); got != tt.started || r.Attempts[0].Sub(t0) != tt.started || r.Events[0].Time.Sub(t0) != tt.started {
				t.Errorf("started %v, attempt %v, SYN event %v; want all %v", got, r.Attempts[0].Sub(t0), r.Events[0].Time.Sub(t0), tt.started)
			}
			if r.RTT != tt.rtt {
				t.Errorf("RTT %v, want %v", r.RTT, tt.rtt)
			}
		})
	}
}

// TestSentAtAnchorsSchedule: the schedule runs from the first SYN's
// departure, as the kernel's retransmission timer runs from the SYN's
// transmit; a later SYN's correction moves only that SYN; a time the wall
// clock's step made unbelievable moves nothing.
func TestSentAtAnchorsSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	local := netip.MustParseAddrPort("198.18.1.2:40000")
	remote := netip.MustParseAddrPort("198.18.2.2:80")
	const lag = 3 * time.Millisecond
	tests := []struct {
		name     string
		attempt  int           // the SYN corrected, after it is sent
		lag      time.Duration // how long after its decision it is said to have left
		resend   time.Duration // when the second SYN is due, after t0
		giveUp   time.Duration // when the probe gives up, after t0
		attempts []time.Duration
	}{
		{"first SYN left late", 1, lag, 6*time.Second + lag, 75*time.Second + lag, []time.Duration{lag, 6*time.Second + lag, 30*time.Second + lag}},
		{"second SYN left late", 2, lag, 6 * time.Second, 75 * time.Second, []time.Duration{0, 6*time.Second + lag, 30 * time.Second}},
		{"stamped before its decision", 1, -lag, 6 * time.Second, 75 * time.Second, []time.Duration{0, 6 * time.Second, 30 * time.Second}},
		{"stamped a second after", 1, time.Second, 6 * time.Second, 75 * time.Second, []time.Duration{0, 6 * time.Second, 30 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := probe.NewMachine(probe.Classic(), local, remote, 7)
			m.Start(t0)
			if tt.attempt == 1 {
				m.SentAt(1, t0.Add(tt.lag))
			}
			if got := m.Deadline().Sub(t0); got != tt.resend {
				t.Fatalf("second SYN due %v after the start, want %v", got, tt.resend)
			}
			if out := m.Tick(t0.Add(tt.resend - time.Nanosecond)); out.SendSYN {
				t.Fatalf("SYN sent %v after the start, before it was due", tt.resend-time.Nanosecond)
			}
			if out := m.Tick(t0.Add(tt.resend)); !out.SendSYN {
				t.Fatalf("no SYN at %v", tt.resend)
			}
			if tt.attempt == 2 {
				m.SentAt(2, t0.Add(tt.resend+tt.lag))
			}
			m.Tick(m.Deadline()) // the third SYN
			if got := m.Deadline().Sub(t0); got != tt.giveUp {
				t.Fatalf("gives up %v after the start, want %v", got, tt.giveUp)
			}
			if out := m.Tick(m.Deadline()); !out.Done {
				t.Fatal("not done at the give-up time")
			}
			r := m.Result()
			var got []time.Duration
			for _, a := range r.Attempts {
				got = append(got, a.Sub(t0))
			}
			if !slices.Equal(got, tt.attempts) || r.Started.Sub(t0) != tt.attempts[0] {
				t.Errorf("started %v, attempts %v; want %v", r.Started.Sub(t0), got, tt.attempts)
			}
		})
	}
}

// TestSentAtKeepsClockReading: a kernel stamp carries the wall clock
// only; the schedule it moves keeps the driver's monotonic reading, which
// the Prober's timer heap and Tick's now run on. (A deadline on the wall
// clock alone made the heap call a probe due that Tick found not due, a
// few nanoseconds apart, and the timer loop spun holding the lock.)
func TestSentAtKeepsClockReading(t *testing.T) {
	local := netip.MustParseAddrPort("198.18.1.2:40000")
	remote := netip.MustParseAddrPort("198.18.2.2:80")
	start := time.Now() // as SystemClock gives it: with a monotonic reading
	m := probe.NewMachine(probe.Classic(), local, remote, 7)
	m.Start(start)
	m.SentAt(1, start.Add(time.Millisecond).Round(0)) // Round(0): the wall clock only
	dl := m.Deadline()
	if !strings.Contains(dl.String(), " m=") {
		t.Errorf("deadline %v has no monotonic reading", dl)
	}
	if got, want := dl.Sub(start), 6*time.Second+time.Millisecond; got != want {
		t.Errorf("second SYN due %v after the start, want %v", got, want)
	}
	if out := m.Tick(dl); !out.SendSYN {
		t.Errorf("no SYN at its deadline %v", dl)
	}
}
