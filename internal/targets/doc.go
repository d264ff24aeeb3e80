// Package targets reads what tcpprobe is asked to probe, in every syntax a
// user coming from nmap, masscan or tcping would write: HOST:PORT,
// [IPv6]:PORT, IPv4 and IPv6 prefixes (198.18.2.0/24:80), IPv4 ranges
// (198.18.2.1-20, octet ranges 198.18.2-3.1-5, 198.18.2.1-198.18.3.5),
// names (A/AAAA), port names from the services database (-p ssh,https),
// IPv6 zones ([fe80::1%eth0]:80), target files with HOST:PORT or HOST PORT
// lines, and exclusions (--exclude, --exclude-file).
//
// A Plan reads every input once before anything is sent (syntax, names,
// the number of probes, conflicting expectations) and then expands it
// lazily: Plan.All yields one probe.Target at a time, streaming target
// files again from their start, so a /16 × 10 ports is never a slice of
// 655,360 targets.
package targets
