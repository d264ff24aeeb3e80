package lab

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"

	"golang.org/x/sys/unix"
)

// KindChain is the first part of a chain lab's namespace names.
const KindChain = "tpt"

// chainName matches the namespace names of every chain lab.
var chainName = regexp.MustCompile(`^tpt-([0-9]+)-[0-9a-f]+-[a-z0-9]+$`)

// Chain is the trace lab of the plan in chain.go: a client, router
// positions R1, R2, R3a|R3b (ECMP at R2), R4, a server and a syncookie
// server, each in its own namespace. Its methods are safe for concurrent
// use.
type Chain struct {
	// Prefix is the common prefix of the namespace names, "tpt-<pid>-<random>".
	Prefix string
	// Client, Server and Cookie are namespace names.
	Client, Server, Cookie string
	// Routers are the router namespaces: R1, R2, R3a, R3b, R4.
	Routers []string

	ns *Lab // runs commands in namespaces (Do, Exec, Command)

	mu        sync.Mutex
	listeners []net.Listener
	fds       []int // raw sockets: backlog-1 listeners, accepted connections
	queues    map[queueKey]int
	conns     []net.Conn // connections that fill the accept queue
	wg        sync.WaitGroup
}

// chainLink is one veth pair of the plan.
type chainLink struct {
	a, aIf, b, bIf string // namespace role and interface at each end
	net4, net6     string // "198.18.40", "fd00:40"
	aHost, bHost   int    // host numbers of each end
}

// Roles of the chain's namespaces (the last part of their names).
const (
	roleClient = "c"
	roleR1     = "r1"
	roleR2     = "r2"
	roleR3a    = "r3a"
	roleR3b    = "r3b"
	roleR4     = "r4"
	roleServer = "s"
	roleCookie = "k"
)

var chainLinks = []chainLink{
	{roleClient, "c0", roleR1, "a0", "198.18.40", "fd00:40", 2, 1},
	{roleR1, "b0", roleR2, "a0", "198.18.41", "fd00:41", 1, 2},
	{roleR2, "ba", roleR3a, "a0", "198.18.42", "fd00:42", 1, 2},
	{roleR2, "bb", roleR3b, "a0", "198.18.52", "fd00:52", 1, 2},
	{roleR3a, "b0", roleR4, "aa", "198.18.43", "fd00:43", 1, 2},
	{roleR3b, "b0", roleR4, "ab", "198.18.53", "fd00:53", 1, 2},
	{roleR4, "b0", roleServer, "s0", "198.18.44", "fd00:44", 1, 2},
	{roleR4, "bk", roleCookie, "k0", "198.18.46", "fd00:46", 1, 2},
}

// chainRoutes are each namespace's routes (both families, via gateways).
var chainRoutes = map[string][]string{
	roleClient: {"198.18.32.0/19 via 198.18.40.1", "fd00::/16 via fd00:40::1"},
	roleR1:     {"198.18.32.0/19 via 198.18.41.2", "fd00::/16 via fd00:41::2"},
	roleR2: {
		"198.18.40.0/24 via 198.18.41.1", "fd00:40::/64 via fd00:41::1",
		"198.18.32.0/19 nexthop via 198.18.42.2 dev ba nexthop via 198.18.52.2 dev bb",
		"fd00::/16 nexthop via fd00:42::2 dev ba nexthop via fd00:52::2 dev bb",
	},
	roleR3a: {
		"198.18.40.0/23 via 198.18.42.1", "fd00:40::/64 via fd00:42::1", "fd00:41::/64 via fd00:42::1",
		"198.18.32.0/19 via 198.18.43.2", "fd00::/16 via fd00:43::2",
	},
	roleR3b: {
		"198.18.40.0/23 via 198.18.52.1", "fd00:40::/64 via fd00:52::1", "fd00:41::/64 via fd00:52::1",
		"198.18.32.0/19 via 198.18.53.2", "fd00::/16 via fd00:53::2",
	},
	roleR4: {
		"198.18.32.0/19 via 198.18.43.1 dev aa", "fd00::/16 via fd00:43::1 dev aa",
		"198.18.45.0/24 via 198.18.44.2", "fd00:45::/64 via fd00:44::2",
	},
	roleServer: {"198.18.32.0/19 via 198.18.44.1", "fd00::/16 via fd00:44::1"},
	roleCookie: {"198.18.32.0/19 via 198.18.46.1", "fd00::/16 via fd00:46::1"},
}

// chainPosition maps a router role to its hop.
var chainPosition = map[string]int{roleR1: 1, roleR2: 2, roleR3a: 3, roleR3b: 3, roleR4: 4}

// BuildChain builds the chain lab; the caller must Close it. A lab that fails
// half-way is removed before BuildChain returns. It first removes the
// namespaces of chain labs whose owning process is gone.
func BuildChain() (*Chain, error) {
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("lab: %s not found in PATH (install iproute2 and nftables): %v", tool, err)
		}
	}
	_ = removeStaleChains()
	var r [2]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("lab: random prefix: %v", err)
	}
	prefix := fmt.Sprintf("%s-%d-%04x", KindChain, os.Getpid(), binary.BigEndian.Uint16(r[:]))
	c := &Chain{Prefix: prefix, ns: &Lab{Prefix: prefix}, queues: map[queueKey]int{}}
	c.Client, c.Server, c.Cookie = c.name(roleClient), c.name(roleServer), c.name(roleCookie)
	for _, role := range []string{roleR1, roleR2, roleR3a, roleR3b, roleR4} {
		c.Routers = append(c.Routers, c.name(role))
	}
	if err := c.build(); err != nil {
		if cerr := c.Close(); cerr != nil {
			err = fmt.Errorf("%w (and removing it: %v)", err, cerr)
		}
		return nil, fmt.Errorf("lab: building chain %s: %w", prefix, err)
	}
	return c, nil
}

func (c *Chain) name(role string) string { return c.Prefix + "-" + role }

// roles lists every namespace role.
func chainRoles() []string {
	return []string{roleClient, roleR1, roleR2, roleR3a, roleR3b, roleR4, roleServer, roleCookie}
}

func isRouter(role string) bool { _, ok := chainPosition[role]; return ok }

func (c *Chain) build() error {
	var add []string
	for _, role := range chainRoles() {
		add = append(add, "netns add "+c.name(role))
	}
	if err := ipBatch("", nil, add); err != nil {
		return err
	}
	for _, role := range chainRoles() {
		kv := commonSysctls
		if isRouter(role) {
			kv = append(append([]string(nil), kv...), routerSysctls...)
		}
		switch role {
		case roleR2:
			kv = append(kv, "net.ipv4.fib_multipath_hash_policy=1", "net.ipv6.fib_multipath_hash_policy=1")
		case roleCookie:
			kv = append(kv, "net.ipv4.tcp_syncookies=2")
		}
		if err := c.ns.sysctl(c.name(role), kv...); err != nil {
			return err
		}
	}
	lines := map[string][]string{}
	for _, role := range chainRoles() {
		lines[role] = []string{"link set lo up"}
	}
	for _, k := range chainLinks {
		lines[k.a] = append(lines[k.a],
			fmt.Sprintf("link add %s type veth peer name %s netns %s", k.aIf, k.bIf, c.name(k.b)))
	}
	// Links first (each created from its a end), then addresses and routes.
	for _, role := range chainRoles() {
		if err := ipBatch(c.name(role), nil, lines[role]); err != nil {
			return err
		}
		lines[role] = nil
	}
	for _, k := range chainLinks {
		for _, end := range []struct {
			role, ifc string
			host      int
		}{{k.a, k.aIf, k.aHost}, {k.b, k.bIf, k.bHost}} {
			lines[end.role] = append(lines[end.role],
				"link set "+end.ifc+" up",
				fmt.Sprintf("addr add %s.%d/24 dev %s", k.net4, end.host, end.ifc),
				fmt.Sprintf("addr add %s::%d/64 dev %s nodad", k.net6, end.host, end.ifc))
		}
	}
	lines[roleR2] = append(lines[roleR2],
		"route add "+ChainStatelessOuterV4.String()+"/32 via 198.18.41.1",
		"route add "+ChainStatelessOuterV6.String()+"/128 via fd00:41::1")
	for _, a := range []string{"3", "4", "5"} {
		lines[roleClient] = append(lines[roleClient],
			"addr add 198.18.40."+a+"/24 dev c0", "addr add fd00:40::"+a+"/64 dev c0 nodad preferred_lft 0")
	}
	for hop := 1; hop <= ChainHops; hop++ {
		lines[roleServer] = append(lines[roleServer],
			fmt.Sprintf("addr add %s/32 dev lo", ChainUnreachV4(hop)),
			fmt.Sprintf("addr add %s/128 dev lo", ChainUnreachV6(hop)))
	}
	for role, rts := range chainRoutes {
		for _, r := range rts {
			lines[role] = append(lines[role], "route add "+r)
		}
	}
	for role, hop := range chainPosition {
		lines[role] = append(lines[role],
			fmt.Sprintf("route add unreachable %s/32", ChainUnreachV4(hop)),
			fmt.Sprintf("route add unreachable %s/128", ChainUnreachV6(hop)))
	}
	for _, role := range chainRoles() {
		if err := ipBatch(c.name(role), nil, lines[role]); err != nil {
			return err
		}
	}
	for role, hop := range chainPosition {
		if err := c.nftIn(c.name(role), routerRuleset(role, hop)); err != nil {
			return err
		}
	}
	if err := c.nftIn(c.Server, serverRuleset()); err != nil {
		return err
	}
	return c.listen()
}

func (c *Chain) nftIn(ns, ruleset string) error {
	_, err := run(ruleset, false, "ip", "netns", "exec", ns, "nft", "-f", "-")
	return err
}

// Exec runs a command in namespace ns (ip netns exec), bounded by
// ExecTimeout, and returns its combined output.
func (c *Chain) Exec(ns string, args ...string) (string, error) { return c.ns.Exec(ns, args...) }

// Do runs fn on a thread inside namespace ns; see (*Lab).Do.
func (c *Chain) Do(ns string, fn func() error) error { return c.ns.Do(ns, fn) }

// Command returns a command that runs name in ns, killed at Close if still
// running; see (*Lab).Command.
func (c *Chain) Command(ctx context.Context, ns string, name string, args ...string) *exec.Cmd {
	return c.ns.Command(ctx, ns, name, args...)
}

// Close stops what the chain started and deletes its namespaces; safe on a
// partly built chain.
func (c *Chain) Close() error {
	c.ns.mu.Lock()
	cmds := c.ns.cmds
	c.ns.cmds = nil
	c.ns.mu.Unlock()
	for _, cmd := range cmds {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	}
	c.mu.Lock()
	for _, conn := range c.conns {
		conn.Close()
	}
	for _, ln := range c.listeners {
		ln.Close()
	}
	for _, fd := range c.fds {
		unix.Close(fd)
	}
	c.conns, c.listeners, c.fds = nil, nil, nil
	c.mu.Unlock()
	c.wg.Wait()
	var lines []string
	for _, role := range chainRoles() {
		if _, err := os.Stat(filepath.Join(netnsDir, c.name(role))); err == nil {
			lines = append(lines, "netns delete "+c.name(role))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return ipBatch("", force, lines)
}

// removeStaleChains deletes chain namespaces whose owning process is gone,
// after killing the processes left in them.
func removeStaleChains() error { return removeStaleMatching(chainName) }
