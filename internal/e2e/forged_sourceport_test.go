package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
)

// The --source-port test's ports: a server port whose connections stay
// open, the client port a live connection holds, and a free one.
const (
	busyServerPort = 7000
	busyClientPort = 61500
	freeClientPort = 61501
)

// holdConnections listens on busyServerPort on the server (both families)
// and keeps every accepted connection open, echoing each line back, until
// the test ends.
func holdConnections(t *testing.T, l *lab.Lab) {
	t.Helper()
	var lns []net.Listener
	if err := l.Do(l.Server, func() error {
		for _, a := range []netip.Addr{lab.ServerV4, lab.ServerV6} {
			ln, err := net.Listen("tcp", netip.AddrPortFrom(a, busyServerPort).String())
			if err != nil {
				return err
			}
			lns = append(lns, ln)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _ = io.Copy(c, c) // echo until closed or reset
				}()
			}
		}()
	}
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// TestSourcePortInUse: while an established connection of the client
// uses port P to the server, `tcpprobe --source-port P` to that server is
// refused like bind(2) would refuse it: exit 2, a message naming the port,
// no SYN on the wire, and the connection still works afterwards (no RST
// reached it). A free port is still accepted (issue 11).
func TestSourcePortInUse(t *testing.T) {
	l := labtest.New(t)
	holdConnections(t, l)
	for _, fam := range []struct {
		name           string
		client, server netip.Addr
	}{
		{"ipv4", lab.ClientV4, lab.ServerV4},
		{"ipv6", lab.ClientV6, lab.ServerV6},
	} {
		t.Run(fam.name, func(t *testing.T) {
			dst := netip.AddrPortFrom(fam.server, busyServerPort)
			var conn net.Conn
			if err := l.Do(l.Client, func() (err error) {
				d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(fam.client, busyClientPort))}
				conn, err = d.Dial("tcp", dst.String())
				return err
			}); err != nil {
				t.Fatalf("the client's own connection from port %d: %v", busyClientPort, err)
			}
			defer conn.Close()
			echo(t, conn, "before")
			seen, err := l.SYNSeen(busyServerPort)
			if err != nil {
				t.Fatal(err)
			}

			r := tcpprobe(t, l, 20*time.Second, "--profile", "linux", "--timeout", "2s", "--source-port", fmt.Sprint(busyClientPort), dst.String())
			if r.exit != 2 || !strings.Contains(r.stderr, fmt.Sprint(busyClientPort)) || !strings.Contains(r.stderr, "in use") {
				t.Errorf("tcpprobe --source-port %d %s while a connection uses that port: exit %d, stderr %q; want exit 2 and a message that the port is in use",
					busyClientPort, dst, r.exit, r.stderr)
			}
			if after, err := l.SYNSeen(busyServerPort); err != nil {
				t.Fatal(err)
			} else if after != seen {
				t.Errorf("%d SYNs reached the router while tcpprobe should have sent nothing", after-seen)
			}
			echo(t, conn, "after") // still established: nothing reset it

			got, rr := probeJSON(t, l, 20*time.Second, "--profile", "linux", "--timeout", "2s", "--source-port", fmt.Sprint(freeClientPort), dst.String())
			if res := got[dst.String()]; rr.exit != 0 || res == nil || res.Outcome != "open" || res.SourcePort != freeClientPort {
				t.Errorf("tcpprobe --source-port %d (free) %s: exit %d, result %+v, stderr %q; want open from port %d", freeClientPort, dst, rr.exit, res, rr.stderr, freeClientPort)
			}
			echo(t, conn, "still")
		})
	}
}

// echo sends a line on the connection and wants it back from the
// server's echo within a second.
func echo(t *testing.T, c net.Conn, line string) {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintln(c, line); err != nil {
		t.Fatalf("the client's connection (%s): writing: %v", line, err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != line+"\n" {
		t.Fatalf("the client's connection (%s): read %q, %v: it was reset or broken", line, got, err)
	}
}
