package e2e

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/report"
)

// forgedBasePort is the destination port of forgedCases[0]; case i is on
// forgedBasePort+i.
const forgedBasePort = 20000

// forgedBound is how long both the kernel's connect() and tcpprobe wait
// for an answer ("no answer" = timeout at this bound), and forgedSlack
// how far apart their times may be.
const (
	forgedBound = 2 * time.Second
	forgedSlack = 300 * time.Millisecond
)

// forgedTarget returns the address the forger answers for in a family: an
// address behind the router's blackhole route, so nothing but the forger
// ever answers a SYN to it.
func forgedTarget(v6 bool) netip.Addr {
	if v6 {
		return lab.RouterBlackholeV6
	}
	return lab.RouterBlackholeV4
}

// startForger opens a tap on the router's link to the client and starts a
// forger answering SYNs to the forged targets with answers; it is stopped
// (and its errors reported) when the test ends.
func startForger(t *testing.T, l *lab.Lab, answers map[uint16]spoof.Answer) *spoof.Forger {
	t.Helper()
	var tap *spoof.Tap
	if err := l.Do(l.Router, func() (err error) {
		tap, err = spoof.OpenTap(lab.RouterIfC)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f := spoof.StartForger(tap, []netip.Addr{forgedTarget(false), forgedTarget(true)}, answers)
	t.Cleanup(func() {
		if err := f.Stop(); err != nil {
			t.Errorf("forger: %v", err)
		}
		tap.Close()
	})
	return f
}

// forgedRow is one case's outcome in one family.
type forgedRow struct {
	c              *forgedCase
	dst            netip.AddrPort
	want           string // the table's kernel verdict
	kernel         string // the live kernel's verdict
	kernelTook     time.Duration
	probe          string // tcpprobe's verdict
	probeTook      time.Duration
	probeWhy       string // tcpprobe's reason
	kernelMismatch bool
	probeMismatch  bool
}

// TestForgedRepliesMatchKernel is issue 11's forged-reply suite: a forger
// in the router answers each SYN to a blackholed address by destination
// port with one crafted case (forgedCases), and for every case and both
// families the kernel's own nonblocking connect() and `tcpprobe --profile
// linux` run in the client namespace at the same time; they must give the
// same verdict (open / errno / no answer) within forgedSlack of each
// other. The kernel's verdict is also checked against the one recorded in
// the table, so a forgery that stopped doing what it was verified to do
// is caught too. Every mismatch is reported, then the whole table.
func TestForgedRepliesMatchKernel(t *testing.T) {
	l := labtest.New(t)
	answers := map[uint16]spoof.Answer{}
	for i := range forgedCases {
		c := &forgedCases[i]
		answers[forgedBasePort+uint16(i)] = func(s spoof.SYN, n int) []spoof.Send { return c.answer(kit{s: s, n: n}) }
	}
	startForger(t, l, answers)
	t.Cleanup(func() { checkLockDroppedICMP(t, l) })
	for _, fam := range []string{"ipv4", "ipv6"} {
		t.Run(fam, func(t *testing.T) {
			t.Parallel()
			rows := runForged(t, l, fam == "ipv6")
			var bad int
			for _, r := range rows {
				if r.kernelMismatch {
					t.Errorf("%s (%s): the kernel's connect() said %s after %v, the table says %s: the forgery no longer does what it was verified to do",
						r.c.name, r.c.what, r.kernel, r.kernelTook.Round(time.Millisecond), r.want)
				}
				if r.probeMismatch {
					bad++
					t.Errorf("%s (%s): tcpprobe %s after %v (%s), kernel connect() %s after %v",
						r.c.name, r.c.what, r.probe, r.probeTook.Round(time.Millisecond), r.probeWhy, r.kernel, r.kernelTook.Round(time.Millisecond))
				}
			}
			t.Logf("%d of %d cases differ from the kernel\n%s", bad, len(rows), forgedTable(rows))
		})
	}
}

// runForged runs every case of one family: all kernel connects and one
// tcpprobe run with every target, side by side.
func runForged(t *testing.T, l *lab.Lab, v6 bool) []*forgedRow {
	var rows []*forgedRow
	var targets []string
	for i := range forgedCases {
		c := &forgedCases[i]
		want := c.v4
		if v6 {
			want = c.v6
		}
		if want == "" {
			continue
		}
		r := &forgedRow{c: c, want: want, dst: netip.AddrPortFrom(forgedTarget(v6), forgedBasePort+uint16(i))}
		rows = append(rows, r)
		targets = append(targets, r.dst.String())
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var kerrs []error
	for _, r := range rows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			r.kernel, r.kernelTook, err = kernelVerdict(l, r.dst)
			if err != nil {
				mu.Lock()
				kerrs = append(kerrs, fmt.Errorf("%s: %w", r.c.name, err))
				mu.Unlock()
				r.kernel = "error"
			}
		}()
	}
	defer wg.Wait() // also when probeJSON fails the test: the lab outlives every connect
	args := append([]string{"--profile", "linux", "--timeout", forgedBound.String()}, targets...)
	res, run := probeJSON(t, l, forgedBound+30*time.Second, args...)
	wg.Wait()
	if len(kerrs) > 0 {
		t.Fatalf("kernel connect: %v", errors.Join(kerrs...))
	}
	for _, r := range rows {
		got := res[r.dst.String()]
		if got == nil {
			r.probe = "no result"
			r.probeWhy = strings.TrimSpace(run.stderr)
		} else {
			r.probe, r.probeTook, r.probeWhy = probeVerdict(got), time.Duration(got.DurationMs*float64(time.Millisecond)), got.Reason
		}
		r.kernelMismatch = r.kernel != r.want
		d := r.probeTook - r.kernelTook
		r.probeMismatch = r.probe != r.kernel || d > forgedSlack || d < -forgedSlack
	}
	return rows
}

// probeVerdict is a result as the kernel oracle says it: "open", the
// errno's name, or "timeout".
func probeVerdict(r *report.Result) string {
	switch r.Outcome {
	case "open":
		return vOpen
	case "timeout":
		return vTimeout
	}
	return r.Errno
}

// forgedTable prints the rows one per line.
func forgedTable(rows []*forgedRow) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "case\tport\tkernel\ttcpprobe\t\tforged")
	for _, r := range rows {
		mark := "ok"
		if r.probeMismatch {
			mark = "DIFFERS"
		}
		if r.kernelMismatch {
			mark += " (kernel: table says " + r.want + ")"
		}
		fmt.Fprintf(w, "%s\t%d\t%s %v\t%s %v\t%s\t%s\n", r.c.name, r.dst.Port(),
			r.kernel, r.kernelTook.Round(time.Millisecond), r.probe, r.probeTook.Round(time.Millisecond), mark, r.c.what)
	}
	w.Flush()
	return b.String()
}

// checkLockDroppedICMP fails the test when the client's kernel dropped an
// ICMP error because connect() still held the socket lock
// (TcpExtLockDroppedIcmps): the oracle then reports such an error late, at
// a retransmission, and its verdict on that case cannot be trusted.
func checkLockDroppedICMP(t *testing.T, l *lab.Lab) {
	t.Helper()
	out, err := l.Exec(l.Client, "nstat", "-asz", "TcpExtLockDroppedIcmps")
	if err != nil {
		t.Errorf("reading the client's TcpExtLockDroppedIcmps: %v", err)
		return
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "TcpExtLockDroppedIcmps" && f[1] != "0" {
			t.Errorf("the client's kernel dropped %s ICMP errors that came while connect() held its socket lock: its verdicts on ICMP cases may be late; raise forgeDelay", f[1])
		}
	}
}
