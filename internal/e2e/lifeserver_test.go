package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
)

// lifeServerPy is a one-connection-at-a-time TCP server for the
// connection-life tests, run with /usr/bin/python3 in the server
// namespace: python3 -c SCRIPT MODE ADDR PORT.
//
//	echo    read until EOF, echo everything, then close (the client closes first)
//	banner  send "hello\r\n" and close at once (the server closes first)
//	unread  wait for data, then close without reading it (RST on close)
//	hold    read until EOF and echo, but never close (no FIN from the server)
//	backlog listen with backlog 1 and never accept
const lifeServerPy = `
import socket, sys, time, select
mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(1 if mode == 'backlog' else 16)
print('listening', flush=True)
if mode == 'backlog':
    time.sleep(600)
held = []
while True:
    c, _ = s.accept()
    if mode == 'banner':
        c.sendall(b'hello\r\n')
        c.close()
    elif mode == 'unread':
        select.select([c], [], [], 5)
        time.sleep(0.05)
        c.close()
    else:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        if mode == 'hold':
            held.append(c)
        else:
            c.close()
`

// startLifeServer starts lifeServerPy in the server namespace and waits
// until it listens; the lab kills it on cleanup.
func startLifeServer(t *testing.T, l *lab.Lab, mode string, addr string, port uint16) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	cmd := l.Command(ctx, l.Server, "/usr/bin/python3", "-c", lifeServerPy, mode, addr, strconv.Itoa(int(port)))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the %s server: %v", mode, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		n, err := out.Read(buf)
		if err == nil && !strings.Contains(string(buf[:n]), "listening") {
			err = fmt.Errorf("unexpected output %q", buf[:n])
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("the %s server did not start: %v", mode, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the %s server did not listen within 10s", mode)
	}
}

// serverStates returns the TCP states ss shows in ns for connections on
// local port port (listeners excluded), e.g. ["TIME-WAIT"].
func serverStates(t *testing.T, l *lab.Lab, ns string, port uint16) []string {
	t.Helper()
	out, err := l.Exec(ns, "ss", "-tanH", "state", "all", fmt.Sprintf("( sport = :%d )", port))
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	var states []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "LISTEN" {
			continue
		}
		states = append(states, f[0])
	}
	return states
}

// nft runs nft in ns with a ruleset on stdin.
func nftApply(t *testing.T, l *lab.Lab, ns, ruleset string) {
	t.Helper()
	cmd := l.Command(context.Background(), ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -f in %s: %v\n%s\n%s", ns, err, out, ruleset)
	}
}

// newLifeLab builds a lab for the connection-life tests.
func newLifeLab(t *testing.T) *lab.Lab {
	t.Helper()
	return labtest.New(t)
}

// netInterface looks an interface up by name in the current namespace.
func netInterface(name string) (*net.Interface, error) { return net.InterfaceByName(name) }
