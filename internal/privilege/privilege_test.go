package privilege

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// childEnv makes the test binary act as the child of TestDrop.
const childEnv = "TPT_PRIVILEGE_CHILD"

// childReport is what the child prints: what it held before and after
// Drop, and whether raw sockets still work.
type childReport struct {
	Before, After State
	DropErr       string
	OldSocketOK   bool   // a raw socket opened before Drop is still usable
	NewSocketErr  string // opening one after Drop
}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		child()
		return
	}
	os.Exit(m.Run())
}

// child opens a raw socket, spreads itself over several threads, drops
// and reports on stdout.
func child() {
	var rep childReport
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		rep.DropErr = "raw socket before Drop: " + err.Error()
		json.NewEncoder(os.Stdout).Encode(rep)
		os.Exit(0)
	}
	// Threads other than the caller's must lose their privilege too.
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			runtime.LockOSThread()
			wg.Done()
			<-release
		}()
	}
	wg.Wait()
	rep.Before, _ = Status()
	if err := Drop(Options{}); err != nil {
		rep.DropErr = err.Error()
	}
	rep.After, _ = Status()
	close(release)
	_, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	rep.OldSocketOK = err == nil
	if fd2, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0); err != nil {
		rep.NewSocketErr = err.Error()
	} else {
		unix.Close(fd2)
	}
	json.NewEncoder(os.Stdout).Encode(rep)
	os.Exit(0)
}

// runChild runs the test binary as a child with env and credentials.
func runChild(t *testing.T, env []string, attr *syscall.SysProcAttr) childReport {
	t.Helper()
	// A copy anyone can execute: the build directory may be private to root.
	dir, err := os.MkdirTemp("", "tpt-privilege-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "child")
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SUDO_") {
			base = append(base, kv)
		}
	}
	cmd.Env = append(append(base, childEnv+"=1"), env...)
	cmd.SysProcAttr = attr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("child: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("child: %v", err)
	}
	var rep childReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("child printed %q: %v", out, err)
	}
	return rep
}

const capNetRaw = 1 << unix.CAP_NET_RAW

// TestDrop runs Drop in a child process in each way tcpprobe may start
// and reads back, from /proc, every thread's ids and capabilities.
func TestDrop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("TestDrop needs root: it starts children as root and as another user with CAP_NET_RAW (sudo go test ./internal/privilege/)")
	}
	nobodyUID, nobodyGID, err := target(Options{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		UID, GID     int
		BeforeRaw    bool // CAP_NET_RAW effective before Drop
		NoNewPrivs   bool
		Unprivileged bool
		DropErr      string
		OldSocketOK  bool
		NewSocketErr string
	}
	dropped := func(uid, gid int) want {
		return want{uid, gid, true, true, true, "", true, "operation not permitted"}
	}
	tests := []struct {
		name string
		env  []string
		attr *syscall.SysProcAttr
		want want
	}{
		{"sudo", []string{"SUDO_UID=12345", "SUDO_GID=23456"}, nil, dropped(12345, 23456)},
		{"root-without-sudo", nil, nil, dropped(nobodyUID, nobodyGID)},
		{"sudo-by-root", []string{"SUDO_UID=0", "SUDO_GID=0"}, nil, dropped(nobodyUID, nobodyGID)},
		{"file-capabilities", nil, &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: 12345, Gid: 23456},
			AmbientCaps: []uintptr{unix.CAP_NET_RAW},
		}, dropped(12345, 23456)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runChild(t, tt.env, tt.attr)
			got := want{
				UID: rep.After.UIDs[1], GID: rep.After.GIDs[1],
				BeforeRaw:    rep.Before.CapEff&capNetRaw != 0,
				NoNewPrivs:   rep.After.NoNewPrivs,
				Unprivileged: rep.After.Unprivileged(),
				DropErr:      rep.DropErr, OldSocketOK: rep.OldSocketOK, NewSocketErr: rep.NewSocketErr,
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s\nbefore: %v\nafter:  %v", diff, rep.Before, rep.After)
			}
			if rep.After.Threads < 5 {
				t.Errorf("child had %d threads; the test wants several to prove every thread drops", rep.After.Threads)
			}
			for i := range rep.After.UIDs {
				if rep.After.UIDs[i] != got.UID || rep.After.GIDs[i] != got.GID {
					t.Errorf("ids after Drop: uid %v gid %v, want all %d/%d", rep.After.UIDs, rep.After.GIDs, got.UID, got.GID)
					break
				}
			}
		})
	}
}

// TestTarget is the choice of user for a root process, without root.
func TestTarget(t *testing.T) {
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65000:65001:nobody:/nonexistent:/usr/sbin/nologin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	type ids struct {
		UID, GID int
		Err      bool
	}
	tests := []struct {
		name   string
		env    map[string]string
		passwd string
		want   ids
	}{
		{"sudo", map[string]string{"SUDO_UID": "1000", "SUDO_GID": "1001"}, passwd, ids{1000, 1001, false}},
		{"no-sudo", nil, passwd, ids{65000, 65001, false}},
		{"sudo-by-root", map[string]string{"SUDO_UID": "0", "SUDO_GID": "0"}, passwd, ids{65000, 65001, false}},
		{"no-passwd", nil, filepath.Join(dir, "missing"), ids{Nobody, Nobody, false}},
		{"bad-sudo-uid", map[string]string{"SUDO_UID": "alice", "SUDO_GID": "1"}, passwd, ids{0, 0, true}},
		{"bad-sudo-gid", map[string]string{"SUDO_UID": "1000", "SUDO_GID": ""}, passwd, ids{0, 0, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uid, gid, err := target(Options{Getenv: func(k string) string { return tt.env[k] }, Passwd: tt.passwd})
			if diff := cmp.Diff(tt.want, ids{uid, gid, err != nil}); diff != "" {
				t.Errorf("(-want +got)\n%s\nerr: %v", diff, err)
			}
		})
	}
}

// TestStatus reads this process's own state.
func TestStatus(t *testing.T) {
	st, err := Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Threads < 1 || st.UIDs[0] != os.Getuid() || st.GIDs[0] != os.Getgid() {
		t.Errorf("Status() = %v; uid %d gid %d", st, os.Getuid(), os.Getgid())
	}
}
