package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// force makes ip -batch go on past failing lines.
var force = []string{"-force"}

// removeStale deletes lab namespaces whose owning process no longer exists, after
// killing (by pid) the processes a killed run left inside them, such as a tcpdump that
// dropped its privileges and with them its parent-death signal.
func removeStale() error { return removeStaleMatching(labName) }

// removeStaleMatching deletes the namespaces whose names match name (its
// first group the owning process's pid) and whose owner is gone, after
// killing the processes left in them.
func removeStaleMatching(name *regexp.Regexp) error {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var batch []string
	for _, e := range entries {
		m := name.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() || !processGone(pid) {
			continue
		}
		if out, err := exec.Command("ip", "netns", "pids", e.Name()).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if p, err := strconv.Atoi(f); err == nil && p > 1 {
					_ = unix.Kill(p, unix.SIGKILL)
				}
			}
		}
		batch = append(batch, "netns delete "+e.Name())
	}
	if len(batch) == 0 {
		return nil
	}
	return ipBatch("", force, batch)
}

// processGone reports whether pid names no process, or a zombie nobody reaped yet.
func processGone(pid int) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) state ...: comm may hold spaces and parentheses, the state follows
	// the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	switch stat[i+2] {
	case 'Z', 'X':
		return true
	}
	return false
}

// ipBatch runs `ip [-n ns] [opts] -batch -` with lines on stdin.
func ipBatch(ns string, opts []string, lines []string) error {
	var args []string
	if ns != "" {
		args = append(args, "-n", ns)
	}
	args = append(append(args, opts...), "-batch", "-")
	_, err := run(strings.Join(lines, "\n")+"\n", false, "ip", args...)
	return err
}

// run runs name with args and stdin, bounded by ExecTimeout, and returns its stdout
// (with stderr mixed in when combined); the error carries the output or stderr.
func run(stdin string, combined bool, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = time.Second
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if combined {
		cmd.Stderr = &out
	}
	if err := cmd.Run(); err != nil {
		msg := stderr.Bytes()
		if combined {
			msg = out.Bytes()
		}
		return out.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(msg))
	}
	return out.Bytes(), nil
}

// Exec runs a command inside namespace ns (ip netns exec), bounded by ExecTimeout, and
// returns its combined output; the error includes the output.
func (l *Lab) Exec(ns string, args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("lab: Exec needs a command")
	}
	out, err := run("", true, "ip", append([]string{"netns", "exec", ns}, args...)...)
	if err != nil {
		return string(out), fmt.Errorf("lab: in %s: %w", ns, err)
	}
	return string(out), nil
}

// Command returns an *exec.Cmd that runs name inside ns (not started), for callers that
// need stdout and stderr apart. The lab kills it on cleanup if it is still running, and
// the kernel kills it (SIGKILL as parent-death signal) if the test process dies first.
func (l *Lab) Command(ctx context.Context, ns string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	l.mu.Lock()
	l.cmds = append(l.cmds, cmd)
	l.mu.Unlock()
	return cmd
}

// Do runs fn on a locked OS thread switched into namespace ns and restores the thread
// afterwards; if restoring fails the thread is never unlocked, so the runtime ends it.
// Sockets and devices fn creates belong to ns and may be used from any thread later.
// fn must not start goroutines that expect to be in ns.
func (l *Lab) Do(ns string, fn func() error) error {
	target, err := netns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("lab: opening namespace %s: %w", ns, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: reading the thread's namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: entering namespace %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			errc <- errors.Join(ferr, fmt.Errorf("lab: restoring the thread's namespace after %s: %w", ns, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
