package rawsock

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// answerOf is a route lookup's answer in a comparable form.
func answerOf(r Route, err error) string {
	if err != nil {
		var re *RouteError
		if errors.As(err, &re) {
			return fmt.Sprintf("error %v dst %s", re.Errno, re.Dst)
		}
		return "error " + err.Error()
	}
	return fmt.Sprintf("dst %s src %s if %s gw %s nh %s local %t mtu %d", r.Dst, r.Src, r.Interface.Name, r.Gateway, r.NextHop, r.Local, r.Interface.MTU)
}

// hosts returns n addresses from the start of p.
func hosts(p netip.Prefix, n int) []netip.Addr {
	var out []netip.Addr
	for a := p.Masked().Addr(); p.Contains(a) && len(out) < n; a = a.Next() {
		out = append(out, a)
	}
	return out
}

// compareRouter fails t for each of dsts (the first ten) the Router
// answers otherwise than the kernel asked for that destination alone.
func compareRouter(t *testing.T, rt *Router, dsts []netip.Addr, when string) {
	t.Helper()
	wrong := 0
	for _, d := range dsts {
		want := answerOf(RouteTo(d, RouteOptions{}))
		if got := answerOf(rt.RouteTo(d, RouteOptions{})); got != want {
			if wrong++; wrong <= 10 {
				t.Errorf("%s: %s: Router says %q, the kernel alone %q", when, d, got, want)
			}
		}
	}
}

// TestRouterRegions checks that a Router that answers per region gives,
// for every destination of a routing state with nested prefixes, policy
// rules, local addresses and refusals, the answer the kernel gives that
// destination alone; that it asks the kernel once per region, not per
// address; and that a route added during its life is heard and obeyed.
func TestRouterRegions(t *testing.T) {
	n := newTestNet(t)
	a := n.nameA
	for _, c := range [][]string{
		// Nested inside the /28 via .2: a refusal and an on-link /30.
		{"-n", a, "route", "add", "unreachable", "198.18.200.184/29"},
		{"-n", a, "route", "add", "198.18.200.180/30", "dev", "a0"},
		// A rule sends part of another prefix to its own table.
		{"-n", a, "route", "add", "198.18.201.0/24", "via", "198.18.200.2"},
		{"-n", a, "route", "add", "prohibit", "198.18.201.64/26", "table", "100"},
		{"-n", a, "rule", "add", "to", "198.18.201.64/27", "table", "100", "priority", "100"},
		{"-n", a, "-6", "route", "add", "fd00:201::/64", "via", "fd00:200::2"},
		{"-n", a, "-6", "route", "add", "unreachable", "fd00:201::40/122"},
	} {
		run(t, append([]string{"ip"}, c...)...)
	}
	var dsts []netip.Addr
	for _, p := range []string{"198.18.200.0/24", "198.18.201.0/24", "198.18.202.0/25", "fd00:200::/120", "fd00:201::/120", "fd00:200::8004:0:0:0/120"} {
		dsts = append(dsts, hosts(netip.MustParsePrefix(p), 256)...)
	}
	dsts = append(dsts, netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"), netip.MustParseAddr("224.0.0.1"), netip.MustParseAddr("ff02::1"))

	in(t, n.a, func() {
		rt, err := NewRouter()
		if err != nil {
			t.Errorf("NewRouter: %v", err)
			return
		}
		defer rt.Close()
		compare := func(when string) { compareRouter(t, rt, dsts, when) }
		compare("first pass")
		compare("second pass") // every answer now from a learnt region
		if rt.regions == nil {
			t.Errorf("the Router never learnt the tables after %d lookups", 2*len(dsts))
			return
		}
		if len(rt.regions.answers) == 0 || len(rt.regions.answers) > len(dsts)/4 {
			t.Errorf("%d regions answered for %d destinations: want one kernel lookup per region, a handful here", len(rt.regions.answers), len(dsts))
		}
		t.Logf("%d destinations, %d regions with an answer", len(dsts), len(rt.regions.answers))

		// A route added now splits a region: the Router must hear it.
		run(t, "ip", "-n", a, "route", "add", "blackhole", "198.18.201.200/29")
		probe := netip.MustParseAddr("198.18.201.201")
		deadline := time.Now().Add(2 * time.Second)
		for answerOf(rt.RouteTo(probe, RouteOptions{})) != answerOf(RouteTo(probe, RouteOptions{})) {
			if time.Now().After(deadline) {
				t.Errorf("2 s after a blackhole route was added, the Router still says %q for %s", answerOf(rt.RouteTo(probe, RouteOptions{})), probe)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		compare("after a route was added")
	})
}

// TestRouterNoRegions checks the cases that must stay per address: an
// outgoing interface asked for, and a family with a multipath route.
func TestRouterNoRegions(t *testing.T) {
	n := newTestNet(t)
	run(t, "ip", "-n", n.nameA, "route", "add", "198.18.203.0/24", "nexthop", "via", "198.18.200.2", "nexthop", "via", "198.18.200.3")
	in(t, n.a, func() {
		rt, err := NewRouter()
		if err != nil {
			t.Errorf("NewRouter: %v", err)
			return
		}
		defer rt.Close()
		compareRouter(t, rt, hosts(netip.MustParsePrefix("198.18.203.0/24"), 64), "multipath")
		if rt.regions != nil && rt.regions.cacheable[0] {
			t.Errorf("IPv4 answers are cached per region although a multipath route picks a path per flow")
		}
		for _, d := range hosts(netip.MustParsePrefix("fd00:200::/120"), 64) {
			if _, err := rt.RouteTo(d, RouteOptions{Interface: "a0"}); err != nil {
				t.Errorf("%s via a0: %v", d, err)
			}
		}
		if rt.regions != nil && len(rt.regions.answers) > 0 {
			t.Errorf("lookups with an outgoing interface were answered per region")
		}
	})
}
