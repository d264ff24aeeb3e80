package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tcpprobe/tcpprobe/internal/lab"
)

// Fleet prefixes: the server owns every address of them (an AnyIP local
// route, lab-notes), the router and the client route them to it.
var (
	fleetV4 = netip.MustParsePrefix("198.18.40.0/24")
	fleetV6 = netip.MustParsePrefix("fd00:40::/120")
)

// addFleet routes fleetV4 and fleetV6 to the lab's server, which answers
// for every address of them: RST on a port without a listener, SYN-ACK on
// port 80 of each address in open. Everything is removed with the lab.
func addFleet(t *testing.T, l *lab.Lab, open []netip.Addr) {
	t.Helper()
	serverOwns(t, l, fleetV4, fleetV6)
	// Listeners on single addresses of the prefixes: IP_FREEBIND lets a
	// socket bind an address only a local route covers (IPv6 would
	// otherwise want it on an interface).
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, syscall.IP_FREEBIND, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	err := l.Do(l.Server, func() error {
		for _, a := range open {
			ln, err := lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(a, lab.PortOpen).String())
			if err != nil {
				return fmt.Errorf("listen on %s: %w", a, err)
			}
			t.Cleanup(func() { ln.Close() })
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addHosts gives the lab's client namespace a hosts file (ip netns exec
// bind-mounts /etc/netns/NAME/hosts over /etc/hosts), removed with the
// test.
func addHosts(t *testing.T, l *lab.Lab, lines ...string) {
	t.Helper()
	dir := filepath.Join("/etc/netns", l.Client)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	text := "127.0.0.1 localhost\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// routerLinkLocal is the router's link-local address on the client's
// link.
func routerLinkLocal(l *lab.Lab) (netip.Addr, error) {
	out, err := l.Exec(l.Router, "ip", "-6", "-o", "addr", "show", "dev", lab.RouterIfC, "scope", "link")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%v: %s", err, out)
	}
	f := strings.Fields(out)
	for i, w := range f {
		if w == "inet6" && i+1 < len(f) {
			p, err := netip.ParsePrefix(f[i+1])
			if err != nil {
				return netip.Addr{}, err
			}
			return p.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no link-local address on the router's %s: %q", lab.RouterIfC, out)
}

// serverOwns makes every address of prefixes the server's own (a local
// route on its loopback, so its kernel answers each SYN) and routes them
// to it from the client through the router. Everything is removed with the
// lab.
func serverOwns(t *testing.T, l *lab.Lab, prefixes ...netip.Prefix) {
	t.Helper()
	for _, p := range prefixes {
		ip, server, router := []string{"ip"}, lab.ServerV4, lab.RouterV4C
		if p.Addr().Is6() {
			ip, server, router = []string{"ip", "-6"}, lab.ServerV6, lab.RouterV6C
		}
		for _, c := range []struct {
			ns   string
			args []string
		}{
			{l.Server, []string{"route", "add", "local", p.String(), "dev", "lo"}},
			{l.Router, []string{"route", "add", p.String(), "via", server.String()}},
			{l.Client, []string{"route", "add", p.String(), "via", router.String()}},
		} {
			args := append(append([]string(nil), ip...), c.args...)
			if out, err := l.Exec(c.ns, args...); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	}
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
