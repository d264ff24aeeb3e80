// Package trace finds the hop where a TCP SYN ends: a Paris-style
// traceroute that sends SYNs with TTL / hop limit 1, 2, … from one constant
// flow (same addresses, same ports, so every ECMP router hashes every query
// onto the same path), reads who answers (ICMP time exceeded or unreachable
// from a router, SYN-ACK or RST from the destination), validates every
// answer like the probe engine does, and names the hop where the SYN ends
// and why (Result.Verdict). Diagnose turns a probe's result and its trace
// into a probe.Diagnosis.
package trace
