package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
)

// The client's second link, for replies that come back another way: a
// veth c1 (client) — r2 (router), outside the lab's plan.
const (
	asymClientIf = "c1"
	asymRouterIf = "r2"
)

var (
	asymClientMAC = "02:00:00:00:03:02"
	asymRouterMAC = "02:00:00:00:03:01"
	asymClientV4  = netip.MustParseAddr("198.18.40.2")
	asymClientV6  = netip.MustParseAddr("fd00:40::2")
)

// addReturnLink gives the client a second interface to the router and
// makes the router send everything for the client's first addresses
// (198.18.1.2, fd00:1::2) through it: the client's SYNs leave by c0 and
// every answer — the server's SYN-ACK or RST, the router's ICMP — comes
// back on c1. rp_filter is off in the lab (and c1 inherits that), so the
// kernel accepts them (issue 11, asymmetric routing).
func addReturnLink(t *testing.T, l *lab.Lab) {
	t.Helper()
	for _, c := range []struct {
		ns   string
		args []string
	}{
		{l.Router, []string{"ip", "link", "add", asymRouterIf, "address", asymRouterMAC, "type", "veth", "peer", "name", asymClientIf, "address", asymClientMAC, "netns", l.Client}},
		{l.Router, []string{"ip", "link", "set", asymRouterIf, "up"}},
		{l.Router, []string{"ip", "addr", "add", "198.18.40.1/24", "dev", asymRouterIf}},
		{l.Router, []string{"ip", "addr", "add", "fd00:40::1/64", "dev", asymRouterIf, "nodad"}},
		{l.Client, []string{"ip", "link", "set", asymClientIf, "up"}},
		{l.Client, []string{"ip", "addr", "add", asymClientV4.String() + "/24", "dev", asymClientIf}},
		{l.Client, []string{"ip", "addr", "add", asymClientV6.String() + "/64", "dev", asymClientIf, "nodad"}},
		{l.Router, []string{"ip", "neigh", "replace", asymClientV4.String(), "lladdr", asymClientMAC, "dev", asymRouterIf, "nud", "permanent"}},
		{l.Router, []string{"ip", "neigh", "replace", asymClientV6.String(), "lladdr", asymClientMAC, "dev", asymRouterIf, "nud", "permanent"}},
		{l.Router, []string{"ip", "route", "add", lab.ClientV4.String() + "/32", "via", asymClientV4.String(), "dev", asymRouterIf}},
		{l.Router, []string{"ip", "route", "add", lab.ClientV6.String() + "/128", "via", asymClientV6.String(), "dev", asymRouterIf}},
	} {
		if out, err := l.Exec(c.ns, c.args...); err != nil {
			t.Fatalf("return link: %v\n%s", err, out)
		}
	}
}

// rxPackets returns how many packets interface ifname of namespace ns
// has received.
func rxPackets(t *testing.T, l *lab.Lab, ns, ifname string) uint64 {
	t.Helper()
	out, err := l.Exec(ns, "ip", "-j", "-s", "link", "show", ifname)
	if err != nil {
		t.Fatalf("link statistics of %s: %v", ifname, err)
	}
	var links []struct {
		Stats struct {
			RX struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("link statistics of %s: %v\n%s", ifname, err, out)
	}
	return links[0].Stats.RX.Packets
}

// TestAsymmetricReturnPath: every answer to the client comes back on an
// interface other than the one its SYN left by. The kernel's connect()
// accepts them (rp_filter off); tcpprobe --profile linux must report the
// same verdict, within forgedSlack of the kernel's time.
func TestAsymmetricReturnPath(t *testing.T) {
	l := labtest.New(t)
	addReturnLink(t, l)
	before := rxPackets(t, l, l.Client, asymClientIf)
	type target struct {
		dst        netip.AddrPort
		kernel     string
		kernelTook time.Duration
	}
	var targets []*target
	for _, a := range []netip.Addr{lab.ServerV4, lab.ServerV6} {
		for _, p := range []uint16{lab.PortOpen, lab.PortClosed, lab.PortRejectPort, lab.PortRejectAdmin} {
			targets = append(targets, &target{dst: netip.AddrPortFrom(a, p)})
		}
	}
	var wg sync.WaitGroup
	var kerr error
	var mu sync.Mutex
	args := []string{"--profile", "linux", "--timeout", forgedBound.String()}
	for _, tg := range targets {
		args = append(args, tg.dst.String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			tg.kernel, tg.kernelTook, err = kernelVerdict(l, tg.dst)
			if err != nil {
				mu.Lock()
				kerr = errors.Join(kerr, err)
				mu.Unlock()
			}
		}()
	}
	defer wg.Wait() // also when probeJSON fails the test: the lab outlives every connect
	res, run := probeJSON(t, l, forgedBound+30*time.Second, args...)
	wg.Wait()
	if kerr != nil {
		t.Fatalf("kernel connect: %v", kerr)
	}
	if got := rxPackets(t, l, l.Client, asymClientIf) - before; got < uint64(len(targets)) {
		t.Fatalf("only %d packets came back on %s: the answers did not take the return link", got, asymClientIf)
	}
	var table strings.Builder
	for _, tg := range targets {
		r := res[tg.dst.String()]
		got, took := "no result", time.Duration(0)
		if r != nil {
			got, took = probeVerdict(r), time.Duration(r.DurationMs*float64(time.Millisecond))
		}
		fmt.Fprintf(&table, "%-22s kernel %-13s %-8v tcpprobe %-13s %v\n", tg.dst, tg.kernel, tg.kernelTook.Round(time.Millisecond), got, took.Round(time.Millisecond))
		if tg.kernel == vTimeout {
			t.Errorf("%s: the kernel's connect() got no answer on the return link: the lab is wrong", tg.dst)
		}
		if d := took - tg.kernelTook; got != tg.kernel || d > forgedSlack || d < -forgedSlack {
			t.Errorf("%s, answers on %s: tcpprobe %s after %v, kernel connect() %s after %v", tg.dst, asymClientIf,
				got, took.Round(time.Millisecond), tg.kernel, tg.kernelTook.Round(time.Millisecond))
		}
	}
	t.Logf("replies on the other interface:\n%s\nstderr: %s", table.String(), run.stderr)
}
