package privilege

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Drop gives up privilege for good. A process with a root uid switches
// every thread to SUDO_UID/SUDO_GID when sudo started it for another user,
// else to nobody, with no supplementary groups; then every thread's
// capabilities are cleared (effective, permitted, inheritable; ambient
// ones go with them) and no_new_privs is set. Sockets opened before stay
// usable. It checks the result in /proc and fails, saying what is still
// held, if any thread kept a root id or a capability.
func Drop(opts Options) error {
	if os.Getuid() == 0 || os.Geteuid() == 0 {
		uid, gid, err := target(opts)
		if err != nil {
			return err
		}
		// Go applies these to every thread (since Go 1.16; through libc
		// with cgo). Leaving root ids clears permitted and effective
		// capabilities too (capabilities(7), "Effect of user ID changes").
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("privilege: dropping supplementary groups: %w", err)
		}
		if err := syscall.Setresgid(gid, gid, gid); err != nil {
			return fmt.Errorf("privilege: switching to gid %d: %w", gid, err)
		}
		if err := syscall.Setresuid(uid, uid, uid); err != nil {
			return fmt.Errorf("privilege: switching to uid %d: %w", uid, err)
		}
	}
	threadsErr := allThreads()
	st, err := Status()
	if err != nil {
		return err
	}
	if !st.Unprivileged() {
		if threadsErr != nil {
			return fmt.Errorf("%w; still held: %v", threadsErr, st)
		}
		return fmt.Errorf("privilege: still held after dropping: %v", st)
	}
	return nil
}

// allThreads clears the capability sets and sets no_new_privs on every
// thread. In a cgo binary it can only do the calling thread and returns
// ErrThreads.
func allThreads() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if e == syscall.ENOTSUP {
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return fmt.Errorf("privilege: clearing capabilities: %w", err)
		}
		_ = unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
		return ErrThreads
	}
	if e != 0 {
		return fmt.Errorf("privilege: clearing capabilities: %w", e)
	}
	if _, _, e := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
		return fmt.Errorf("privilege: setting no_new_privs: %w", e)
	}
	return nil
}

// target is the uid and gid a root process becomes.
func target(opts Options) (uid, gid int, err error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if su, sg := getenv("SUDO_UID"), getenv("SUDO_GID"); su != "" {
		uid, err := strconv.Atoi(su)
		if err != nil || uid < 0 {
			return 0, 0, fmt.Errorf("privilege: SUDO_UID=%q is not a user id", su)
		}
		gid, err := strconv.Atoi(sg)
		if err != nil || gid < 0 {
			return 0, 0, fmt.Errorf("privilege: SUDO_GID=%q is not a group id (SUDO_UID=%s)", sg, su)
		}
		if uid != 0 && gid != 0 {
			return uid, gid, nil
		}
		// sudo run by root itself: fall through to nobody.
	}
	passwd := opts.Passwd
	if passwd == "" {
		passwd = "/etc/passwd"
	}
	if uid, gid, ok := lookupPasswd(passwd, "nobody"); ok && uid != 0 && gid != 0 {
		return uid, gid, nil
	}
	return Nobody, Nobody, nil
}

// lookupPasswd finds name in a passwd(5) file without cgo.
func lookupPasswd(path, name string) (uid, gid int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || f[0] != name {
			continue
		}
		u, err1 := strconv.Atoi(f[2])
		g, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		return u, g, true
	}
	return 0, 0, false
}

// Status reads what every thread of the process holds from
// /proc/self/task/*/status.
func Status() (State, error) {
	return StatusOf("/proc/self")
}

// StatusOf is Status for another process: proc is its /proc/<pid>.
func StatusOf(proc string) (State, error) {
	tasks, err := filepath.Glob(filepath.Join(proc, "task", "*", "status"))
	if err != nil || len(tasks) == 0 {
		return State{}, fmt.Errorf("privilege: no threads under %s/task: %v", proc, err)
	}
	st := State{NoNewPrivs: true}
	for i, path := range tasks {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread ended
		}
		if err != nil {
			return State{}, fmt.Errorf("privilege: %w", err)
		}
		var t State
		var nnp bool
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch k {
			case "Uid", "Gid":
				ids := &t.UIDs
				if k == "Gid" {
					ids = &t.GIDs
				}
				for j, f := range strings.Fields(v) {
					if j < 4 {
						ids[j], _ = strconv.Atoi(f)
					}
				}
			case "CapEff", "CapPrm", "CapAmb":
				n, err := strconv.ParseUint(v, 16, 64)
				if err != nil {
					return State{}, fmt.Errorf("privilege: %s in %s: %q", k, path, v)
				}
				switch k {
				case "CapEff":
					t.CapEff = n
				case "CapPrm":
					t.CapPrm = n
				default:
					t.CapAmb = n
				}
			case "NoNewPrivs":
				nnp = v == "1"
			}
		}
		if i == 0 {
			st.UIDs, st.GIDs = t.UIDs, t.GIDs
		} else if t.UIDs != st.UIDs || t.GIDs != st.GIDs {
			return State{}, fmt.Errorf("privilege: threads disagree on their ids: %v/%v and %v/%v (%s)", st.UIDs, st.GIDs, t.UIDs, t.GIDs, path)
		}
		st.CapEff |= t.CapEff
		st.CapPrm |= t.CapPrm
		st.CapAmb |= t.CapAmb
		st.NoNewPrivs = st.NoNewPrivs && nnp
		st.Threads++
	}
	return st, nil
}
