package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/wire"
	"golang.org/x/sys/unix"
)

// TestLoopback probes the client namespace's own addresses, which leave
// and arrive through lo with its loopback framing.
func TestLoopback(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	// IPv4 packets injected on lo with a local source are martians unless
	// the namespace accepts them (rawsock.CheckLoopback); IPv6 needs nothing.
	for _, kv := range []string{"net.ipv4.conf.lo.accept_local=1", "net.ipv4.conf.lo.route_localnet=1"} {
		if out, err := l.Exec(l.Client, "sysctl", "-qw", kv); err != nil {
			t.Fatalf("%s: %v %s", kv, err, out)
		}
	}
	err := l.Do(l.Client, func() error {
		for _, a := range []string{"127.0.0.1:8080", "[::1]:8080", "198.18.1.2:8080"} {
			ln, err := net.Listen("tcp", a)
			if err != nil {
				return err
			}
			t.Cleanup(func() { ln.Close() })
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	expectVia(t, l, "lo", map[string]string{
		"127.0.0.1:8080":  "open",
		"127.0.0.1:8081":  "refused",
		"[::1]:8080":      "open",
		"[::1]:8081":      "refused",
		"198.18.1.2:8080": "open",
		"198.18.1.2:8081": "refused",
	})
}

// expectVia probes every target in one run and checks each outcome and
// that it went through interface dev.
func expectVia(t *testing.T, l *lab.Lab, dev string, targets map[string]string) {
	t.Helper()
	var args []string
	for k := range targets {
		args = append(args, k)
	}
	got, r := probeJSON(t, l, 20*time.Second, append([]string{"--schedule", "0,500ms/1s"}, args...)...)
	for k, want := range targets {
		res := got[k]
		if res == nil {
			t.Errorf("%s: no result (stderr %s)", k, r.stderr)
			continue
		}
		if res.Outcome != want || res.Interface != dev {
			t.Errorf("%s: %s via %q, want %s via %s%s", k, res.Outcome, res.Interface, want, dev, events(res))
		}
	}
}

// TestTUNLink probes through a TUN device: a link with no link-layer
// header (cooked AF_PACKET framing). A peer program on the device's other
// end answers SYNs to port 80 with a SYN-ACK and to port 81 with RST+ACK.
func TestTUNLink(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	const dev = "tpt0"
	var fd int
	err := l.Do(l.Client, func() error {
		var err error
		fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("opening /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(dev)
		if err != nil {
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		return unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	})
	if err != nil {
		t.Fatal(err)
	}
	tun := os.NewFile(uintptr(fd), dev)
	t.Cleanup(func() { tun.Close() })
	for _, cmd := range [][]string{
		{"ip", "link", "set", dev, "up"},
		{"ip", "addr", "add", "198.18.30.1/24", "dev", dev},
		{"ip", "addr", "add", "fd00:30::1/64", "dev", dev, "nodad"},
		{"ip", "route", "add", "198.18.31.0/24", "dev", dev},
		{"ip", "route", "add", "fd00:31::/64", "dev", dev},
	} {
		if out, err := l.Exec(l.Client, cmd...); err != nil {
			t.Fatalf("%v: %v %s", cmd, err, out)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go reflect(ctx, tun)

	expectVia(t, l, dev, map[string]string{
		"198.18.31.1:80":  "open",
		"198.18.31.1:81":  "refused",
		"[fd00:31::1]:80": "open",
		"[fd00:31::1]:81": "refused",
	})
}

// reflect is the TUN peer: it answers each SYN it reads from tun.
func reflect(ctx context.Context, tun *os.File) {
	buf := make([]byte, 2048)
	out := make([]byte, wire.MaxSegmentLen)
	for ctx.Err() == nil {
		tun.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := tun.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			return
		}
		var ip wire.IPInfo
		payload, err := wire.ParseIP(buf[:n], &ip)
		if err != nil || ip.Protocol != wire.ProtocolTCP {
			continue
		}
		var seg wire.Segment
		if wire.ParseTCP(payload, &seg) != nil || seg.Flags != wire.SYN {
			continue
		}
		spec := wire.SegmentSpec{Src: ip.Dst, Dst: ip.Src, SrcPort: seg.DstPort, DstPort: seg.SrcPort, Ack: seg.Seq + 1, Window: 65000}
		switch seg.DstPort {
		case 80:
			spec.Flags, spec.Seq = wire.SYN|wire.ACK, 12345
			spec.Options = wire.Options{HasMSS: true, MSS: 1400}
		case 81:
			spec.Flags = wire.RST | wire.ACK
		default:
			continue
		}
		m, err := wire.EncodeSegment(out, &spec)
		if err == nil {
			tun.Write(out[:m])
		}
	}
}

// TestLoopbackMartianFallback: where the namespace would drop IPv4 packets
// injected on lo (accept_local and route_localnet off, the defaults), auto
// mode says so and probes with the kernel's connect(2); --mode raw refuses
// with the environment's exit code and the sysctl to set.
func TestLoopbackMartianFallback(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	err := l.Do(l.Client, func() error {
		ln, err := net.Listen("tcp", "127.0.0.1:8080")
		if err != nil {
			return err
		}
		t.Cleanup(func() { ln.Close() })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, r := probeJSON(t, l, 10*time.Second, "--schedule", "0/1s", "127.0.0.1:8080")
	res := got["127.0.0.1:8080"]
	if res == nil || res.Outcome != "open" || res.Mode != "connect" {
		t.Errorf("auto mode: %+v, want open through connect(2)\nstderr: %s", res, r.stderr)
	}
	if !strings.Contains(r.stderr, "route_localnet") || !strings.Contains(r.stderr, "connect(2)") {
		t.Errorf("auto mode's notice does not name the sysctl and the fallback: %s", r.stderr)
	}
	raw := tcpprobe(t, l, 10*time.Second, "--mode", "raw", "--schedule", "0/1s", "127.0.0.1:8080")
	if raw.exit != 3 || !strings.Contains(raw.stderr, "accept_local") {
		t.Errorf("--mode raw: exit %d, stderr %q; want 3 and the sysctl to set", raw.exit, raw.stderr)
	}
}
