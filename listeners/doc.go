// Package listeners reports the health of a host's listening TCP sockets
// without sending a packet: every listener from netlink sock_diag (its
// address, the process holding it, its accept queue against its backlog,
// its half-open SYN_RECV connections and how many sources they come from)
// and the namespace's listen counters from /proc/net/netstat and
// /proc/net/snmp, as deltas since the previous sample. Assess turns two
// samples into flags: possible-syn-flood and accept-queue-full.
//
// Parsing and assessment are pure and portable; reading the kernel lives
// in the _linux.go files.
package listeners
