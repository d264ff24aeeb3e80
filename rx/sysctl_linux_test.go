//go:build linux

package rx

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// TestReadSysctls reads the sysctls of a namespace of its own, after
// changing some from their defaults there.
func TestReadSysctls(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (CAP_SYS_ADMIN) to make the tprx-* test namespace")
	}
	var id [3]byte
	_, _ = rand.Read(id[:])
	name := "tprx-" + hex.EncodeToString(id[:])
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run("ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	run("ip", "netns", "exec", name, "sysctl", "-qw",
		"net.ipv4.conf.all.accept_source_route=1", "net.ipv4.conf.lo.accept_source_route=1",
		"net.ipv4.ipfrag_time=10", "net.ipv6.max_dst_opts_number=-4", "net.ipv6.conf.all.drop_unicast_in_l2_multicast=1")
	ns, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
	defer ns.Close()
	var got, gotAll Config
	var gotErr, gotAllErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			t.Errorf("current namespace: %v", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			t.Errorf("enter namespace: %v", err)
			return
		}
		got, gotErr = ReadSysctls("lo")
		gotAll, gotAllErr = ReadSysctls()
		if err := netns.Set(orig); err != nil {
			t.Errorf("restore namespace: %v (thread retired)", err)
			return
		}
		runtime.UnlockOSThread()
	}()
	<-done
	if gotErr != nil || gotAllErr != nil {
		t.Fatalf("ReadSysctls: %v / %v", gotErr, gotAllErr)
	}
	want := DefaultConfig()
	want.AcceptSourceRoute4 = true
	want.IPFragTime = 10 * time.Second
	want.MaxDstOptsNumber = -4
	want.DropUnicastInL2Multicast6 = true
	want.KernelTCPAO = got.KernelTCPAO // what the kernel was built with
	want.IPFragHighThresh, want.IP6FragHighThresh = got.IPFragHighThresh, got.IP6FragHighThresh
	if got != want {
		t.Errorf("ReadSysctls(lo) = %+v\nwant %+v", got, want)
	}
	if gotAll.AcceptSourceRoute4 != true || gotAll.IPFragTime != 10*time.Second {
		t.Errorf("ReadSysctls() = %+v", gotAll)
	}
}
