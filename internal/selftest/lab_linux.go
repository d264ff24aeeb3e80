package selftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Prefix is the start of every namespace name the self-test creates.
const Prefix = "tps-"

// cmdTimeout bounds every ip/nft command.
const cmdTimeout = 20 * time.Second

var nsName = regexp.MustCompile(`^tps-([0-9]+)-[crs]$`)

// lab is one self-test lab.
type lab struct {
	prefix                 string
	client, router, server string
	listeners              []net.Listener
}

// Run builds the lab, probes every Case with the tcpprobe binary exe inside
// the client namespace, prints expected vs seen to w and removes the lab.
// It returns ErrMismatch when some class was not as expected, an
// *EnvError when the host cannot run it, ctx.Err() when interrupted.
func Run(ctx context.Context, exe string, w io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return &EnvError{Err: errors.New("selftest needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to build network namespaces: run sudo tcpprobe selftest")}
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return &EnvError{Err: fmt.Errorf("selftest needs %s in PATH: install iproute2 and nftables", tool)}
		}
	}
	removeStale()
	p := fmt.Sprintf("%s%d", Prefix, os.Getpid())
	l := &lab{prefix: p, client: p + "-c", router: p + "-r", server: p + "-s"}
	defer func() {
		if cerr := l.remove(); cerr != nil && err == nil {
			err = cerr
		}
		if err == nil || errors.Is(err, ErrMismatch) {
			fmt.Fprintf(w, "lab %s-* removed\n", l.prefix)
		}
	}()
	fmt.Fprintf(w, "building lab %s-{c,r,s}: client 198.18.1.2 fd00:1::2 — router — server 198.18.2.2 fd00:2::2\n", p)
	if err := l.build(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &EnvError{Err: fmt.Errorf("selftest: building the lab: %w", err)}
	}
	targets := make([]string, 0, len(Cases))
	for _, c := range Cases {
		targets = append(targets, c.Target)
	}
	args := append([]string{"netns", "exec", l.client, exe}, ProbeArgs...)
	args = append(args, targets...)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(pctx, "ip", args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	fmt.Fprintf(w, "probing in %s: tcpprobe %s %s\n", l.client, strings.Join(ProbeArgs, " "), strings.Join(targets, " "))
	rerr := cmd.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *exec.ExitError
	// tcpprobe exits 1 when some probe missed its --expect; the table
	// below says which.
	if rerr != nil && !(errors.As(rerr, &ee) && ee.ExitCode() == 1) {
		return fmt.Errorf("selftest: running tcpprobe in the lab: %v\n%s", rerr, stderr.Bytes())
	}
	return Compare(w, out.Bytes())
}

// build creates the namespaces, links, addresses, routes, firewall rules
// and the server's listener.
func (l *lab) build(ctx context.Context) error {
	for _, ns := range []string{l.client, l.router, l.server} {
		if err := run(ctx, "ip", "netns", "add", ns); err != nil {
			return err
		}
		if err := sysctl(ns, "net/ipv6/conf/all/accept_dad=0", "net/ipv6/conf/default/accept_dad=0",
			"net/ipv4/icmp_ratelimit=0", "net/ipv6/icmp/ratelimit=0",
			"net/ipv4/conf/all/rp_filter=0", "net/ipv4/conf/default/rp_filter=0"); err != nil {
			return err
		}
	}
	if err := sysctl(l.router, "net/ipv4/ip_forward=1", "net/ipv6/conf/all/forwarding=1"); err != nil {
		return err
	}
	steps := [][]string{
		{"-n", l.client, "link", "add", "c0", "type", "veth", "peer", "name", "r0", "netns", l.router},
		{"-n", l.router, "link", "add", "r1", "type", "veth", "peer", "name", "s0", "netns", l.server},
		{"-n", l.client, "addr", "add", "198.18.1.2/24", "dev", "c0"},
		{"-n", l.client, "addr", "add", "fd00:1::2/64", "dev", "c0", "nodad"},
		{"-n", l.router, "addr", "add", "198.18.1.1/24", "dev", "r0"},
		{"-n", l.router, "addr", "add", "fd00:1::1/64", "dev", "r0", "nodad"},
		{"-n", l.router, "addr", "add", "198.18.2.1/24", "dev", "r1"},
		{"-n", l.router, "addr", "add", "fd00:2::1/64", "dev", "r1", "nodad"},
		{"-n", l.server, "addr", "add", "198.18.2.2/24", "dev", "s0"},
		{"-n", l.server, "addr", "add", "fd00:2::2/64", "dev", "s0", "nodad"},
		{"-n", l.client, "link", "set", "lo", "up"},
		{"-n", l.router, "link", "set", "lo", "up"},
		{"-n", l.server, "link", "set", "lo", "up"},
		{"-n", l.client, "link", "set", "c0", "up"},
		{"-n", l.router, "link", "set", "r0", "up"},
		{"-n", l.router, "link", "set", "r1", "up"},
		{"-n", l.server, "link", "set", "s0", "up"},
		{"-n", l.client, "route", "add", "198.18.2.0/24", "via", "198.18.1.1"},
		{"-n", l.client, "-6", "route", "add", "fd00:2::/64", "via", "fd00:1::1"},
		{"-n", l.client, "route", "add", "unreachable", "198.18.20.0/24"},
		{"-n", l.client, "-6", "route", "add", "unreachable", "fd00:20::/64"},
		{"-n", l.server, "route", "add", "198.18.1.0/24", "via", "198.18.2.1"},
		{"-n", l.server, "-6", "route", "add", "fd00:1::/64", "via", "fd00:2::1"},
	}
	for _, s := range steps {
		if err := run(ctx, "ip", s...); err != nil {
			return err
		}
	}
	rules := `table inet tps {
  chain scenarios {
    type filter hook forward priority 0; policy accept;
    ip daddr 198.18.2.2 tcp dport 82 reject with icmp type host-unreachable
    ip6 daddr fd00:2::2 tcp dport 82 reject with icmpv6 type addr-unreachable
    tcp dport 87 drop
  }
}
`
	if err := runIn(ctx, strings.NewReader(rules), "ip", "netns", "exec", l.router, "nft", "-f", "-"); err != nil {
		return err
	}
	for _, a := range []string{"198.18.2.2:80", "[fd00:2::2]:80"} {
		var ln net.Listener
		err := inNS(l.server, func() error {
			var err error
			ln, err = net.Listen("tcp", a)
			return err
		})
		if err != nil {
			return fmt.Errorf("listening on %s in %s: %w", a, l.server, err)
		}
		l.listeners = append(l.listeners, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	return l.waitUp(ctx)
}

// waitUp waits, at most 5 s, until every link reports carrier.
func (l *lab) waitUp(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for _, nd := range [][2]string{{l.client, "c0"}, {l.router, "r0"}, {l.router, "r1"}, {l.server, "s0"}} {
		for {
			out, err := exec.CommandContext(ctx, "ip", "-n", nd[0], "-o", "link", "show", nd[1]).Output()
			if err == nil && bytes.Contains(out, []byte("state UP")) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s in %s did not come up within 5 s", nd[1], nd[0])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// remove closes the listeners and deletes the namespaces.
func (l *lab) remove() error {
	for _, ln := range l.listeners {
		ln.Close()
	}
	var errs []error
	for _, ns := range []string{l.client, l.router, l.server} {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := run(context.Background(), "ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("selftest: removing the lab (remove by hand with ip netns del %s-c ...): %w", l.prefix, errors.Join(errs...))
	}
	return nil
}

// removeStale deletes tps- namespaces whose owning process is gone.
func removeStale() {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		m := nsName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			_ = run(context.Background(), "ip", "netns", "del", e.Name())
		}
	}
}

func run(ctx context.Context, name string, args ...string) error {
	return runIn(ctx, nil, name, args...)
}

// runIn runs one command, bounded by cmdTimeout, with stdin.
func runIn(ctx context.Context, stdin io.Reader, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// sysctl writes key=value pairs (slash-separated keys under /proc/sys)
// from a thread inside ns.
func sysctl(ns string, kv ...string) error {
	return inNS(ns, func() error {
		for _, s := range kv {
			k, v, _ := strings.Cut(s, "=")
			if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
				return fmt.Errorf("sysctl %s in %s: %w", s, ns, err)
			}
		}
		return nil
	})
}

// inNS runs fn on a locked OS thread inside the named namespace. When the
// thread cannot be moved back it stays locked, so Go retires it.
func inNS(name string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := netns.GetFromName(name)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering %s: %w", name, err)
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		return fmt.Errorf("leaving %s: %w", name, err) // thread stays locked and dies
	}
	runtime.UnlockOSThread()
	return ferr
}
