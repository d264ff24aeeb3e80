package e2e

import (
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
)

// TestLinuxProfileMatchesKernel is the differential test of design §2: in
// every scenario, `tcpprobe --profile linux` reports the errno the kernel's
// own connect() reports from the same namespace, at about the same time.
// Both run side by side, each from its own source port.
func TestLinuxProfileMatchesKernel(t *testing.T) {
	const limit = 4 * time.Second
	for _, fam := range []string{"ipv4", "ipv6"} {
		t.Run(fam, func(t *testing.T) {
			t.Parallel()
			l := labtest.New(t)
			for _, s := range scenarios(fam == "ipv6") {
				if err := l.FlushNeighbors(); err != nil {
					t.Fatal(err)
				}
				var release func()
				if s.gated {
					release = lab.RouteErrorGate()
				}
				var (
					wg      sync.WaitGroup
					kerrno  syscall.Errno
					kernel  time.Duration
					kerr    error
					res     *report.Result
					probeOK bool
				)
				wg.Add(2)
				go func() {
					defer wg.Done()
					kerrno, kernel, kerr = l.KernelConnect(l.Client, s.target, limit)
				}()
				go func() {
					defer wg.Done()
					got, _ := probeJSON(t, l, limit+10*time.Second, "--profile", "linux", "--timeout", limit.String(), s.target.String())
					res, probeOK = got[s.target.String()]
				}()
				wg.Wait()
				if release != nil {
					release()
				}
				if !probeOK {
					t.Errorf("%s: tcpprobe gave no result", s.name)
					continue
				}
				dur := time.Duration(res.DurationMs * float64(time.Millisecond))
				var want string
				switch {
				case errors.Is(kerr, lab.ErrGaveUp):
					want = "ETIMEDOUT" // still waiting at the limit: tcpprobe's cut schedule times out there
				case kerr != nil:
					t.Errorf("%s: kernel connect: %v", s.name, kerr)
					continue
				default:
					want = probe.ErrnoName(kerrno)
				}
				if res.Errno != want {
					t.Errorf("%s (%s): tcpprobe --profile linux says %q (%s, %s), the kernel's connect() %q",
						s.name, s.target, res.Errno, res.Outcome, res.Reason, want)
					continue
				}
				// Same time, within a tolerance: immediate errors immediate,
				// retransmission successes on the same SYN, neighbour
				// failures after the same wait.
				tol := max(300*time.Millisecond, kernel/10)
				if d := dur - kernel; d > tol || d < -tol {
					t.Errorf("%s (%s): tcpprobe decided after %v, the kernel after %v (tolerance %v)", s.name, s.target, dur, kernel, tol)
				}
				t.Logf("%-32s %-14s kernel %8v  tcpprobe %8v", s.name, want, kernel.Round(time.Millisecond), dur.Round(time.Millisecond))
			}
		})
	}
}
