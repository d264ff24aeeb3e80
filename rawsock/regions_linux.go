package rawsock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// A Router answers a sweep of many destinations with one kernel lookup per
// region instead of one per address. A region is what the routing state
// cannot tell apart: every prefix that can make two destinations' routes
// differ is collected (the destinations of every route in every table, of
// every policy rule, and of every interface address, which IPv4 source
// selection matches against), and a destination's region is the longest of
// them that contains it. Two destinations in one region are covered by
// exactly the same routes, rules and address prefixes (prefixes are nested
// or disjoint), so every table, every rule and the source selection treat
// them alike: the kernel's answer for the first is the answer for all, with
// the destination (and, on-link, the next hop) put in. The kernel still
// gives every answer; the Router only knows when two would be the same.
//
// Where that does not hold, lookups stay per address: a family with a
// multipath route (the kernel picks a path by hashing the flow) or a
// route whose next hop the dump cannot show, IPv6 on a host with more than
// one global address (RFC 6724 source selection prefers the longest
// matching prefix with the destination), local destinations (the kernel
// gives each its own address as source), lookups with an outgoing
// interface or a zone, and routing tables too large to read for a run.
// Any change to links, addresses, routes or rules, which the Router hears
// from the kernel's notifications, makes it read the tables again.

const (
	// regionsAfter is how many per-address lookups a Router makes before
	// it reads the tables: a run of a few destinations never pays for it.
	regionsAfter = 16
	// maxRegionRoutes bounds the routes, rules and addresses a Router
	// reads; above it (a full Internet table) lookups stay per address.
	maxRegionRoutes = 1 << 16
	// maxAnswers bounds the regions a Router remembers answers for.
	maxAnswers = 1 << 16
)

// answerKey is a region and the source address asked for.
type answerKey struct {
	region netip.Prefix
	src    netip.Addr
}

// answer is the kernel's route for the first destination asked in a
// region, or its errno.
type answer struct {
	r     Route
	errno syscall.Errno
}

// regions is what a Router learnt from one read of the tables.
type regions struct {
	prefixes  map[netip.Prefix]struct{}
	lens      [2][]int // prefix lengths in prefixes, longest first; [0] IPv4, [1] IPv6
	cacheable [2]bool
	answers   map[answerKey]answer
}

// boundaries are prefixes the kernel treats specially whatever the tables
// say (zeronet, loopback, link-local, multicast, limited broadcast, class
// E, IPv4-mapped): a region never straddles one.
var boundaries = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("255.255.255.255/32"),
	netip.MustParsePrefix("::/128"), netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("::ffff:0:0/96"), netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

func famIndex(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// region returns dst's region, false when its family is not cacheable.
func (g *regions) region(dst netip.Addr) (netip.Prefix, bool) {
	f := famIndex(dst)
	if !g.cacheable[f] {
		return netip.Prefix{}, false
	}
	for _, l := range g.lens[f] {
		p := netip.PrefixFrom(dst, l).Masked()
		if _, ok := g.prefixes[p]; ok {
			return p, true
		}
	}
	return netip.PrefixFrom(dst, 0).Masked(), true
}

// lookup returns the remembered answer for dst in region q.
func (g *regions) lookup(q netip.Prefix, dst netip.Addr, opt RouteOptions) (Route, error, bool) {
	a, ok := g.answers[answerKey{q, opt.Source}]
	if !ok {
		return Route{}, nil, false
	}
	if a.errno != 0 {
		return Route{}, &RouteError{Dst: dst, Errno: a.errno}, true
	}
	r := a.r
	r.Dst = dst
	if !r.Gateway.IsValid() {
		r.NextHop = dst
	}
	return r, nil, true
}

// remember keeps the kernel's answer for region q if it holds for all of
// q: a route that is not local, or the kernel's refusal.
func (g *regions) remember(q netip.Prefix, opt RouteOptions, r Route, err error) {
	if len(g.answers) >= maxAnswers {
		return
	}
	var re *RouteError
	switch {
	case err == nil && !r.Local:
		g.answers[answerKey{q, opt.Source}] = answer{r: r}
	case errors.As(err, &re):
		g.answers[answerKey{q, opt.Source}] = answer{errno: re.Errno}
	}
}

// learn reads the tables through h. It returns nil when no family can be
// cached or the tables could not be read whole.
func learn(h *netlink.Handle) *regions {
	g := &regions{prefixes: map[netip.Prefix]struct{}{}, answers: map[answerKey]answer{}, cacheable: [2]bool{true, true}}
	for _, p := range boundaries {
		g.prefixes[p] = struct{}{}
	}
	add := func(n *net.IPNet, family int) {
		if n == nil {
			return // the default route: /0 is every region's fallback
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			return
		}
		if family == unix.AF_INET {
			ip = ip.Unmap()
		}
		ones, _ := n.Mask.Size()
		if p, err := ip.Prefix(ones); err == nil {
			g.prefixes[p] = struct{}{}
		}
	}
	n := 0
	for i, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rules, err := h.RuleList(fam)
		if err != nil {
			g.cacheable[i] = false // a kernel without the family, or rules it would not show
			continue
		}
		for _, r := range rules {
			add(r.Dst, fam)
		}
		n += len(rules)
	}
	err := h.RouteListFilteredIter(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE,
		func(r netlink.Route) bool {
			n++
			f := 0
			if r.Family == unix.AF_INET6 {
				f = 1
			}
			unicast := r.Type == unix.RTN_UNICAST
			if len(r.MultiPath) > 0 || unicast && r.LinkIndex == 0 && r.Gw == nil {
				g.cacheable[f] = false // a path per flow, or a next hop we cannot see
			}
			add(r.Dst, r.Family)
			return n <= maxRegionRoutes
		})
	if err != nil || n > maxRegionRoutes {
		return nil
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil
	}
	global6 := 0
	for _, a := range addrs {
		fam := unix.AF_INET
		if a.IP.To4() == nil {
			fam = unix.AF_INET6
			if a.Scope == unix.RT_SCOPE_UNIVERSE {
				global6++
			}
		}
		add(a.IPNet, fam)
	}
	if global6 > 1 {
		g.cacheable[1] = false
	}
	if !g.cacheable[0] && !g.cacheable[1] {
		return nil
	}
	for p := range g.prefixes {
		f := famIndex(p.Addr())
		if !slices.Contains(g.lens[f], p.Bits()) {
			g.lens[f] = append(g.lens[f], p.Bits())
		}
	}
	for f := range g.lens {
		slices.Sort(g.lens[f])
		slices.Reverse(g.lens[f])
	}
	return g
}

// changeGroups are the notifications that can change a route's answer.
var changeGroups = []uint{
	unix.RTNLGRP_LINK, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
	unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE,
}

// WatchRoutes calls changed, from a goroutine of its own, after each
// notification from the kernel that links, addresses, routes or rules of
// the calling thread's network namespace changed: anything that may change
// a route lookup's answer. If notifications are lost (the socket's buffer
// overflowed) or the watch ends, it calls lost once and stops. stop ends
// the watch.
func WatchRoutes(changed, lost func()) (stop func(), err error) {
	s, err := nl.Subscribe(unix.NETLINK_ROUTE, changeGroups...)
	if err != nil {
		return nil, fmt.Errorf("rawsock: subscribing to routing notifications: %w", err)
	}
	go func() {
		for {
			if _, _, err := s.Receive(); err != nil {
				lost()
				return
			}
			changed()
		}
	}()
	return s.Close, nil
}

// listen subscribes rt to the kernel's routing notifications: each marks
// what rt learnt stale. If the subscription fails or loses messages, rt
// stops learning for good (deaf). Called with rt.mu held, before the
// first read of the tables, so no change after that read goes unheard.
func (rt *Router) listen() error {
	stop, err := WatchRoutes(func() { rt.stale.Store(true) }, func() {
		rt.deaf.Store(true) // closed, or notifications lost
		rt.stale.Store(true)
	})
	if err != nil {
		return err
	}
	rt.unlisten = stop
	return nil
}
