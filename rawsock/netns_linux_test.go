package rawsock

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// The test network: two namespaces joined by one veth pair, addresses from
// the lab plan's 198.18.200.0/24 and fd00:200::/64.
//
//	tpr-<id>-a  a0 02:00:00:c8:00:01  198.18.200.1/25  fd00:200::1/65
//	tpr-<id>-b  b0 02:00:00:c8:00:02  198.18.200.2/25  fd00:200::2/65
//
// Routes in a (the upper halves are not on-link):
//
//	unreachable 198.18.200.128/28   fd00:200::8001:0:0:0/80
//	prohibit    198.18.200.144/28   fd00:200::8002:0:0:0/80
//	blackhole   198.18.200.160/28   fd00:200::8003:0:0:0/80
//	via .2      198.18.200.176/28   fd00:200::8004:0:0:0/80 via fd00:200::2
//	nothing for 198.18.200.240/28   fd00:200::8005:0:0:0/80
type testNet struct {
	a, b       netns.NsHandle
	nameA      string
	nameB      string
	macA, macB net.HardwareAddr
}

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0xc8, 0, 0x01}
	macB = net.HardwareAddr{0x02, 0, 0, 0xc8, 0, 0x02}
)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW) to build the tpr-* test namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: needs iproute2's ip command")
	}
}

func run(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func newTestNet(t testing.TB) *testNet {
	t.Helper()
	needRoot(t)
	var id [3]byte
	_, _ = rand.Read(id[:])
	n := &testNet{
		nameA: "tpr-" + hex.EncodeToString(id[:]) + "-a",
		nameB: "tpr-" + hex.EncodeToString(id[:]) + "-b",
		macA:  macA, macB: macB,
	}
	for _, name := range []string{n.nameA, n.nameB} {
		run(t, "ip", "netns", "add", name)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
		for _, s := range []string{
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0",
		} {
			run(t, "ip", "netns", "exec", name, "sysctl", "-qw", s)
		}
		run(t, "ip", "-n", name, "link", "set", "lo", "up")
	}
	a, b := n.nameA, n.nameB
	run(t, "ip", "-n", a, "link", "add", "a0", "address", macA.String(), "type", "veth",
		"peer", "name", "b0", "address", macB.String(), "netns", b)
	for _, c := range [][]string{
		{"-n", a, "addr", "add", "198.18.200.1/25", "dev", "a0"},
		{"-n", a, "addr", "add", "fd00:200::1/65", "dev", "a0", "nodad"},
		{"-n", b, "addr", "add", "198.18.200.2/25", "dev", "b0"},
		{"-n", b, "addr", "add", "fd00:200::2/65", "dev", "b0", "nodad"},
		{"-n", a, "link", "set", "a0", "up"},
		{"-n", b, "link", "set", "b0", "up"},
		{"-n", a, "route", "add", "unreachable", "198.18.200.128/28"},
		{"-n", a, "route", "add", "prohibit", "198.18.200.144/28"},
		{"-n", a, "route", "add", "blackhole", "198.18.200.160/28"},
		{"-n", a, "route", "add", "198.18.200.176/28", "via", "198.18.200.2"},
		{"-n", a, "-6", "route", "add", "unreachable", "fd00:200::8001:0:0:0/80"},
		{"-n", a, "-6", "route", "add", "prohibit", "fd00:200::8002:0:0:0/80"},
		{"-n", a, "-6", "route", "add", "blackhole", "fd00:200::8003:0:0:0/80"},
		{"-n", a, "-6", "route", "add", "fd00:200::8004:0:0:0/80", "via", "fd00:200::2"},
	} {
		run(t, append([]string{"ip"}, c...)...)
	}
	// The veth carrier comes up through linkwatch, up to a second later; until
	// then IPv6 has no multicast route and drops neighbour solicitations.
	for _, c := range [][2]string{{a, "a0"}, {b, "b0"}} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			out, _ := exec.Command("ip", "-n", c[0], "-6", "route", "show", "table", "local", "dev", c[1]).Output()
			if strings.Contains(string(out), "multicast ff00::/8") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %s: IPv6 not ready after 5s:\n%s", c[0], c[1], out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var err error
	if n.a, err = netns.GetFromName(a); err != nil {
		t.Fatalf("open namespace %s: %v", a, err)
	}
	t.Cleanup(func() { n.a.Close() })
	if n.b, err = netns.GetFromName(b); err != nil {
		t.Fatalf("open namespace %s: %v", b, err)
	}
	t.Cleanup(func() { n.b.Close() })
	return n
}

// in runs fn on a locked OS thread inside ns. Sockets fn opens stay in ns.
// If the thread cannot be moved back, it is never unlocked, so the runtime
// retires it instead of reusing it in the wrong namespace.
func in(t testing.TB, ns netns.NsHandle, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			t.Errorf("get current namespace: %v", err)
			return // thread stays locked and dies with the goroutine
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			t.Errorf("enter namespace: %v", err)
			return
		}
		defer func() {
			if err := netns.Set(orig); err != nil {
				t.Errorf("restore namespace: %v (thread retired)", err)
				return
			}
			runtime.UnlockOSThread()
		}()
		fn()
	}()
	<-done
	if t.Failed() {
		t.FailNow()
	}
}
