// Package lab builds the client — router — server network-namespace lab that every
// end-to-end test of tcpprobe shares, with every scenario of the address plan in place
// at once, so one lab serves a whole test binary.
//
// The plan (shared with the rawsock and e2e tests; the exported constants and variables
// of this package spell it out):
//
//	namespaces  <prefix>-c (client), <prefix>-r (router), <prefix>-s (server),
//	            prefix "tpl-<pid>-<random>" so a later run can remove a killed run's lab
//	links       client c0 <-> router r0, router r1 <-> server s0 (veth, fixed MACs)
//
//	            IPv4                 IPv6
//	client c0   198.18.1.2/24        fd00:1::2/64
//	router r0   198.18.1.1/24        fd00:1::1/64
//	router r1   198.18.2.1/24        fd00:2::1/64
//	server s0   198.18.2.2/24        fd00:2::2/64
//
// The client routes 198.18.2.0/24 and 198.18.10-13.0/24 (fd00:2::/64, fd00:10-13::/64)
// via the router and holds local unreachable/prohibit/blackhole routes for
// 198.18.20-22.0/24 (fd00:20-22::/64) and nothing for .23. The router holds
// unreachable/prohibit/blackhole routes for 198.18.10-12.0/24 (fd00:10-12::/64) and
// nothing for .13. No namespace has a default route.
//
// Targets on the server (198.18.2.2 / fd00:2::2): port 80 open, 81 closed (RST), 82-86
// rejected in the router's FORWARD chain (port unreachable, TCP reset, admin prohibited,
// host/address unreachable, net unreachable/no route), 87 dropped, 88 and 89 drop the
// first one or two SYNs of each 4-tuple and then open, 90 open behind a path that holds
// every client-to-server packet for [DelayPath] (a TUN delayer in the router, written in
// Go, since this kernel has no netem). 198.18.2.99 / fd00:2::99 is on-link at the router
// and 198.18.1.99 / fd00:1::99 on-link at the client; nobody answers for them.
//
// ICMP errors the router sends towards the client also pass through the TUN delayer and
// are held for [DelayICMP]. Without that latency the whole SYN → router → ICMP chain runs
// inside the client's connect() while it holds the socket lock, the kernel only records
// a soft error and connect() fails one retransmission (≈1 s) late (lab-notes,
// "Zero-latency artifact"); with it, the kernel's own connect() is a faithful oracle.
//
// The lab needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the ip, nft and tcpdump tools.
package lab
