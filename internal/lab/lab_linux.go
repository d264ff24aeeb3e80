package lab

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// ExecTimeout bounds every command Exec runs.
const ExecTimeout = 30 * time.Second

// netnsDir is where `ip netns` keeps its named namespaces.
const netnsDir = "/run/netns"

// labName matches the namespace names of every lab: <kind>-<pid>-<random>-<c|r|s>,
// kind tpl for tests (New) and tps for tcpprobe selftest (Build).
var labName = regexp.MustCompile(`^tp[ls]-([0-9]+)-[0-9a-f]+-[crs]$`)

// Build builds a lab whose namespaces are named <kind>-<pid>-<random>-c/r/s
// and returns it; the caller must Close it. A lab that fails half-way is
// removed before Build returns. It first removes namespaces of labs whose
// owning process is gone.
func Build(kind string) (*Lab, error) {
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("lab: %s not found in PATH (install iproute2 and nftables): %v", tool, err)
		}
	}
	start := time.Now()
	// A stale lab is in the way of nothing; failing to remove one is not
	// a reason to fail this one.
	_ = removeStale()
	var r [2]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("lab: random prefix: %v", err)
	}
	prefix := fmt.Sprintf("%s-%d-%04x", kind, os.Getpid(), binary.BigEndian.Uint16(r[:]))
	l := &Lab{
		Prefix: prefix,
		Client: prefix + "-c",
		Router: prefix + "-r",
		Server: prefix + "-s",
	}
	if err := l.build(); err != nil {
		if cerr := l.close(); cerr != nil {
			err = fmt.Errorf("%w (and removing it: %v)", err, cerr)
		}
		return nil, fmt.Errorf("lab: building %s: %w", prefix, err)
	}
	l.BuildTime = time.Since(start)
	return l, nil
}

// Close stops everything the lab started and deletes its namespaces.
func (l *Lab) Close() error { return l.close() }

// build creates the namespaces, links, addresses, routes, rules, listeners and the
// delayer of the plan.
func (l *Lab) build() error {
	if err := ipBatch("", nil, []string{
		"netns add " + l.Client, "netns add " + l.Router, "netns add " + l.Server,
	}); err != nil {
		return err
	}
	// Sysctls that new interfaces inherit must be set before the links exist.
	for _, ns := range []string{l.Client, l.Router, l.Server} {
		kv := commonSysctls
		if ns == l.Router {
			kv = append(append([]string(nil), kv...), routerSysctls...)
		}
		if err := l.sysctl(ns, kv...); err != nil {
			return err
		}
	}
	d, err := l.openDelayer()
	if err != nil {
		return err
	}
	l.delay = d
	if err := ipBatch(l.Router, nil, l.routerLines()); err != nil {
		return err
	}
	if err := ipBatch(l.Router, []string{"-6"}, routerRules6()); err != nil {
		return err
	}
	if err := ipBatch(l.Client, nil, clientLines()); err != nil {
		return err
	}
	if err := ipBatch(l.Server, nil, serverLines()); err != nil {
		return err
	}
	if err := l.sysctl(l.Router,
		"net.ipv4.conf."+DelayIf+".rp_filter=0",
		"net.ipv4.conf."+DelayIf+".accept_local=1",
	); err != nil {
		return err
	}
	if _, err := run(nftRuleset(), false, "ip", "netns", "exec", l.Router, "nft", "-f", "-"); err != nil {
		return err
	}
	if err := l.listen(); err != nil {
		return err
	}
	l.delay.start(&l.wg)
	return nil
}

// commonSysctls are set in every namespace: no ICMP rate limits (lab-notes), no
// reverse-path filter, no DAD.
var commonSysctls = []string{
	"net.ipv4.icmp_ratelimit=0",
	"net.ipv4.icmp_ratemask=0",
	"net.ipv4.icmp_msgs_per_sec=1000000",
	"net.ipv4.icmp_msgs_burst=1000000",
	"net.ipv6.icmp.ratelimit=0",
	"net.ipv4.conf.all.rp_filter=0",
	"net.ipv4.conf.default.rp_filter=0",
	"net.ipv6.conf.all.accept_dad=0",
	"net.ipv6.conf.default.accept_dad=0",
}

// routerSysctls turn on forwarding in the router.
var routerSysctls = []string{
	"net.ipv4.ip_forward=1",
	"net.ipv6.conf.all.forwarding=1",
	"net.ipv6.conf.default.forwarding=1",
}

// sysctl writes key=value pairs under /proc/sys from a thread inside ns.
func (l *Lab) sysctl(ns string, kv ...string) error {
	return l.Do(ns, func() error {
		for _, s := range kv {
			k, v, _ := strings.Cut(s, "=")
			p := filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				return fmt.Errorf("sysctl %s in %s: %w", s, ns, err)
			}
		}
		return nil
	})
}

// delayTable is the router's routing table that sends packets into the delayer.
const delayTable = "100"

func (l *Lab) routerLines() []string {
	lines := []string{
		"link set lo up",
		fmt.Sprintf("link add %s address %s type veth peer name %s address %s netns %s",
			RouterIfC, RouterMACC, ClientIf, ClientMAC, l.Client),
		fmt.Sprintf("link add %s address %s type veth peer name %s address %s netns %s",
			RouterIfS, RouterMACS, ServerIf, ServerMAC, l.Server),
		"link set " + RouterIfC + " up",
		"link set " + RouterIfS + " up",
		"link set " + DelayIf + " addrgenmode none",
		"link set " + DelayIf + " up",
		"addr add " + IfAddr(RouterV4C) + " dev " + RouterIfC,
		"addr add " + IfAddr(RouterV6C) + " dev " + RouterIfC + " nodad",
		"addr add " + IfAddr(RouterV4S) + " dev " + RouterIfS,
		"addr add " + IfAddr(RouterV6S) + " dev " + RouterIfS + " nodad",
		"route add unreachable " + Net(RouterUnreachV4).String(),
		"route add prohibit " + Net(RouterProhibitV4).String(),
		"route add blackhole " + Net(RouterBlackholeV4).String(),
		"route add unreachable " + Net(RouterUnreachV6).String(),
		"route add prohibit " + Net(RouterProhibitV6).String(),
		"route add blackhole " + Net(RouterBlackholeV6).String(),
		// The delayer: client-to-server packets for PortDelay, and the router's own
		// ICMP towards the client, go through the TUN device and come back later.
		"route add 0.0.0.0/0 dev " + DelayIf + " src " + RouterV4C.String() + " table " + delayTable,
		"route add ::/0 dev " + DelayIf + " src " + RouterV6C.String() + " table " + delayTable,
		fmt.Sprintf("rule add pref 100 iif %s ipproto 6 dport %d lookup %s", RouterIfC, PortDelay, delayTable),
		"rule add pref 101 to " + Net(ClientV4).String() + " iif lo ipproto 1 lookup " + delayTable,
		// The router's own neighbours stay resolved for the life of the lab.
		fmt.Sprintf("neigh replace %s lladdr %s dev %s nud permanent", ClientV4, ClientMAC, RouterIfC),
		fmt.Sprintf("neigh replace %s lladdr %s dev %s nud permanent", ClientV6, ClientMAC, RouterIfC),
		fmt.Sprintf("neigh replace %s lladdr %s dev %s nud permanent", ServerV4, ServerMAC, RouterIfS),
		fmt.Sprintf("neigh replace %s lladdr %s dev %s nud permanent", ServerV6, ServerMAC, RouterIfS),
	}
	return lines
}

// routerRules6 are the IPv6 twins of the delayer's rules (an ip batch line cannot
// choose the family of a rule).
func routerRules6() []string {
	return []string{
		fmt.Sprintf("rule add pref 100 iif %s ipproto 6 dport %d lookup %s", RouterIfC, PortDelay, delayTable),
		"rule add pref 101 to " + Net(ClientV6).String() + " iif lo ipproto 58 lookup " + delayTable,
	}
}

func clientLines() []string {
	lines := []string{
		"link set lo up",
		"link set " + ClientIf + " up",
		"addr add " + IfAddr(ClientV4) + " dev " + ClientIf,
		"addr add " + IfAddr(ClientV6) + " dev " + ClientIf + " nodad",
	}
	// Everything behind the router: the server's link and the router's
	// special routes.
	for _, dst := range []netip.Addr{ServerV4, RouterUnreachV4, RouterProhibitV4, RouterBlackholeV4, RouterNoRouteV4} {
		lines = append(lines, fmt.Sprintf("route add %s via %s dev %s", Net(dst), RouterV4C, ClientIf))
	}
	for _, dst := range []netip.Addr{ServerV6, RouterUnreachV6, RouterProhibitV6, RouterBlackholeV6, RouterNoRouteV6} {
		lines = append(lines, fmt.Sprintf("route add %s via %s dev %s", Net(dst), RouterV6C, ClientIf))
	}
	return append(lines,
		"route add unreachable "+Net(ClientUnreachV4).String(),
		"route add prohibit "+Net(ClientProhibitV4).String(),
		"route add blackhole "+Net(ClientBlackholeV4).String(),
		"route add unreachable "+Net(ClientUnreachV6).String(),
		"route add prohibit "+Net(ClientProhibitV6).String(),
		"route add blackhole "+Net(ClientBlackholeV6).String(),
		fmt.Sprintf("neigh replace %s lladdr %s dev %s nud reachable", RouterV4C, RouterMACC, ClientIf),
		fmt.Sprintf("neigh replace %s lladdr %s dev %s nud reachable", RouterV6C, RouterMACC, ClientIf),
	)
}

func serverLines() []string {
	return []string{
		"link set lo up",
		"link set " + ServerIf + " up",
		"addr add " + IfAddr(ServerV4) + " dev " + ServerIf,
		"addr add " + IfAddr(ServerV6) + " dev " + ServerIf + " nodad",
		fmt.Sprintf("route add %s via %s dev %s", Net(ClientV4), RouterV4S, ServerIf),
		fmt.Sprintf("route add %s via %s dev %s", Net(ClientV6), RouterV6S, ServerIf),
		fmt.Sprintf("neigh replace %s lladdr %s dev %s nud reachable", RouterV4S, RouterMACS, ServerIf),
		fmt.Sprintf("neigh replace %s lladdr %s dev %s nud reachable", RouterV6S, RouterMACS, ServerIf),
	}
}

// listen starts the server's listeners and their accept loops, which close every
// connection at once.
func (l *Lab) listen() error {
	return l.Do(l.Server, func() error {
		for _, p := range ListenPorts {
			for _, a := range []netip.Addr{ServerV4, ServerV6} {
				network := "tcp4"
				if a.Is6() {
					network = "tcp6"
				}
				ln, err := net.Listen(network, netip.AddrPortFrom(a, p).String())
				if err != nil {
					return fmt.Errorf("listen on %s port %d in %s: %w", a, p, l.Server, err)
				}
				l.listeners = append(l.listeners, ln)
				l.wg.Add(1)
				go func() {
					defer l.wg.Done()
					for {
						c, err := ln.Accept()
						if err != nil {
							return // closed on cleanup
						}
						c.Close()
					}
				}()
			}
		}
		return nil
	})
}

// close stops everything the lab started and deletes its namespaces. It is safe on a
// partly built lab.
func (l *Lab) close() error {
	l.mu.Lock()
	cmds := l.cmds
	l.cmds = nil
	l.mu.Unlock()
	for _, c := range cmds {
		if c.Process != nil {
			_ = c.Process.Kill() // ErrProcessDone when it already ended
		}
	}
	for _, ln := range l.listeners {
		ln.Close()
	}
	if l.delay != nil {
		l.delay.stop()
	}
	l.wg.Wait()
	var lines []string
	for _, ns := range []string{l.Client, l.Router, l.Server} {
		if _, err := os.Stat(filepath.Join(netnsDir, ns)); err == nil {
			lines = append(lines, "netns delete "+ns)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return ipBatch("", force, lines)
}

// FlushNeighbors flushes the router's neighbour entries for NeighFailRouterV4/V6 and the
// client's for NeighFailClientV4/V6, so the next probe sees a full resolution (a probe
// joining a resolution in progress gets its ICMP early).
func (l *Lab) FlushNeighbors() error {
	if err := ipBatch(l.Router, nil, []string{
		"neigh flush to " + NeighFailRouterV4.String(),
		"neigh flush to " + NeighFailRouterV6.String(),
	}); err != nil {
		return fmt.Errorf("lab: flushing router neighbours: %w", err)
	}
	if err := ipBatch(l.Client, nil, []string{
		"neigh flush to " + NeighFailClientV4.String(),
		"neigh flush to " + NeighFailClientV6.String(),
	}); err != nil {
		return fmt.Errorf("lab: flushing client neighbours: %w", err)
	}
	return nil
}
