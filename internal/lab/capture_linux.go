package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CaptureStartTimeout bounds how long Capture waits for tcpdump to start capturing.
const CaptureStartTimeout = 10 * time.Second

// Capture is a running tcpdump started by (*Lab).Capture.
type Capture struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{} // closed when stdout is drained
	mu     sync.Mutex
	pkts   []Packet
	stderr strings.Builder
}

// Capture starts tcpdump (--immediate-mode -tt -n -l) in ns on iface with the BPF
// expression filter and returns once tcpdump reports it is capturing.
func (l *Lab) Capture(ns, iface, filter string) (*Capture, error) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		return nil, fmt.Errorf("lab: tcpdump not found in PATH (install tcpdump): %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"--immediate-mode", "-tt", "-n", "-l", "-i", iface}
	if filter != "" {
		args = append(args, filter)
	}
	cmd := l.Command(ctx, ns, "tcpdump", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("lab: starting tcpdump in %s: %w", ns, err)
	}
	c := &Capture{cmd: cmd, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				continue // tcpdump ends with an empty line on SIGINT
			}
			p := Packet{Line: line}
			if ts, _, ok := strings.Cut(line, " "); ok {
				if f, err := strconv.ParseFloat(ts, 64); err == nil {
					sec := int64(f)
					p.Time = time.Unix(sec, int64((f-float64(sec))*1e9)).Round(time.Microsecond)
				}
			}
			c.mu.Lock()
			c.pkts = append(c.pkts, p)
			c.mu.Unlock()
		}
	}()
	listening := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			c.mu.Lock()
			c.stderr.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			if !sent && strings.Contains(sc.Text(), "listening on") {
				listening <- nil
				sent = true
			}
		}
		if !sent {
			listening <- io.ErrUnexpectedEOF
		}
	}()
	select {
	case err := <-listening:
		if err == nil {
			return c, nil
		}
	case <-time.After(CaptureStartTimeout):
	}
	_, _ = c.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	return nil, fmt.Errorf("lab: tcpdump in %s on %s did not start capturing: %s", ns, iface, strings.TrimSpace(c.stderr.String()))
}

// Stop ends the capture (SIGINT, so tcpdump flushes) and returns the packets seen, in
// order, each with its capture time.
func (c *Capture) Stop() ([]Packet, error) {
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	timer := time.AfterFunc(5*time.Second, c.cancel) // kill if it does not stop
	defer timer.Stop()
	<-c.done
	err := c.cmd.Wait()
	c.cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return c.pkts, fmt.Errorf("lab: tcpdump: %w", err)
	}
	return c.pkts, nil
}
