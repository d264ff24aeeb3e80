#!/usr/bin/env bash
# scripts/bench-fleet.sh: sweep port 80 of every address of a /16 (65,536
# hosts) with tcpprobe, zmap, masscan and nmap side by side, and say how fast
# and how right each one is (issue 17). Also run as MODE=fleet scripts/bench-sweep.sh.
#
#   sudo scripts/bench-fleet.sh            # 5 rounds per tool
#   sudo ROUNDS=3 MODE=fleet scripts/bench-sweep.sh
#
# It builds a client — router — server lab of network namespaces (tpf-*,
# removed on exit, even on failure). The server owns all of 198.19.0.0/16
# (an AnyIP `local` route on its loopback) with one listener on 0.0.0.0:80;
# nftables in the server answers the upper half, 198.19.128.0/17, with RST.
# So the truth is: 198.19.0.0-198.19.127.255 open, 198.19.128.0-198.19.255.255
# closed (refused). The router counts the SYNs each tool sends. Printed per
# tool: median wall time, SYNs/s, hosts classified right in the worst round
# (out of 65,536), and tcpprobe's wall-time ratio to each peer; then the same
# tcpprobe sweep with 1 % random loss on the router. Exit status 1 if tcpprobe
# misclassified a host in any round, with or without loss.
#
# tcpprobe runs as `tcpprobe --ndjson --rate max --schedule S 198.19.0.0/16:80`,
# zmap as `zmap -p 80 -b /dev/null --output-filter "success = 1 || success = 0"`
# (its default blocklist holds 198.18.0.0/15 and its default filter drops RSTs),
# masscan with --show closed, nmap as `nmap -sS -T5 --min-rate N -n -Pn -p80`.
#
# Environment: ROUNDS (5), TCPPROBE_BIN (a prebuilt binary instead of building
# ./cmd/tcpprobe), TCPPROBE_RATE (max), TCPPROBE_SCHEDULE
# (0,100ms,200ms,300ms,400ms,500ms/700ms: six SYNs, so 1 % loss each way still
# leaves ~1e-6 wrong hosts per sweep), TCPPROBE_BASE_BIN (another tcpprobe
# binary, e.g. the last release: swept in the same rounds as the tcpprobe-base
# row, for a before/after in one run), BENCH_HOLD (build the lab, print its
# names and wait: for profiling by hand), ZMAP_RATE (100000 SYNs/s),
# ZMAP_COOLDOWN (2: seconds zmap listens after its last SYN; its default is 8),
# NMAP_MIN_RATE (20000), MASSCAN_RATE (50000), MASSCAN_WAIT (2: seconds masscan
# waits for late replies; its default is 10).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "bench-fleet: run as root (sudo scripts/bench-fleet.sh): it creates network namespaces" >&2
	exit 2
fi
for tool in ip nft; do
	command -v "$tool" >/dev/null || { echo "bench-fleet: $tool is missing (apt-get install -y iproute2 nftables)" >&2; exit 2; }
done
if ! command -v nmap >/dev/null || ! command -v masscan >/dev/null || ! command -v zmap >/dev/null; then
	echo "== installing nmap, masscan and zmap"
	apt-get install -y nmap masscan zmap >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y nmap masscan zmap >/dev/null; }
fi

ROUNDS=${ROUNDS:-5}
RATE=${TCPPROBE_RATE:-max}
SCHEDULE=${TCPPROBE_SCHEDULE:-0,100ms,200ms,300ms,400ms,500ms/700ms}
ZMAP_RATE=${ZMAP_RATE:-100000}
ZMAP_COOLDOWN=${ZMAP_COOLDOWN:-2}
NMAP_MIN_RATE=${NMAP_MIN_RATE:-20000}
MASSCAN_RATE=${MASSCAN_RATE:-50000}
MASSCAN_WAIT=${MASSCAN_WAIT:-2}
FLEET=198.19.0.0/16 # every address the server owns: the sweep
OPEN=198.19.0.0/17  # answered with SYN-ACK by the listener
SHUT=198.19.128.0/17 # answered with RST by nftables in the server
HOSTS=65536
SERVER=198.18.2.2
P=tpf-$$
C=$P-c R=$P-r S=$P-s
WORK=$(mktemp -d /tmp/tpf-XXXXXX)
LISTENER= MASSCAN=

cleanup() {
	set +e
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null && wait "$LISTENER" 2>/dev/null
	[ -n "$MASSCAN" ] && kill -KILL "$MASSCAN" 2>/dev/null && wait "$MASSCAN" 2>/dev/null
	for ns in "$C" "$R" "$S"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # through the EXIT trap: a held lab must not outlive kill

. scripts/benchlab.sh
bench_build
echo "== building the lab ($C — $R — $S), the server owning $FLEET"
bench_lab
# The server must answer every one of 32,768 open SYNs arriving at line rate.
# A SYN-ACK needs a SYN-queue entry until the scanner's RST (or cookie-less
# retransmits) frees it; the queue holds min(listen backlog, somaxconn)
# entries per listener, and past that the kernel answers with a SYN cookie
# only if tcp_syncookies is on (it is 1 by default, but is set here so a
# host's 0 cannot leak in). somaxconn 65535 lets the listener's backlog
# (Go reads somaxconn for it) cover the whole /17 without falling back to
# cookies; tcp_max_syn_backlog 65536 keeps the kernel from dropping SYNs
# early when cookies are off. synack_retries 1: SYN-ACKs whose RST was lost
# (the loss rounds) leave the queue within ~3 s, before the next sweep.
# tcp_invalid_ratelimit 0: a SYN that repeats one already in the SYN queue
# (a retransmit after a lost SYN-ACK) is answered with the SYN-ACK again, but
# by default at most once per 500 ms per half-open connection
# (TcpExtTCPACKSkippedSynRecv counts the rest). With 1 % loss and SYNs 100 ms
# apart that left about one open host a round with two SYN-ACKs lost and four
# retransmits unanswered: a timeout that no prober could avoid, measured
# (a round without it: 15 SYN-ACKs skipped; with it: none, 5 of 5 rounds right).
ip netns exec "$S" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65536 \
	net.ipv4.tcp_syncookies=1 net.ipv4.tcp_synack_retries=1 net.ipv4.tcp_invalid_ratelimit=0
ip -n "$R" route add $FLEET via $SERVER dev r1
ip -n "$C" route add $FLEET via 198.18.1.1 dev c0
# AnyIP: every address of the /16 is local to the server, so one listener on
# 0.0.0.0:80 answers them all.
ip -n "$S" route add local $FLEET dev lo
ip netns exec "$S" nft -f - <<EOF
table inet tpf {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 80 ip daddr $SHUT reject with tcp reset
	}
}
EOF
# The router counts the client's SYNs (what each tool sent) and the
# server's SYN-ACKs and RSTs (that it answered every SYN: a host a tool
# misses with both counts whole was lost in the tool) and, when the loss rule
# is in, drops 1 % of everything it forwards (after counting it).
ip netns exec "$R" nft -f - <<EOF
table inet tpf {
	counter syns { packets 0 bytes 0 }
	counter synacks { packets 0 bytes 0 }
	counter rsts { packets 0 bytes 0 }
	chain sweep {
		type filter hook forward priority 0; policy accept;
		iifname "r0" tcp flags & (syn | ack) == syn counter name syns
		iifname "r1" tcp flags & (syn | ack) == syn | ack counter name synacks
		iifname "r1" tcp flags & rst == rst counter name rsts
	}
}
EOF
ip netns exec "$S" "$WORK/tpbench" listen 0.0.0.0 80 >"$WORK/listen.out" 2>&1 &
LISTENER=$!
for _ in $(seq 50); do grep -q listening "$WORK/listen.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$WORK/listen.out" || { echo "bench-fleet: listener did not start: $(cat "$WORK/listen.out")" >&2; exit 1; }

if [ -n "${BENCH_HOLD:-}" ]; then
	echo "lab ready: client $C, router $R, server $S; ^C or kill $$ removes it"
	while :; do sleep 1; done
fi

count() { ip netns exec "$R" nft list counter inet tpf "$1" | awk '/packets/ {print $2}'; }
reset_counts() { for c in syns synacks rsts; do ip netns exec "$R" nft reset counter inet tpf $c >/dev/null; done; }
now() { date +%s%N; }

# run_tool NAME ROUND: one sweep; appends "wall_ns syns synacks rsts right
# wrong" to $WORK/res.NAME.
# Every tool is bounded in time (timeout), so a hung one costs a round, not the run.
run_tool() {
	local name=$1 out="$WORK/$1.$2.out" t0 t1 kind
	reset_counts
	t0=$(now)
	case $name in
	tcpprobe-base)
		timeout -k 5 300 ip netns exec "$C" "$WORK/tcpprobe-base" --ndjson --rate "$RATE" --schedule "$SCHEDULE" $FLEET:80 >"$out" 2>"$out.err" || true ;;
	tcpprobe | tcpprobe-loss)
		timeout -k 5 300 ip netns exec "$C" "$WORK/tcpprobe" --ndjson --rate "$RATE" --schedule "$SCHEDULE" $FLEET:80 >"$out" 2>"$out.err" || true ;;
	zmap)
		timeout -s INT -k 5 $((HOSTS / ZMAP_RATE + ZMAP_COOLDOWN + 30)) ip netns exec "$C" zmap -q --disable-syslog -p 80 \
			-i c0 -G 02:00:00:00:01:01 -S 198.18.1.2 -b /dev/null -r "$ZMAP_RATE" -c "$ZMAP_COOLDOWN" \
			-O csv -f saddr,classification --output-filter="success = 1 || success = 0" \
			-o "$out" $FLEET >/dev/null 2>"$out.err" || true ;;
	nmap)
		timeout -k 5 600 ip netns exec "$C" nmap -sS -T5 --min-rate "$NMAP_MIN_RATE" -n -Pn -p80 -oG "$out" $FLEET >/dev/null 2>"$out.err" || true ;;
	masscan) run_masscan "$out" ;;
	esac
	t1=$(now)
	kind=${name%-*}
	local score
	score=$("$WORK/tpbench" fleet-score "$kind" "$out" $FLEET $OPEN 2>&1) || score="0	$score"
	echo "$((t1 - t0)) $(count syns) $(count synacks) $(count rsts) ${score%%$'\t'*} ${score#*$'\t'}" >>"$WORK/res.$name"
	# tcpprobe's own record of each host it got wrong (the examples), for the report.
	if [ "$kind" = tcpprobe ] && [ "${score%%$'\t'*}" != $HOSTS ]; then
		for a in $(grep -oE '198\.19\.[0-9]+\.[0-9]+' <<<"${score#*$'\t'}"); do
			echo "$name round $2: $(grep -F "\"address\":\"$a\"" "$out" || echo "$a: no result line")"
		done >>"$WORK/wrong"
	fi
}

# run_masscan OUT: masscan 1.3.2 often never exits after its wait (masscan
# issue #144): its receive thread sleeps in libpcap until a packet arrives,
# and after the last reply none does. SIGINT does not wake it either, and the
# SIGKILL that follows loses the -oL lines still in its stdio buffer (a
# truncated file, hundreds of hosts short). So the router sends a UDP
# datagram to the client every 0.2 s while masscan runs: the thread wakes,
# sees its wait is over, and masscan exits by itself with its output whole.
# SIGKILL only if it still runs 20 s after sending and waiting must be over.
run_masscan() {
	local out=$1 i
	ip netns exec "$C" masscan --rate "$MASSCAN_RATE" -p80 --wait "$MASSCAN_WAIT" --show closed \
		--interface c0 --router-mac 02:00:00:00:01:01 --source-ip 198.18.1.2 --source-port 61000 \
		-oL "$out" $FLEET >/dev/null 2>"$out.err" &
	MASSCAN=$!
	for i in $(seq $(((HOSTS / MASSCAN_RATE + MASSCAN_WAIT + 20) * 5))); do
		kill -0 "$MASSCAN" 2>/dev/null || break
		ip netns exec "$R" bash -c 'echo nudge >/dev/udp/198.18.1.2/9' 2>/dev/null || true
		sleep 0.2
	done
	kill -KILL "$MASSCAN" 2>/dev/null && echo "masscan did not exit after $i nudges: killed (output may be short)" >>"$out.err"
	wait "$MASSCAN" 2>/dev/null || true
	MASSCAN=
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

# summary NAME: "median_ns syns worst_right fewest_answers" from $WORK/res.NAME.
summary() {
	local f="$WORK/res.$1" med syn worst ans
	med=$(awk '{print $1}' "$f" | median)
	syn=$(awk '{print $2}' "$f" | median)
	worst=$(awk 'NR==1 || $5<m {m=$5} END {print m}' "$f")
	ans=$(awk 'NR==1 || $3+$4<m {m=$3+$4} END {print m}' "$f")
	echo "$med $syn $worst $ans"
}

TOOLS="tcpprobe zmap masscan nmap"
if [ -n "${TCPPROBE_BASE_BIN:-}" ]; then
	cp "$TCPPROBE_BASE_BIN" "$WORK/tcpprobe-base"
	TOOLS="tcpprobe tcpprobe-base zmap masscan nmap"
fi
echo "== sweeping port 80 of $FLEET, $ROUNDS rounds per tool (open: $OPEN, RST: $SHUT)"
echo "   zmap: -r $ZMAP_RATE -c $ZMAP_COOLDOWN -b /dev/null --output-filter 'success = 1 || success = 0'; masscan: --rate $MASSCAN_RATE --wait $MASSCAN_WAIT; nmap: -T5 --min-rate $NMAP_MIN_RATE"
for r in $(seq "$ROUNDS"); do
	for tool in $TOOLS; do run_tool $tool "$r"; done
done

echo "== 1 % random loss on the router"
ip netns exec "$R" nft add rule inet tpf sweep numgen random mod 100 '<' 1 drop
for r in $(seq "$ROUNDS"); do run_tool tcpprobe-loss "$r"; done

printf '\n%-16s %12s %12s %22s %16s %s\n' tool "median wall" "SYNs/s" "right (worst round)" "server answers" "tcpprobe ratio"
read -r tp_med _ _ _ < <(summary tcpprobe)
for tool in $TOOLS tcpprobe-loss; do
	read -r med syn worst ans < <(summary $tool)
	ratio=$(awk -v a="$tp_med" -v b="$med" 'BEGIN {printf "%.2f", a/b}')
	printf '%-16s %10.3f s %12.0f %16s/%d %16s %s\n' "$tool" "$(awk -v m="$med" 'BEGIN {print m/1e9}')" \
		"$(awk -v s="$syn" -v m="$med" 'BEGIN {print s/(m/1e9)}')" "$worst" $HOSTS "$ans" "$ratio"
done
echo "(server answers: the fewest SYN-ACKs + RSTs the router forwarded in a round; ≥ $HOSTS means every host answered)"
# The server's own word that it kept up, over all rounds: each should be 0.
echo "server, all rounds: $(ip netns exec "$S" nstat -az TcpExtListenOverflows TcpExtListenDrops TcpExtTCPReqQFullDrop \
	TcpExtSyncookiesSent TcpExtTCPACKSkippedSynRecv | awk '!/^#/ {printf "%s %s  ", $1, $2}')"
echo
echo "per round (wall ns, SYNs, SYN-ACKs, RSTs, right, wrong by kind with examples):"
for tool in $TOOLS tcpprobe-loss; do sed "s/^/  $tool: /" "$WORK/res.$tool"; done
if [ -s "$WORK/wrong" ]; then
	echo
	echo "tcpprobe's results for the hosts it got wrong (up to five of each kind per round):"
	cat "$WORK/wrong"
fi
bad=$(cat "$WORK"/res.tcpprobe "$WORK"/res.tcpprobe-loss | awk -v n=$HOSTS '$5 != n' | wc -l)
if [ "$bad" != 0 ]; then
	echo "bench-fleet: tcpprobe misclassified hosts in $bad round(s)" >&2
	exit 1
fi
