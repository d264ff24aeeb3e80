package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
)

// A nanosecond tcpdump capture of the client's interface, the reference
// clock of the clock tests (lab notes: good to a few µs).

// nanoCapture is tcpdump writing a nanosecond pcap of the client's
// interface.
type nanoCapture struct {
	stop   context.CancelFunc
	done   chan error
	path   string
	signal func() error
}

// captureWire starts tcpdump on the client's interface with filter and
// returns once it captures.
func captureWire(t *testing.T, l *lab.Lab, filter string) *nanoCapture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wire.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := l.Command(ctx, l.Client, "tcpdump", "-i", lab.ClientIf, "-n", "-tt", "-B", "16384",
		"--time-stamp-precision=nano", "--immediate-mode", "-w", path, filter)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start tcpdump (apt-get install tcpdump): %v", err)
	}
	c := &nanoCapture{stop: cancel, done: make(chan error, 1), path: path,
		signal: func() error { return cmd.Process.Signal(os.Interrupt) }}
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
	t.Cleanup(func() { cancel() })
	select {
	case msg := <-ready:
		if msg != "" {
			t.Fatalf("tcpdump did not start: %s", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start within 10s")
	}
	return c
}

// frames stops the capture (SIGINT writes out what it holds) and reads it.
func (c *nanoCapture) frames(t *testing.T) []wireFrame {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // the last frames reach tcpdump
	_ = c.signal()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.stop()
		t.Fatal("tcpdump did not stop within 10s of SIGINT")
	}
	b, err := os.ReadFile(c.path)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := readNanoPcap(b)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// wireFrame is one captured TCP segment over IPv4 or IPv6.
type wireFrame struct {
	at           time.Time
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
}

// readNanoPcap reads the TCP segments of a nanosecond pcap of an Ethernet
// interface (magic a1b23c4d); other frames are skipped.
func readNanoPcap(b []byte) ([]wireFrame, error) {
	if len(b) < 24 {
		return nil, errors.New("pcap: short file header")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(b) == 0xa1b23c4d {
		bo = binary.BigEndian
	} else if bo.Uint32(b) != 0xa1b23c4d {
		return nil, fmt.Errorf("pcap: magic %x is not nanosecond pcap", b[:4])
	}
	var out []wireFrame
	for p := b[24:]; len(p) > 0; {
		if len(p) < 16 {
			return out, errors.New("pcap: short record header")
		}
		n := int(bo.Uint32(p[8:]))
		if len(p) < 16+n {
			return out, errors.New("pcap: short record")
		}
		f := wireFrame{at: time.Unix(int64(bo.Uint32(p)), int64(bo.Uint32(p[4:])))}
		if seg, ok := tcpOf(p[16 : 16+n]); ok {
			f.sport, f.dport = binary.BigEndian.Uint16(seg), binary.BigEndian.Uint16(seg[2:])
			f.seq, f.ack = binary.BigEndian.Uint32(seg[4:]), binary.BigEndian.Uint32(seg[8:])
			f.flags = seg[13]
			out = append(out, f)
		}
		p = p[16+n:]
	}
	return out, nil
}

// tcpOf returns the TCP header of an Ethernet frame, if it carries one.
func tcpOf(fr []byte) ([]byte, bool) {
	if len(fr) < 14 {
		return nil, false
	}
	ip := fr[14:]
	switch binary.BigEndian.Uint16(fr[12:]) {
	case 0x0800:
		if len(ip) < 20 || ip[9] != 6 {
			return nil, false
		}
		ip = ip[int(ip[0]&0xf)*4:]
	case 0x86dd:
		if len(ip) < 40 || ip[6] != 6 {
			return nil, false
		}
		ip = ip[40:]
	default:
		return nil, false
	}
	return ip, len(ip) >= 20
}
