package lab

import (
	"fmt"
	"strings"
)

// routerRuleset is the nftables ruleset of router position hop: in its
// FORWARD chain a silent drop of ChainPortDrop(hop) and a REJECT (admin
// prohibited) of ChainPortReject(hop). R1 also masquerades
// ChainClientNATV4/V6 and rewrites ChainClientStatelessV4/V6 without
// conntrack; R2 counts the ECMP ports per path and rejects the rate-limited
// ports once a minute.
func routerRuleset(role string, hop int) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("table inet trace {")
	if role == roleR2 {
		for _, ctr := range ecmpCounters() {
			w("  counter %s {}", ctr)
		}
	}
	w("  chain scenarios {")
	w("    type filter hook forward priority 0; policy accept;")
	if role == roleR2 {
		for _, fam := range []string{"ipv4", "ipv6"} {
			for _, p := range []struct {
				port int
				tag  string
			}{{ChainPortECMP, "paris"}, {ChainPortECMPVary, "vary"}} {
				for _, path := range []string{"a", "b"} {
					w("    meta nfproto %s tcp dport %d oifname \"b%s\" counter name %s_%s_%s", fam, p.port, path, p.tag, fam, path)
				}
			}
		}
	}
	if role == roleR2 {
		for _, p := range []int{ChainPortRateLimitedV4, ChainPortRateLimitedV6} {
			w("    tcp dport %d limit rate 1/minute burst 1 packets reject with icmpx type admin-prohibited", p)
			w("    tcp dport %d drop", p)
		}
	}
	w("    tcp dport %d drop", ChainPortDrop(hop))
	w("    meta nfproto ipv4 tcp dport %d reject with icmp type admin-prohibited", ChainPortReject(hop))
	w("    meta nfproto ipv6 tcp dport %d reject with icmpv6 type admin-prohibited", ChainPortReject(hop))
	w("  }")
	if role == roleR1 {
		w("  chain masq {")
		w("    type nat hook postrouting priority 100; policy accept;")
		w("    oifname \"b0\" ip saddr %s masquerade", ChainClientNATV4)
		w("    oifname \"b0\" ip6 saddr %s masquerade", ChainClientNATV6)
		w("  }")
		// Stateless NAT: the source is rewritten without conntrack, so
		// nothing translates the headers ICMP errors quote back.
		w("  chain stateless {")
		w("    type filter hook prerouting priority -300; policy accept;")
		w("    ip saddr %s notrack ip saddr set %s", ChainClientStatelessV4, ChainStatelessOuterV4)
		w("    ip daddr %s notrack ip daddr set %s", ChainStatelessOuterV4, ChainClientStatelessV4)
		w("    ip6 saddr %s notrack ip6 saddr set %s", ChainClientStatelessV6, ChainStatelessOuterV6)
		w("    ip6 daddr %s notrack ip6 daddr set %s", ChainStatelessOuterV6, ChainClientStatelessV6)
		w("  }")
		// R1's own ICMP errors go to the rewritten source: map them back
		// (a route chain reroutes after the change).
		w("  chain statelessout {")
		w("    type route hook output priority -300; policy accept;")
		w("    ip daddr %s ip daddr set %s", ChainStatelessOuterV4, ChainClientStatelessV4)
		w("    ip6 daddr %s ip6 daddr set %s", ChainStatelessOuterV6, ChainClientStatelessV6)
		w("  }")
	}
	w("}")
	return b.String()
}

func ecmpCounters() []string {
	var out []string
	for _, tag := range []string{"paris", "vary"} {
		for _, fam := range []string{"ipv4", "ipv6"} {
			for _, path := range []string{"a", "b"} {
				out = append(out, tag+"_"+fam+"_"+path)
			}
		}
	}
	return out
}

// serverRuleset drops ChainPortServerDrop in the server's INPUT chain.
func serverRuleset() string {
	return fmt.Sprintf("table inet trace {\n  chain scenarios {\n    type filter hook input priority 0; policy accept;\n    tcp dport %d drop\n  }\n}\n", ChainPortServerDrop)
}
