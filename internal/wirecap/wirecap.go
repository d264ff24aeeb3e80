// Package wirecap is the reference clock of tcpprobe's clock tests:
// tcpdump writing a nanosecond pcap of one interface in a network
// namespace, and a reader of that file. It is test support, never linked
// into the binary.
//
// tcpdump runs without --immediate-mode on purpose. In immediate mode
// libpcap reads a TPACKET_V2 ring, and the kernel wakes tcpdump for every
// frame from inside the transmit tap (dev_queue_xmit_nit): after taking
// tcpdump's timestamp, before the driver takes the frame. Measured on a
// veth in a VM, that wake-up put tcpdump's time of a sent frame 15–20 µs
// (now and then 90 µs) before the driver's; without it the two are 5–7 µs
// apart. Without immediate mode libpcap reads a TPACKET_V3 ring, whose
// blocks reach tcpdump when they fill or when tcpdump's block timeout (one
// second) retires them; Stop therefore watches the file, written packet by
// packet (-U), until it holds what the caller expects.
package wirecap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// StartTimeout bounds how long Start waits for tcpdump to capture.
const StartTimeout = 10 * time.Second

// MaxDelay is how long a frame may take to reach the file: tcpdump's
// block timeout (one second), with room for a loaded machine. Callers
// pass it to Stop.
const MaxDelay = 3 * time.Second

// pollEvery is how often Stop reads the file while it waits.
const pollEvery = 10 * time.Millisecond

// Capture is a running tcpdump writing a nanosecond pcap file.
type Capture struct {
	cmd  *exec.Cmd
	path string
	done chan error // tcpdump's exit, once
}

// Start runs tcpdump on iface in the network namespace ns (ip netns exec)
// with the capture filter filter, writing into dir, and returns once
// tcpdump says it is listening. ctx bounds tcpdump's life; Close ends it
// early.
func Start(ctx context.Context, ns, iface, filter, dir string) (*Capture, error) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		return nil, fmt.Errorf("wirecap: tcpdump not found (apt-get install tcpdump): %w", err)
	}
	path := filepath.Join(dir, "wire-"+iface+".pcap")
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "tcpdump", "-i", iface, "-n", "-U",
		"-B", "16384", "--time-stamp-precision=nano", "-w", path, filter)
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("wirecap: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("wirecap: start tcpdump in %s: %w", ns, err)
	}
	c := &Capture{cmd: cmd, path: path, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var all strings.Builder
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "listening on") {
				ready <- ""
				_, _ = io.Copy(io.Discard, stderr)
				c.done <- cmd.Wait()
				return
			}
		}
		ready <- all.String()
		c.done <- cmd.Wait()
	}()
	select {
	case msg := <-ready:
		if msg != "" {
			return nil, fmt.Errorf("wirecap: tcpdump on %s in %s did not start: %s", iface, ns, msg)
		}
	case <-time.After(StartTimeout):
		c.Close()
		return nil, fmt.Errorf("wirecap: tcpdump on %s in %s did not start within %v", iface, ns, StartTimeout)
	}
	return c, nil
}

// Stop waits until the captured frames satisfy until (nil: not at all),
// at most max, then stops tcpdump (SIGINT writes out what it holds) and
// returns every frame of the file. A capture that never satisfied until is
// returned all the same: the caller's checks say what is missing.
func (c *Capture) Stop(until func([]Frame) bool, max time.Duration) ([]Frame, error) {
	deadline := time.Now().Add(max)
	for until != nil && time.Now().Before(deadline) {
		if fs, _ := c.Frames(); until(fs) {
			break
		}
		time.Sleep(pollEvery)
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.Close()
		return nil, errors.New("wirecap: tcpdump did not stop within 10s of SIGINT")
	}
	return c.Frames()
}

// Close kills tcpdump if it still runs. It is safe to call more than once.
func (c *Capture) Close() {
	_ = c.cmd.Process.Kill()
}

// Frames reads the frames the file holds now; a record tcpdump is still
// writing is left out.
func (c *Capture) Frames() ([]Frame, error) {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return nil, fmt.Errorf("wirecap: %w", err)
	}
	fs, err := ReadNano(b)
	if errors.Is(err, errShort) {
		err = nil
	}
	return fs, err
}
