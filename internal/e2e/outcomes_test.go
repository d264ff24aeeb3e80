package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/report"
)

// verdict is what a probe must report.
type verdict struct {
	Outcome string
	Errno   string
	Reason  string
	Soft    bool
}

func open() verdict { return verdict{"open", "", "syn-ack", false} }
func rst() verdict  { return verdict{"refused", "ECONNREFUSED", "rst", false} }
func timeout() verdict {
	return verdict{"timeout", "ETIMEDOUT", "timeout", false}
}
func hard(outcome, errno, reason string) verdict { return verdict{outcome, errno, reason, false} }
func soft(outcome, errno, reason string) verdict { return verdict{outcome, errno, reason, true} }
func local(errno, reason string) verdict         { return verdict{"local-error", errno, reason, false} }

// same is one verdict for every profile.
func same(v verdict) map[string]verdict {
	return map[string]verdict{"classic": v, "linux": v, "bsd": v}
}

// icmpErr is an ICMP error whose meaning differs per profile: linux
// ends at once with its errno, classic saves it (unless RFC 1122 calls it
// hard), bsd saves its own errno, or ignores it when bsd is "".
func icmpErr(reason, linuxErrno string, rfcHard bool, bsdErrno string) map[string]verdict {
	o := func(errno string) string {
		if errno == "ECONNREFUSED" {
			return "refused"
		}
		return "unreachable"
	}
	m := map[string]verdict{
		"linux":   hard(o(linuxErrno), linuxErrno, reason),
		"classic": soft(o(linuxErrno), linuxErrno, reason),
		"bsd":     soft(o(bsdErrno), bsdErrno, reason),
	}
	if rfcHard {
		m["classic"] = hard(o(linuxErrno), linuxErrno, reason)
	}
	if bsdErrno == "" {
		m["bsd"] = timeout()
	}
	return m
}

// scenario is one row of design §5 in one family.
type scenario struct {
	name    string
	target  netip.AddrPort
	want    map[string]verdict
	gated   bool // the router answers from its routing table: lab.RouteErrorGate
	decides time.Duration
}

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

func scenarios(v6 bool) []scenario {
	srv, nfr, nfc := lab.ServerV4, lab.NeighFailRouterV4, lab.NeighFailClientV4
	ru, rp, rb, rn := lab.RouterUnreachV4, lab.RouterProhibitV4, lab.RouterBlackholeV4, lab.RouterNoRouteV4
	cu, cp, cb, cn := lab.ClientUnreachV4, lab.ClientProhibitV4, lab.ClientBlackholeV4, lab.ClientNoRouteV4
	if v6 {
		srv, nfr, nfc = lab.ServerV6, lab.NeighFailRouterV6, lab.NeighFailClientV6
		ru, rp, rb, rn = lab.RouterUnreachV6, lab.RouterProhibitV6, lab.RouterBlackholeV6, lab.RouterNoRouteV6
		cu, cp, cb, cn = lab.ClientUnreachV6, lab.ClientProhibitV6, lab.ClientBlackholeV6, lab.ClientNoRouteV6
	}
	s := []scenario{
		{name: "open", target: ap(srv, lab.PortOpen), want: same(open())},
		{name: "closed", target: ap(srv, lab.PortClosed), want: same(rst())},
		{name: "reject tcp-reset", target: ap(srv, lab.PortRejectReset), want: same(rst())},
		{name: "drop", target: ap(srv, lab.PortDrop), want: same(timeout())},
		{name: "drop first SYN", target: ap(srv, lab.PortDropFirst1), want: same(open())},
		{name: "drop first 2 SYNs", target: ap(srv, lab.PortDropFirst2), want: same(open())},
		{name: "delayed path", target: ap(srv, lab.PortDelay), want: same(open())},
		{name: "router blackhole route", target: ap(rb, 80), want: same(timeout())},
		{name: "client unreachable route", target: ap(cu, 80), want: same(local("EHOSTUNREACH", "route-unreachable"))},
		{name: "client prohibit route", target: ap(cp, 80), want: same(local("EACCES", "route-prohibit"))},
		{name: "client blackhole route", target: ap(cb, 80), want: same(local("EINVAL", "route-blackhole"))},
		{name: "client no route", target: ap(cn, 80), want: same(local("ENETUNREACH", "no-route"))},
		{name: "client neighbour never answers", target: ap(nfc, 80), want: same(local("EHOSTUNREACH", "neighbor-unreachable"))},
	}
	if !v6 {
		return append(s,
			scenario{name: "reject port-unreachable", target: ap(srv, lab.PortRejectPort), want: icmpErr("icmp-port-unreachable", "ECONNREFUSED", true, "ECONNREFUSED")},
			scenario{name: "reject admin-prohibited", target: ap(srv, lab.PortRejectAdmin), want: icmpErr("icmp-admin-prohibited", "EHOSTUNREACH", false, "")},
			scenario{name: "reject host-unreachable", target: ap(srv, lab.PortRejectHost), want: icmpErr("icmp-host-unreachable", "EHOSTUNREACH", false, "EHOSTUNREACH")},
			scenario{name: "reject net-unreachable", target: ap(srv, lab.PortRejectNet), want: icmpErr("icmp-net-unreachable", "ENETUNREACH", false, "EHOSTUNREACH")},
			scenario{name: "router neighbour never answers", target: ap(nfr, 80), want: icmpErr("icmp-host-unreachable", "EHOSTUNREACH", false, "EHOSTUNREACH"), decides: 3 * time.Second},
			scenario{name: "router unreachable route", target: ap(ru, 80), want: icmpErr("icmp-host-unreachable", "EHOSTUNREACH", false, "EHOSTUNREACH"), gated: true},
			scenario{name: "router prohibit route", target: ap(rp, 80), want: icmpErr("icmp-admin-prohibited", "EHOSTUNREACH", false, ""), gated: true},
			scenario{name: "router no route", target: ap(rn, 80), want: icmpErr("icmp-net-unreachable", "ENETUNREACH", false, "EHOSTUNREACH"), gated: true},
		)
	}
	// 4.4BSD had no IPv6; the bsd profile reads ICMPv6 with FreeBSD's
	// icmp6_errmap, every error soft.
	return append(s,
		scenario{name: "reject port-unreachable", target: ap(srv, lab.PortRejectPort), want: icmpErr("icmp6-port-unreachable", "ECONNREFUSED", true, "ECONNREFUSED")},
		scenario{name: "reject admin-prohibited", target: ap(srv, lab.PortRejectAdmin), want: icmpErr("icmp6-admin-prohibited", "EACCES", false, "ECONNREFUSED")},
		scenario{name: "reject address-unreachable", target: ap(srv, lab.PortRejectHost), want: icmpErr("icmp6-address-unreachable", "EHOSTUNREACH", false, "EHOSTUNREACH")},
		scenario{name: "reject no-route", target: ap(srv, lab.PortRejectNet), want: icmpErr("icmp6-no-route", "ENETUNREACH", false, "EHOSTUNREACH")},
		scenario{name: "router neighbour never answers", target: ap(nfr, 80), want: icmpErr("icmp6-address-unreachable", "EHOSTUNREACH", false, "EHOSTUNREACH"), decides: 3 * time.Second},
		scenario{name: "router unreachable route", target: ap(ru, 80), want: icmpErr("icmp6-no-route", "ENETUNREACH", false, "EHOSTUNREACH")},
		scenario{name: "router prohibit route", target: ap(rp, 80), want: icmpErr("icmp6-admin-prohibited", "EACCES", false, "ECONNREFUSED")},
		scenario{name: "router no route", target: ap(rn, 80), want: icmpErr("icmp6-no-route", "ENETUNREACH", false, "EHOSTUNREACH")},
	)
}

// profileArgs runs a profile on a short schedule: classic and bsd get a
// custom one (SYNs at 0, 1, 2 s; give up at 4 s), linux keeps the kernel's
// own schedule cut by --timeout at 4 s (SYNs at 0, 1, 2, 3 s).
func profileArgs(profile string) []string {
	if profile == "linux" {
		return []string{"--profile", "linux", "--timeout", "4s"}
	}
	return []string{"--profile", profile, "--schedule", "0,1s,2s/4s"}
}

const giveUp = 4 * time.Second

// TestOutcomes proves every outcome class end to end: each scenario of the
// lab × family × profile, through the real binary in the client namespace.
func TestOutcomes(t *testing.T) {
	for _, fam := range []string{"ipv4", "ipv6"} {
		for _, profile := range []string{"classic", "linux", "bsd"} {
			t.Run(fam+"/"+profile, func(t *testing.T) {
				t.Parallel()
				l := labtest.New(t)
				if err := l.FlushNeighbors(); err != nil {
					t.Fatal(err)
				}
				all := scenarios(fam == "ipv6")
				var batch []string
				for _, s := range all {
					if !s.gated {
						batch = append(batch, s.target.String())
					}
				}
				got, r := probeJSON(t, l, 30*time.Second, append(profileArgs(profile), batch...)...)
				// Gated scenarios one at a time, one SYN each: the router's
				// route-error ICMP comes from a host-wide token bucket.
				for _, s := range all {
					if !s.gated {
						continue
					}
					release := lab.RouteErrorGate()
					args := []string{"--profile", profile, "--schedule", "0/1500ms", s.target.String()}
					one, _ := probeJSON(t, l, 10*time.Second, args...)
					release()
					for k, v := range one {
						got[k] = v
					}
				}
				for _, s := range all {
					res := got[s.target.String()]
					if res == nil {
						t.Errorf("%s (%s): no result", s.name, s.target)
						continue
					}
					checkResult(t, s, profile, res)
				}
				if r.exit != 1 {
					t.Errorf("exit code %d with closed ports among the targets, want 1", r.exit)
				}
			})
		}
	}
}

func checkResult(t *testing.T, s scenario, profile string, res *report.Result) {
	t.Helper()
	want := s.want[profile]
	got := verdict{res.Outcome, res.Errno, res.Reason, res.Soft}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (%s) under %s (-want +got):\n%s\nevents: %s", s.name, s.target, profile, diff, events(res))
		return
	}
	dur := time.Duration(res.DurationMs * float64(time.Millisecond))
	switch {
	case want.Outcome == "timeout" || want.Soft:
		// Decided at the give-up time, not before.
		limit := giveUp
		if s.gated {
			limit = 1500 * time.Millisecond
		}
		if dur < limit-50*time.Millisecond || dur > limit+500*time.Millisecond {
			t.Errorf("%s under %s: ended after %v, want the give-up time %v", s.name, profile, dur, limit)
		}
	case want.Outcome == "local-error" && s.name != "client neighbour never answers":
		if len(res.Attempts) != 0 {
			t.Errorf("%s: %d SYNs sent for a local error, want none", s.name, len(res.Attempts))
		}
	case s.decides > 0:
		if dur < s.decides-500*time.Millisecond || dur > s.decides+time.Second {
			t.Errorf("%s under %s: decided after %v, want about %v", s.name, profile, dur, s.decides)
		}
	}
	switch want.Outcome {
	case "open":
		if res.Teardown != "rst" {
			t.Errorf("%s: teardown %q, want rst", s.name, res.Teardown)
		}
		if res.SYNACK == nil || res.SYNACK.MSS == nil {
			t.Errorf("%s: no SYN-ACK details", s.name)
		}
		if res.Responder != s.target.Addr().String() {
			t.Errorf("%s: responder %s, want the server", s.name, res.Responder)
		}
	case "unreachable", "refused":
		if strings.HasPrefix(want.Reason, "icmp") && res.Responder == "" {
			t.Errorf("%s: no responder for an ICMP verdict", s.name)
		}
	}
	switch s.name {
	case "drop first SYN":
		if len(res.Attempts) != 2 {
			t.Errorf("%s: %d SYNs, want 2", s.name, len(res.Attempts))
		}
	case "drop first 2 SYNs":
		if len(res.Attempts) != 3 {
			t.Errorf("%s: %d SYNs, want 3", s.name, len(res.Attempts))
		}
	case "delayed path":
		if res.RTTMs == nil || *res.RTTMs < 90 {
			t.Errorf("%s: rtt %v ms, want >= 90 ms through the delayer", s.name, res.RTTMs)
		}
	}
}

func events(r *report.Result) string {
	var b strings.Builder
	for _, e := range r.Events {
		fmt.Fprintf(&b, "\n  +%.3fms %s %s %s %s %s", e.AtMs, e.Dir, e.Kind, e.Reason, e.Effect, e.Why)
	}
	return b.String()
}
