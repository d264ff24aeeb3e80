package lab

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// nftTable is the router's nftables table (family inet) holding every scenario rule.
const nftTable = "tcpprobe"

// nftRuleset returns the router's ruleset: the REJECT/DROP scenarios, the drop-first-N
// sets and the SYN counters.
//
// Drop first N: a SYN of a 4-tuple not yet in set A is added to A and dropped; for N=2 a
// SYN whose tuple is in A but not in B is added to B and dropped; later SYNs pass.
func nftRuleset() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	const syn = "tcp flags & (syn | ack) == syn"
	tuple := map[string]string{
		"ip":  "ip saddr . tcp sport . ip daddr . tcp dport",
		"ip6": "ip6 saddr . tcp sport . ip6 daddr . tcp dport",
	}
	server := map[string]string{"ip": ServerV4.String(), "ip6": ServerV6.String()}
	icmp := map[string]string{"ip": "icmp", "ip6": "icmpv6"}
	reject := map[string][2]string{ // port -> ipv4 type, ipv6 type
		"82": {"port-unreachable", "port-unreachable"},
		"84": {"admin-prohibited", "admin-prohibited"},
		"85": {"host-unreachable", "addr-unreachable"},
		"86": {"net-unreachable", "no-route"},
	}
	w("table inet %s {", nftTable)
	for _, fam := range []string{"ip", "ip6"} {
		key := "ipv4_addr . inet_service . ipv4_addr . inet_service"
		if fam == "ip6" {
			key = "ipv6_addr . inet_service . ipv6_addr . inet_service"
		}
		for _, set := range []string{"df1", "df2a", "df2b"} {
			w("  set %s_%s { type %s; flags dynamic,timeout; timeout %ds; size 65535; }",
				set, fam, key, int(DropFirstTimeout/time.Second))
		}
	}
	w("  set synseen { type inet_service; flags dynamic; size 65535; }")
	w("  set synfwd { type inet_service; flags dynamic; size 65535; }")
	w("  chain seen {")
	w("    type filter hook forward priority -10; policy accept;")
	w("    iifname %q %s update @synseen { tcp dport counter }", RouterIfC, syn)
	w("  }")
	w("  chain scenarios {")
	w("    type filter hook forward priority 0; policy accept;")
	for _, fam := range []string{"ip", "ip6"} {
		dst := fmt.Sprintf("%s daddr %s tcp dport", fam, server[fam])
		for _, port := range []string{"82", "84", "85", "86"} {
			typ := reject[port][0]
			if fam == "ip6" {
				typ = reject[port][1]
			}
			w("    %s %s reject with %s type %s", dst, port, icmp[fam], typ)
		}
		w("    %s %d reject with tcp reset", dst, PortRejectReset)
		w("    %s %d drop", dst, PortDrop)
		t := tuple[fam]
		w("    %s %d %s %s != @df1_%s add @df1_%s { %s } drop", dst, PortDropFirst1, syn, t, fam, fam, t)
		w("    %s %d %s %s @df2a_%s %s != @df2b_%s add @df2b_%s { %s } drop", dst, PortDropFirst2, syn, t, fam, t, fam, fam, t)
		w("    %s %d %s %s != @df2a_%s add @df2a_%s { %s } drop", dst, PortDropFirst2, syn, t, fam, fam, t)
	}
	w("  }")
	w("  chain forwarded {")
	w("    type filter hook forward priority 10; policy accept;")
	w("    oifname %q %s update @synfwd { tcp dport counter }", RouterIfS, syn)
	w("  }")
	w("}")
	return b.String()
}

// nft runs nft with args in the router and returns its stdout.
func (l *Lab) nft(args ...string) ([]byte, error) {
	out, err := run("", false, "ip", append([]string{"netns", "exec", l.Router, "nft"}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return out, nil
}

// ResetDropFirst makes the router forget every 4-tuple it has seen on PortDropFirst1 and
// PortDropFirst2, so the first SYNs of any flow are dropped again (it forgets a tuple
// by itself DropFirstTimeout after dropping its first SYN).
func (l *Lab) ResetDropFirst() error {
	var b strings.Builder
	for _, fam := range []string{"ip", "ip6"} {
		for _, set := range []string{"df1", "df2a", "df2b"} {
			fmt.Fprintf(&b, "flush set inet %s %s_%s\n", nftTable, set, fam)
		}
	}
	if _, err := run(b.String(), false, "ip", "netns", "exec", l.Router, "nft", "-f", "-"); err != nil {
		return fmt.Errorf("lab: resetting drop-first sets: %w", err)
	}
	return nil
}

// SYNCount returns how many SYNs (not SYN-ACKs) for dport the router forwarded to the
// server (out of r1), both families, since the lab was built or ResetSYNCounts.
// Rejected, dropped and delayed-but-not-yet-sent SYNs are not counted.
func (l *Lab) SYNCount(dport uint16) (int, error) { return l.synCounter("synfwd", dport) }

// SYNSeen returns how many SYNs (not SYN-ACKs) for dport the router received from the
// client (in on r0), both families, before any scenario rule acted on them.
func (l *Lab) SYNSeen(dport uint16) (int, error) { return l.synCounter("synseen", dport) }

// ResetSYNCounts sets the counters behind SYNCount and SYNSeen to zero.
func (l *Lab) ResetSYNCounts() error {
	if _, err := l.nft("flush", "set", "inet", nftTable, "synseen"); err != nil {
		return err
	}
	_, err := l.nft("flush", "set", "inet", nftTable, "synfwd")
	return err
}

func (l *Lab) synCounter(set string, dport uint16) (int, error) {
	out, err := l.nft("-j", "list", "set", "inet", nftTable, set)
	if err != nil {
		return 0, err
	}
	return parseSetCounter(out, dport)
}

// parseSetCounter finds the packet counter of element key in `nft -j list set` output.
func parseSetCounter(out []byte, key uint16) (int, error) {
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []json.RawMessage `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return 0, fmt.Errorf("lab: parsing nft set listing: %w", err)
	}
	for _, o := range doc.Nftables {
		if o.Set == nil {
			continue
		}
		for _, raw := range o.Set.Elem {
			var e struct {
				Elem struct {
					Val     int `json:"val"`
					Counter struct {
						Packets int `json:"packets"`
					} `json:"counter"`
				} `json:"elem"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				continue // a bare value: no counter
			}
			if e.Elem.Val == int(key) {
				return e.Elem.Counter.Packets, nil
			}
		}
	}
	return 0, nil
}
