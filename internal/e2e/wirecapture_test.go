package e2e

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/wirecap"
)

// A nanosecond tcpdump capture of the client's interface, the reference
// clock of the clock tests (package wirecap says why it is not in
// immediate mode).

// nanoCapture is tcpdump writing a nanosecond pcap of the client's
// interface.
type nanoCapture struct{ c *wirecap.Capture }

// captureWire starts tcpdump on the client's interface with filter and
// returns once it captures.
func captureWire(t *testing.T, l *lab.Lab, filter string) *nanoCapture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	c, err := wirecap.Start(ctx, l.Client, lab.ClientIf, filter, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &nanoCapture{c}
}

// frames stops the capture once until holds of its TCP segments (or
// after wirecap.MaxDelay) and returns them.
func (c *nanoCapture) frames(t *testing.T, until func([]wireFrame) bool) []wireFrame {
	t.Helper()
	fs, err := c.c.Stop(func(fs []wirecap.Frame) bool { return until(segments(fs)) }, wirecap.MaxDelay)
	if err != nil {
		t.Fatal(err)
	}
	return segments(fs)
}

// wireFrame is one captured TCP segment over IPv4 or IPv6.
type wireFrame struct {
	at time.Time
	wirecap.Segment
}

// segments returns the TCP segments of fs.
func segments(fs []wirecap.Frame) []wireFrame {
	var out []wireFrame
	for _, f := range fs {
		if s, ok := wirecap.TCP(f.Data); ok {
			out = append(out, wireFrame{f.Time, s})
		}
	}
	return out
}

// clockRunCaptured runs tcpprobe --ndjson with args for rounds rounds,
// every apart (-c, --interval), and starts the capture on the client's
// interface once tcpprobe's first result is out: by then tcpprobe's
// receive socket is open, and the capture's, opened after it, is called
// before it for a received frame. That order matters. The kernel calls an
// interface's taps newest first, and a frame that carries no receive
// timestamp (a veth keeps the sender's delivery time across namespaces,
// which taps ignore) is timed by each tap as it is called: a capture
// started first would time every received frame after tcpprobe's socket
// had queued it and woken its reader (2–40 µs measured on a VM). It returns
// the results of the rounds whose first SYN left after the capture began,
// and the capture's segments once they hold every frame of those.
func clockRunCaptured(t *testing.T, l *lab.Lab, filter string, rounds int, every time.Duration, args ...string) ([]clockResult, []wireFrame) {
	t.Helper()
	return clockRunCapturedUntil(t, l, filter, rounds, every, onWire, args...)
}

// clockRunCapturedUntil is clockRunCaptured with another test of when the
// capture holds every frame of the results: until(res).
func clockRunCapturedUntil(t *testing.T, l *lab.Lab, filter string, rounds int, every time.Duration, until func([]clockResult) func([]wireFrame) bool, args ...string) ([]clockResult, []wireFrame) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := append([]string{"--ndjson", "-c", strconv.Itoa(rounds), "--interval", every.String()}, args...)
	cmd, sc, stderr := startLines(t, ctx, l, all...)
	var (
		c     *nanoCapture
		since time.Time
		res   []clockResult
	)
	for sc.Scan() {
		var line struct {
			Type string `json:"type"`
			clockResult
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("tcpprobe %s: a line that is not JSON (%v): %s", strings.Join(all, " "), err, sc.Text())
		}
		if line.Type == "summary" {
			continue
		}
		if c == nil {
			c = captureWire(t, l, filter)
			since = time.Now()
			continue
		}
		if line.Started.After(since) {
			res = append(res, line.clockResult)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tcpprobe %s: %v\nstderr: %s", strings.Join(all, " "), err, stderr.String())
	}
	if c == nil {
		t.Fatalf("tcpprobe %s printed no result\nstderr: %s", strings.Join(all, " "), stderr.String())
	}
	return res, c.frames(t, until(res))
}
