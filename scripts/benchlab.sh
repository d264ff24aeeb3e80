# scripts/benchlab.sh: sourced by bench-sweep.sh and bench-fleet.sh, not
# run. bench_build puts tcpprobe (TCPPROBE_BIN, or built from
# ./cmd/tcpprobe) and tpbench in $WORK; bench_lab builds the client —
# router — server chain of namespaces $C, $R and $S: 198.18.1.2 (c0) —
# 198.18.1.1 (r0) | 198.18.2.1 (r1) — $SERVER (s0), fixed MACs and
# permanent neighbours, rp_filter and the ICMP rate limit off, IPv6 off.
# The caller removes the namespaces (its cleanup trap).

bench_build() {
	echo "== building tcpprobe and tpbench"
	if [ -n "${TCPPROBE_BIN:-}" ]; then cp "$TCPPROBE_BIN" "$WORK/tcpprobe"; else CGO_ENABLED=0 go build -o "$WORK/tcpprobe" ./cmd/tcpprobe; fi
	go build -o "$WORK/tpbench" ./tools/bench/tpbench
}

bench_lab() {
	ip netns add "$C"; ip netns add "$R"; ip netns add "$S"
	for ns in "$C" "$R" "$S"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			net.ipv4.icmp_ratelimit=0 net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$R" link add r0 address 02:00:00:00:01:01 type veth peer name c0 address 02:00:00:00:01:02 netns "$C"
	ip -n "$R" link add r1 address 02:00:00:00:02:01 type veth peer name s0 address 02:00:00:00:02:02 netns "$S"
	ip -n "$R" addr add 198.18.1.1/24 dev r0
	ip -n "$R" addr add 198.18.2.1/24 dev r1
	ip -n "$R" link set r0 up; ip -n "$R" link set r1 up
	ip -n "$R" neigh replace 198.18.1.2 lladdr 02:00:00:00:01:02 dev r0 nud permanent
	ip -n "$R" neigh replace "$SERVER" lladdr 02:00:00:00:02:02 dev r1 nud permanent
	ip -n "$C" addr add 198.18.1.2/24 dev c0; ip -n "$C" link set c0 up
	ip -n "$C" route add 198.18.2.0/24 via 198.18.1.1 dev c0
	ip -n "$C" neigh replace 198.18.1.1 lladdr 02:00:00:00:01:01 dev c0 nud permanent
	ip -n "$S" addr add "$SERVER/24" dev s0; ip -n "$S" link set s0 up
	ip -n "$S" route add 198.18.1.0/24 via 198.18.2.1 dev s0
	ip -n "$S" neigh replace 198.18.2.1 lladdr 02:00:00:00:02:01 dev s0 nud permanent
}
