#!/usr/bin/env bash
# scripts/bench-sweep.sh: sweep all 65,535 ports of a lab server with
# tcpprobe, nmap and masscan side by side, and say how fast and how right
# each one is.
#
#   sudo scripts/bench-sweep.sh            # 5 rounds per tool
#   sudo ROUNDS=3 scripts/bench-sweep.sh
#
# It builds a client — router — server lab of network namespaces (tpb-*,
# removed on exit, even on failure), a server listening on six ports, and
# counts the SYNs each tool sends at the router. Printed per tool: median
# wall time, SYNs/s, ports classified right (open and closed against the
# truth the lab knows) in the worst round, and tcpprobe's wall-time ratio to
# each peer; then the ceiling (packets/s of a minimal AF_PACKET sender over
# the same path) and the same tcpprobe and nmap sweeps with 1 % random loss
# on the router (the ratio there is tcpprobe's under loss to nmap's), and
# tcpprobe's share of the two-thread ceiling: over its whole run, and over
# its send phase (the ceiling's own measure). tcpprobe runs as `tcpprobe
# --rate max -p 1-65535 HOST` (a text line per port), and again with
# --ndjson (the tcpprobe-ndjson row).
#
# Environment: ROUNDS (5), TCPPROBE_BIN (a prebuilt binary instead of building
# ./cmd/tcpprobe), TCPPROBE_RATE (max), TCPPROBE_SCHEDULE
# (0,100ms,200ms,300ms,400ms,500ms/700ms: six SYNs, so 1 % loss each way still
# leaves ~1e-6 wrong ports per sweep), BENCH_HOLD (build the lab, print its names and wait:
# for profiling by hand), NMAP_MIN_RATE (20000), MASSCAN_RATE (50000),
# MASSCAN_WAIT (2: seconds masscan waits for late replies; its default is 10),
# TCPPROBE_BASE_BIN (another tcpprobe binary, e.g. the last release: swept in
# the same rounds as the tcpprobe-base row, for a before/after in one run).
# MODE=fleet runs scripts/bench-fleet.sh instead: port 80 of every host of a /16.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${MODE:-}" = fleet ]; then
	exec scripts/bench-fleet.sh "$@"
fi

if [ "$(id -u)" != 0 ]; then
	echo "bench-sweep: run as root (sudo scripts/bench-sweep.sh): it creates network namespaces" >&2
	exit 2
fi
for tool in ip nft; do
	command -v "$tool" >/dev/null || { echo "bench-sweep: $tool is missing (apt-get install -y iproute2 nftables)" >&2; exit 2; }
done
if ! command -v nmap >/dev/null || ! command -v masscan >/dev/null; then
	echo "== installing nmap and masscan"
	apt-get install -y nmap masscan >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y nmap masscan >/dev/null; }
fi

ROUNDS=${ROUNDS:-5}
RATE=${TCPPROBE_RATE:-max}
SCHEDULE=${TCPPROBE_SCHEDULE:-0,100ms,200ms,300ms,400ms,500ms/700ms}
NMAP_MIN_RATE=${NMAP_MIN_RATE:-20000}
MASSCAN_RATE=${MASSCAN_RATE:-50000}
MASSCAN_WAIT=${MASSCAN_WAIT:-2}
OPEN_PORTS=22,80,443,8080,31337,65535
SERVER=198.18.2.2
P=tpb-$$
C=$P-c R=$P-r S=$P-s
WORK=$(mktemp -d /tmp/tpb-XXXXXX)
LISTENER=

cleanup() {
	set +e
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null && wait "$LISTENER" 2>/dev/null
	for ns in "$C" "$R" "$S"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # through the EXIT trap: a held lab must not outlive kill

. scripts/benchlab.sh
bench_build
echo "== building the lab ($C — $R — $S)"
bench_lab
# The router counts the client's SYNs (what each tool sent) and, when the
# loss rule is in, drops 1 % of everything it forwards.
ip netns exec "$R" nft -f - <<EOF
table inet tpb {
	counter syns { packets 0 bytes 0 }
	chain sweep {
		type filter hook forward priority 0; policy accept;
		iifname "r0" tcp flags & (syn | ack) == syn counter name syns
	}
}
EOF
ip netns exec "$S" "$WORK/tpbench" listen $SERVER $OPEN_PORTS >"$WORK/listen.out" 2>&1 &
LISTENER=$!
for _ in $(seq 50); do grep -q listening "$WORK/listen.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$WORK/listen.out" || { echo "bench-sweep: listener did not start: $(cat "$WORK/listen.out")" >&2; exit 1; }

if [ -n "${BENCH_HOLD:-}" ]; then
	echo "lab ready: client $C, router $R, server $S; ^C or kill $$ removes it"
	while :; do sleep 1; done
fi

syns() { ip netns exec "$R" nft list counter inet tpb syns | awk '/packets/ {print $2}'; }
reset_syns() { ip netns exec "$R" nft reset counter inet tpb syns >/dev/null; }
now() { date +%s%N; }

# run_tool NAME ROUND: one sweep; appends "wall_ns syns right wrong" to $WORK/NAME.
run_tool() {
	local name=$1 out="$WORK/$1.$2.out" t0 t1
	reset_syns
	t0=$(now)
	case $name in
	tcpprobe-base)
		ip netns exec "$C" "$WORK/tcpprobe-base" --rate "$RATE" --schedule "$SCHEDULE" -p 1-65535 $SERVER >"$out" 2>"$out.err" || true ;;
	tcpprobe | tcpprobe-loss)
		# The default output: a line per port.
		ip netns exec "$C" "$WORK/tcpprobe" --rate "$RATE" --schedule "$SCHEDULE" -p 1-65535 $SERVER >"$out" 2>"$out.err" || true ;;
	tcpprobe-ndjson)
		ip netns exec "$C" "$WORK/tcpprobe" --ndjson --rate "$RATE" --schedule "$SCHEDULE" -p 1-65535 $SERVER >"$out" 2>"$out.err" || true ;;
	nmap | nmap-loss)
		ip netns exec "$C" nmap -sS -T5 --min-rate "$NMAP_MIN_RATE" -n -Pn -p1-65535 -oG "$out" $SERVER >/dev/null 2>"$out.err" ;;
	masscan)
		# masscan 1.3.2 often never exits after its wait (masscan issue #144):
		# stop it with SIGINT once sending and waiting must be over.
		timeout -s INT -k 2 $((65535 / MASSCAN_RATE + MASSCAN_WAIT + 2)) ip netns exec "$C" masscan --rate "$MASSCAN_RATE" -p1-65535 --wait "$MASSCAN_WAIT" --show closed \
			--interface c0 --router-mac 02:00:00:00:01:01 --source-ip 198.18.1.2 --source-port 61000 \
			-oL "$out" $SERVER >/dev/null 2>"$out.err" || true ;;
	esac
	t1=$(now)
	local kind=${name%-*}
	local score
	score=$("$WORK/tpbench" score "$kind" "$out" $OPEN_PORTS)
	echo "$((t1 - t0)) $(syns) ${score%%$'\t'*} ${score#*$'\t'}" >>"$WORK/res.$name"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

# summary NAME: "median_ns pps worst_right" from $WORK/NAME.
summary() {
	local f="$WORK/res.$1" med syn worst
	med=$(awk '{print $1}' "$f" | median)
	syn=$(awk '{print $2}' "$f" | median)
	worst=$(awk 'NR==1 || $3<m {m=$3} END {print m}' "$f")
	echo "$med $syn $worst"
}

TOOLS="tcpprobe tcpprobe-ndjson nmap masscan"
if [ -n "${TCPPROBE_BASE_BIN:-}" ]; then
	cp "$TCPPROBE_BASE_BIN" "$WORK/tcpprobe-base"
	TOOLS="tcpprobe tcpprobe-base tcpprobe-ndjson nmap masscan"
fi
echo "== sweeping 1-65535 of $SERVER, $ROUNDS rounds per tool (open: $OPEN_PORTS)"
for r in $(seq "$ROUNDS"); do
	for tool in $TOOLS; do run_tool $tool "$r"; done
done

echo "== ceiling: minimal AF_PACKET sender, 1,000,000 SYNs over c0"
CEIL1=$(ip netns exec "$C" "$WORK/tpbench" ceiling c0 02:00:00:00:01:01 198.18.1.2 $SERVER 1000000 1)
CEIL64=$(ip netns exec "$C" "$WORK/tpbench" ceiling c0 02:00:00:00:01:01 198.18.1.2 $SERVER 1000000 64)
CEIL64x2=$(ip netns exec "$C" "$WORK/tpbench" ceiling c0 02:00:00:00:01:01 198.18.1.2 $SERVER 1000000 64 2)

echo "== 1 % random loss on the router"
ip netns exec "$R" nft add rule inet tpb sweep numgen random mod 100 '<' 1 drop
for r in $(seq "$ROUNDS"); do
	for tool in tcpprobe-loss nmap-loss; do run_tool $tool "$r"; done
done

printf '\n%-16s %12s %12s %22s %s\n' tool "median wall" "SYNs/s" "right (worst round)" "tcpprobe ratio"
read -r tp_med _ _ < <(summary tcpprobe)
read -r tp_loss_med _ _ < <(summary tcpprobe-loss)
for tool in $TOOLS tcpprobe-loss nmap-loss; do
	read -r med syn worst < <(summary $tool)
	num=$tp_med
	[ "${tool%-loss}" != "$tool" ] && num=$tp_loss_med # under loss: against tcpprobe under loss
	ratio=$(awk -v a="$num" -v b="$med" 'BEGIN {printf "%.2f", a/b}')
	printf '%-16s %10.3f s %12.0f %16s/65535 %s\n' "$tool" "$(awk -v m="$med" 'BEGIN {print m/1e9}')" \
		"$(awk -v s="$syn" -v m="$med" 'BEGIN {print s/(m/1e9)}')" "$worst" "$ratio"
done
printf '\nceiling (minimal AF_PACKET sender over c0 → router → server): %s pkt/s with sendto, %s pkt/s with sendmmsg×64, %s pkt/s with sendmmsg×64 from two threads\n' "$CEIL1" "$CEIL64" "$CEIL64x2"
read -r _ tp_syn _ < <(summary tcpprobe)
awk -v s="$tp_syn" -v m="$tp_med" -v c="$CEIL64x2" 'BEGIN {printf "tcpprobe sent %.0f SYNs/s over its whole run: %.0f %% of the two-thread ceiling\n", s/(m/1e9), 100*s/(m/1e9)/c}'
# The ceiling is timed over its send loop alone: tcpprobe's send phase is
# the like-for-like figure, first SYN to last first SYN as its own --ndjson
# send times say (tcpdump's, on a ring link), in the tcpprobe-ndjson rounds.
for r in $(seq "$ROUNDS"); do "$WORK/tpbench" span "$WORK/tcpprobe-ndjson.$r.out"; done >"$WORK/spans"
span_med=$(awk '{print $2}' "$WORK/spans" | median)
span_n=$(awk '{print $1}' "$WORK/spans" | median)
awk -v n="$span_n" -v d="$span_med" -v c="$CEIL64x2" 'BEGIN {printf "tcpprobe --ndjson sent %.0f SYNs/s over its send phase (median %.1f ms, first SYN to last first SYN): %.0f %% of the two-thread ceiling\n", n/(d/1e9), d/1e6, 100*n/(d/1e9)/c}'
echo
echo "per round (wall ns, SYNs, right, wrong examples):"
for tool in $TOOLS tcpprobe-loss nmap-loss; do sed "s/^/  $tool: /" "$WORK/res.$tool"; done
bad=$(cat "$WORK"/res.tcpprobe "$WORK"/res.tcpprobe-ndjson "$WORK"/res.tcpprobe-loss | awk '$3 != 65535' | wc -l)
if [ "$bad" != 0 ]; then
	echo "bench-sweep: tcpprobe misclassified ports in $bad round(s)" >&2
	exit 1
fi
