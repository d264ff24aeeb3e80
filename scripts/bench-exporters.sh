#!/usr/bin/env bash
# scripts/bench-exporters.sh: Debian's prometheus-blackbox-exporter
# (tcp_connect module) and `tcpprobe serve` probe the same lab targets, one
# of every outcome class; the script prints what each exporter tells
# Prometheus about each target, side by side.
#
#   sudo scripts/bench-exporters.sh
#   sudo TIMEOUT=3s MODULE=classic scripts/bench-exporters.sh
#
# It builds a client — router — server lab of network namespaces
# (internal/lab, tps-*; removed on exit), starts both exporters in the
# client namespace on 127.0.0.1 (blackbox :9115, tcpprobe :9117), and
# scrapes each target from each exporter in turn with the same timeout
# (the module timeout and X-Prometheus-Scrape-Timeout-Seconds). tcpprobe's
# MODULE is linux by default: the kernel's own connect(2), as tcp_connect
# uses it, so the two should agree on probe_success; tcpprobe adds why.
#
# Environment: TIMEOUT (5s), MODULE (linux or classic), TCPPROBE_BIN (a
# prebuilt binary instead of building ./cmd/tcpprobe).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "bench-exporters: run as root (sudo scripts/bench-exporters.sh): it creates network namespaces" >&2
	exit 2
fi
for tool in ip nft; do
	command -v "$tool" >/dev/null || { echo "bench-exporters: $tool is missing (apt-get install -y iproute2 nftables)" >&2; exit 2; }
done
if ! command -v prometheus-blackbox-exporter >/dev/null; then
	echo "== installing prometheus-blackbox-exporter"
	apt-get install -y prometheus-blackbox-exporter >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y prometheus-blackbox-exporter >/dev/null; }
fi

WORK=$(mktemp -d /tmp/tpx-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "== building tcpprobe and benchexporters"
if [ -n "${TCPPROBE_BIN:-}" ]; then cp "$TCPPROBE_BIN" "$WORK/tcpprobe"; else CGO_ENABLED=0 go build -o "$WORK/tcpprobe" ./cmd/tcpprobe; fi
go build -o "$WORK/benchexporters" ./tools/benchexporters
chmod 755 "$WORK" "$WORK/tcpprobe"
"$WORK/benchexporters" -tcpprobe "$WORK/tcpprobe" -blackbox "$(command -v prometheus-blackbox-exporter)" \
	-timeout "${TIMEOUT:-5s}" -module "${MODULE:-linux}"
