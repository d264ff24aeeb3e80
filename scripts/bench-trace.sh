#!/usr/bin/env bash
# scripts/bench-trace.sh: trace the scenarios of the chain lab with
# `traceroute -T` (Debian traceroute), `tcptraceroute`, `nmap --traceroute`
# and `tcpprobe trace` side by side, and print what each tool concluded.
#
#   sudo scripts/bench-trace.sh
#
# It builds the chain lab of internal/lab (client — R1 — R2 =ECMP=> R3a|R3b
# — R4 — server, namespaces tpt-*, removed on exit, even on failure) with
# tools/bench/tpchain, and runs every tool in the client namespace
# against each scenario (IPv4): an open port, a closed port, a port the
# server drops, a full accept queue, a drop at R2, a REJECT
# (admin-prohibited) at R3, an `unreachable` route at R2, and the ECMP split
# at R2 (which hop-3 routers the queries of one run met). A column says
# what the tool's output lets a reader conclude (tcpprobe twice: the trace
# alone, and a probe with --diagnose): where the SYN ends and
# why, as far as the tool says.
#
# Environment: TCPPROBE_BIN (a prebuilt binary instead of building
# ./cmd/tcpprobe), WAIT (seconds each tool waits per probe, 1).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "bench-trace: run as root (sudo scripts/bench-trace.sh): it creates network namespaces" >&2
	exit 2
fi
for tool in ip nft; do
	command -v "$tool" >/dev/null || { echo "bench-trace: $tool is missing (apt-get install -y iproute2 nftables)" >&2; exit 2; }
done
if ! command -v traceroute >/dev/null || ! command -v tcptraceroute >/dev/null || ! command -v nmap >/dev/null; then
	echo "== installing traceroute, tcptraceroute and nmap"
	apt-get install -y traceroute tcptraceroute nmap >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y traceroute tcptraceroute nmap >/dev/null; }
fi

WAIT=${WAIT:-1}
WORK=$(mktemp -d /tmp/tpt-bench-XXXXXX)
HOLDER=

cleanup() {
	set +e
	if [ -n "$HOLDER" ]; then
		kill "$HOLDER" 2>/dev/null
		wait "$HOLDER" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building tcpprobe and tpchain"
if [ -n "${TCPPROBE_BIN:-}" ]; then cp "$TCPPROBE_BIN" "$WORK/tcpprobe"; else CGO_ENABLED=0 go build -o "$WORK/tcpprobe" ./cmd/tcpprobe; fi
go build -o "$WORK/tpchain" ./tools/bench/tpchain

echo "== building the chain lab"
"$WORK/tpchain" >"$WORK/prefix" 2>"$WORK/tpchain.err" &
HOLDER=$!
for _ in $(seq 100); do
	[ -s "$WORK/prefix" ] && break
	kill -0 "$HOLDER" 2>/dev/null || { cat "$WORK/tpchain.err" >&2; exit 1; }
	sleep 0.1
done
P=$(head -1 "$WORK/prefix")
[ -n "$P" ] || { echo "bench-trace: the lab did not come up" >&2; cat "$WORK/tpchain.err" >&2; exit 1; }
C=$P-c
echo "   $P-{c,r1,r2,r3a,r3b,r4,s,k}"

in_client() { timeout 60 ip netns exec "$C" "$@" 2>&1 || true; }

# Conclusions from each tool's output (stdin); $1 is the destination.
# traceroute and tcptraceroute print one line per hop: "N  ADDR  RTT [!X]"
# or "N  *"; tcptraceroute marks the destination [open] or [closed].
conclude_hops() {
	awk -v dst="$1" '
	$1 ~ /^[0-9]+$/ {
		hop = $1; addr = ""
		if ($2 != "*") { addr = $2; last = hop; lastaddr = addr }
		if ($0 ~ /!/) { match($0, /![A-Za-z0-9]*/); note = substr($0, RSTART, RLENGTH); rej = "rejected by " addr " at hop " hop " (" note ")" }
		if ($0 ~ /\[open\]/) state = "open at hop " hop
		if ($0 ~ /\[closed\]/) state = "closed at hop " hop
		if (addr == dst && reached == "") reached = hop
		final = hop
	}
	END {
		if (rej != "") print rej
		else if (state != "") print state
		else if (reached != "") print "reached " dst " at hop " reached " (open or closed: not said)"
		else if (last == "") print "no hop answered"
		else print "silent after " lastaddr " (hop " last "), hops " last + 1 "-" final " silent"
	}'
}

# nmap: the port's state, and where its traceroute (which may not use TCP)
# ends.
conclude_nmap() {
	awk '
	/^[0-9]+\/tcp/ { state = $2 }
	/^TRACEROUTE/ { proto = $0; sub(/.*using /, "", proto); sub(/\).*/, "", proto) }
	/^[0-9]+ +[0-9.]+ ms/ { hop = $1; addr = $NF }
	/^[0-9]+ +\.\.\./ { }
	END {
		s = "port " state
		if (hop != "") s = s "; traceroute (" proto ") ends at " addr " (hop " hop ")"
		else s = s "; no traceroute"
		print s
	}'
}

conclude_tcpprobe() { sed -n 's/^verdict: //p'; }

# tcpprobe --diagnose: the result's outcome, then its diagnosis line.
conclude_diagnose() {
	awk 'NR == 1 { out = $2 " " $3 } /^    diagnosis: / { sub(/^    diagnosis: /, ""); out = out "; " $0 } END { print out }'
}

SERVER=198.18.44.2
# name|target address|port|the truth
SCENARIOS=(
	"open port|$SERVER|80|open at hop 5"
	"closed port|$SERVER|2002|RST from the server at hop 5"
	"server drops (INPUT)|$SERVER|2001|server (hop 5) silent, routers answer"
	"full accept queue|$SERVER|2003|server (hop 5) drops SYNs (ListenOverflows)"
	"drop at R2|$SERVER|3021|dies after R2 198.18.41.2 (hop 2)"
	"REJECT at R3|$SERVER|3032|admin-prohibited from R3 (hop 3)"
	"unreachable route at R2|198.18.45.2|80|host unreachable from R2 (hop 2)"
)

row() { printf '%-2s%-20s %s\n' "$1" "$2" "$3"; }

for s in "${SCENARIOS[@]}"; do
	IFS='|' read -r name dst port truth <<<"$s"
	echo
	echo "== $name ($dst:$port) — truth: $truth"
	row "" "traceroute -T" "$(in_client traceroute -T -n -q 1 -w "$WAIT" -m 8 -p "$port" "$dst" | conclude_hops "$dst")"
	row "" "tcptraceroute" "$(in_client tcptraceroute -n -q 1 -w "$WAIT" -m 8 "$dst" "$port" | conclude_hops "$dst")"
	row "" "nmap" "$(in_client nmap -sS -Pn -n -p "$port" --traceroute --max-retries 1 "$dst" | conclude_nmap)"
	row "" "tcpprobe trace" "$(in_client "$WORK/tcpprobe" trace -q 1 --wait "${WAIT}s" --gap 3 --max-hops 8 "$dst:$port" | conclude_tcpprobe)"
	row "" "tcpprobe --diagnose" "$(in_client "$WORK/tcpprobe" --diagnose --timeout 2s --trace-wait "${WAIT}s" "$dst:$port" | conclude_diagnose)"
done

# ECMP at R2: which routers answered at hop 3 in each of four runs of
# three queries (nmap: one query per run). A flow that changes per probe
# meets R3a (198.18.42.2) and R3b (198.18.52.2) within one run; a Paris
# trace meets one of them per run (a run's flow is fixed; the next run
# picks another source port, so maybe the other path).
hop3() { awk '$1 == "3" { for (i = 2; i <= NF; i++) if ($i ~ /^198\./) print $i }' | sort -u | paste -sd+; }
echo
echo "== ECMP at R2 ($SERVER:2010) — truth: R3a and R3b are both at hop 3; one flow stays on one of them"
for tool in traceroute tcptraceroute nmap tcpprobe; do
	runs=$(for _ in 1 2 3 4; do
		case $tool in
		traceroute) in_client traceroute -T -n -q 3 -w "$WAIT" -m 4 -p 2010 "$SERVER" | hop3 ;;
		tcptraceroute) in_client tcptraceroute -n -q 3 -w "$WAIT" -m 4 "$SERVER" 2010 | hop3 ;;
		nmap) in_client nmap -sS -Pn -n -p 2010 --traceroute "$SERVER" | awk '$1 == "3" { print $NF }' ;;
		tcpprobe) in_client "$WORK/tcpprobe" trace -q 3 --wait "${WAIT}s" --max-hops 4 "$SERVER:2010" | hop3 ;;
		esac
	done | paste -sd' ')
	row "" "$tool" "hop 3 per run: ${runs:-nobody}"
done
