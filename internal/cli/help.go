package cli

import "strings"

// longHelp is the root command's Long text; the man page's DESCRIPTION
// (without the exit status, which has its own section there).
var longHelp = helpIntro + "\n\n" + helpTargets + "\n\n" + helpOutcomes + "\n\n" + helpOutput + "\n\n" + helpPrivilege + "\n\n" + helpExit

const helpIntro = `tcpprobe sends its own TCP SYN to each target and reads what comes back, to
report what connect(2) would have said (open, ECONNREFUSED, EHOSTUNREACH,
ENETUNREACH, ETIMEDOUT, ...), which packet decided it and who sent it.

Profiles choose which connect(2) to reproduce:
  classic  (default) the BSD schedule: SYNs at 0, 6 and 30 s, give up at 75 s;
           an ICMP unreachable from a router is a soft error, remembered and
           reported at the deadline; port/protocol unreachable end at once
  linux    this host's kernel exactly: its SYN schedule from tcp_syn_retries
           and tcp_syn_linear_timeouts, every ICMP error ends the probe at once
  bsd      4.4BSD exactly: every ICMP error soft, BSD's errno table`

const helpTargets = `Targets, on the command line or in a target file (-f FILE, -f - for
standard input):
  HOST:PORT, [IPv6]:PORT      an address or a name (A/AAAA: the first address,
                              IPv4 first; every one with --all-addresses)
  HOST with -p PORTS          PORTS: 22,80,8000-8010 or names: ssh,https
  198.18.2.0/24:80            every address of a prefix, network and broadcast
  [fd00:2::/120]:80           included (fd00:2::/120 with -p also works)
  198.18.2.1-20:80            IPv4 ranges: the last octet, octet ranges
  198.18.2-3.1-5, 198.18.2.*  (nmap style), or 198.18.2.1-198.18.3.5
  host:https                  port names from /etc/services (or a built-in
                              table of common ones)
  [fe80::1%eth0]:80           a link-local address, sent through eth0
A target file has one target per line, HOST:PORT or HOST PORTS, optionally
followed by expect=OUTCOME; '#' starts a comment. --exclude LIST and
--exclude-file FILE leave addresses, prefixes, ranges, names or HOST:PORT
out. Targets are expanded as they are probed, never all at once; a run of
more than --max-probes probes (default 1048576, targets x -c) is refused.
Every target as written is probed and reported: a destination named twice
is probed twice, once under each name, and a line for a name says the
address it was probed at: mixed:80 (198.18.32.2). Two different expect=
for one destination are a usage error.`

const helpOutcomes = `Outcomes (one per probe, the JSON "outcome"):
  open         SYN-ACK with ACK = ISS+1 (torn down at once with our RST)
  refused      ECONNREFUSED: RST+ACK with ACK = ISS+1, or ICMP port unreachable
  unreachable  EHOSTUNREACH, ENETUNREACH, EACCES, ...: a validated ICMP error
  timeout      ETIMEDOUT: silence until the give-up time
  local-error  nothing could leave: no route, an unreachable, prohibit or
               blackhole route, or the next hop never answered ARP/ND
  interrupted  the run was stopped (SIGINT/SIGTERM) before the probe ended`

const helpOutput = `Output: one line per probe (-v adds the packet timeline); --json prints one
document, --ndjson one JSON object per probe as it finishes (schema
tcpprobe/v1, docs/schema/result-v1.json); --junit FILE writes JUnit XML with
one test case per probe; -q prints nothing. -c N repeats every probe N times,
--interval apart, and ends with a summary per target and address: probes
sent, answered (SYN-ACK, RST or ICMP error), loss (sent but unanswered),
outcomes, RTT min/avg/max/stddev; --ndjson prints them as objects with
"type": "summary" after the results.`

const helpPrivilege = `Raw sockets need CAP_NET_RAW: run as root or grant it once with
  sudo setcap cap_net_raw+ep "$(command -v tcpprobe)"

Without it tcpprobe uses the kernel's own connect(2) (--mode connect) and
says so on standard error: the same outcomes, without the packet timeline.`

const helpExit = `Exit status:
  0    every probe met its expectation (without --expect: every target open)
  1    at least one probe did not
  2    bad usage or input; nothing was sent
  3    the environment stopped the tool: no CAP_NET_RAW with --mode raw,
       an unusable interface
  130  interrupted (SIGINT/SIGTERM)`

// examples is the root command's Example text; the man page's EXAMPLES.
const examples = `  tcpprobe 198.18.2.2:80
  tcpprobe -v --profile linux [fd00:2::2]:443
  tcpprobe -p ssh,https,8000-8010 198.18.2.2 --json
  tcpprobe --timeout 2s -p 80,443 198.18.2.0/24 --exclude 198.18.2.1
  tcpprobe --all-addresses db.example:5432
  tcpprobe --expect closed --timeout 5s 198.18.2.2:5432
  tcpprobe -f targets.txt --junit report.xml
  tcpprobe -q -f targets.txt && echo "every target as expected"
  tcpprobe -c 10 --interval 500ms --ndjson 198.18.2.2:80
  sudo tcpprobe selftest`

// exitStatusRoff is the man page's EXIT STATUS section.
func exitStatusRoff() string {
	var b strings.Builder
	b.WriteString(".SH EXIT STATUS\n")
	for _, l := range strings.Split(helpExit, "\n")[1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if code := f[0]; code[0] >= '0' && code[0] <= '9' {
			b.WriteString(".TP\n\\fB" + code + "\\fP\n" + strings.Join(f[1:], " ") + "\n")
			continue
		}
		b.WriteString(strings.Join(f, " ") + "\n")
	}
	return b.String()
}
