#!/usr/bin/env bash
# scripts/targets-million.sh: probe a target file of 1,000,000 lines and
# measure tcpprobe's peak memory, to show that targets are streamed (the
# file is read twice, never held) and probed in bounded chunks.
#
#   sudo scripts/targets-million.sh
#
# It builds two network namespaces (tpm-<pid>-c and -s, removed on exit,
# even on failure) joined by a veth pair; the sink namespace owns every
# address of 198.18.0.0/16 through an AnyIP local route, so each SYN is
# answered by its kernel's RST. The file holds 198.18.0.0/16 x ports 1-16
# as HOST PORT lines, cut at 1,000,000. tcpprobe runs under /usr/bin/time -v
# (Debian package `time`) with --ndjson into a line counter, three times:
# 1,024 targets, 65,536 targets (one engine run) and the million (a
# stream), and the script prints each run's wall time, maximum RSS and
# result count. Then it measures what a probe in flight costs: 70,000
# silent targets at several --concurrency values, and the RSS slope.
#
# Environment: TCPPROBE_BIN (a prebuilt binary instead of building
# ./cmd/tcpprobe), LINES (1000000), SIZES (the target counts of the first
# table), INFLIGHT (the --concurrency values of the second).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "targets-million: run as root (sudo scripts/targets-million.sh): it creates network namespaces" >&2
	exit 2
fi
command -v ip >/dev/null || { echo "targets-million: ip is missing (apt-get install -y iproute2)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "targets-million: /usr/bin/time is missing (apt-get install -y time)" >&2; exit 2; }

LINES=${LINES:-1000000}
P=tpm-$$
C=$P-c S=$P-s
WORK=$(mktemp -d /tmp/tpm-XXXXXX)

cleanup() {
	set +e
	for ns in "$C" "$S"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BIN=${TCPPROBE_BIN:-}
if [ -z "$BIN" ]; then
	BIN=$WORK/tcpprobe
	CGO_ENABLED=0 go build -o "$BIN" ./cmd/tcpprobe
fi

ip netns add "$C"
ip netns add "$S"
ip -n "$C" link add c0 type veth peer name s0 netns "$S"
ip -n "$C" link set lo up
ip -n "$S" link set lo up
ip -n "$C" link set c0 up
ip -n "$S" link set s0 up
ip -n "$C" addr add 198.19.0.2/24 dev c0
ip -n "$S" addr add 198.19.0.1/24 dev s0
ip -n "$S" route add local 198.18.0.0/16 dev lo
ip -n "$C" route add 198.18.0.0/16 via 198.19.0.1 dev c0
ip netns exec "$S" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.s0.rp_filter=0

awk -v n="$LINES" 'BEGIN {
	for (a = 0; a < 256; a++) for (b = 0; b < 256; b++) for (p = 1; p <= 16; p++) {
		if (i++ == n) exit
		printf "198.18.%d.%d %d\n", a, b, p
	}
}' >"$WORK/targets.txt"

printf '%-10s %10s %10s %12s %10s\n' targets results wall max-rss-KiB exit
for n in ${SIZES:-1024 65536 $LINES}; do
	head -n "$n" "$WORK/targets.txt" >"$WORK/t.txt"
	set +e
	/usr/bin/time -v -o "$WORK/time.txt" ip netns exec "$C" "$BIN" --ndjson --timeout 1s -f "$WORK/t.txt" 2>"$WORK/stderr.txt" |
		wc -l >"$WORK/count.txt"
	code=${PIPESTATUS[0]}
	set -e
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")
	printf '%-10s %10s %10s %12s %10s\n' "$n" "$(cat "$WORK/count.txt")" "$wall" "$rss" "$code"
	if [ "$(cat "$WORK/count.txt")" != "$n" ]; then
		echo "targets-million: $n targets gave $(cat "$WORK/count.txt") results; stderr:" >&2
		tail -n 5 "$WORK/stderr.txt" >&2
		exit 1
	fi
done

# Memory per probe in flight: the sink drops port 9 of every address, so
# each of 70,000 targets (a streamed run) waits out --timeout 500ms and
# --concurrency N probes are in flight all along. The slope of peak RSS
# against N is what each probe in flight costs; the intercept is the
# constant.
ip netns exec "$S" nft -f - <<NFT
table inet tpm {
	chain in { type filter hook input priority 0; policy accept; tcp dport 9 drop; }
}
NFT
awk 'NR <= 70000 {print $1, 9}' "$WORK/targets.txt" >"$WORK/silent.txt"
printf '\n%-12s %10s %10s %12s\n' in-flight results wall max-rss-KiB
prev_n= prev_rss=
for n in ${INFLIGHT:-2000 8000 32000}; do
	set +e
	/usr/bin/time -v -o "$WORK/time.txt" ip netns exec "$C" "$BIN" --ndjson --timeout 500ms --concurrency "$n" -f "$WORK/silent.txt" 2>"$WORK/stderr.txt" |
		wc -l >"$WORK/count.txt"
	set -e
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")
	printf '%-12s %10s %10s %12s' "$n" "$(cat "$WORK/count.txt")" "$wall" "$rss"
	if [ -n "$prev_n" ]; then
		awk -v a="$prev_rss" -v b="$rss" -v m="$prev_n" -v k="$n" 'BEGIN {printf "   %.0f bytes per probe in flight since the line above", (b-a)*1024/(k-m)}'
	fi
	echo
	prev_n=$n prev_rss=$rss
done
